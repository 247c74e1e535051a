"""Type stubs for ferrokafka's native module (hand-written; checked by mypy.stubtest in the tests)."""

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from types import TracebackType
from typing import ClassVar, Final, Literal, Self, TypedDict, final

from typing_extensions import Buffer

__version__: Final[str]
librdkafka_version: Final[str]

OFFSET_BEGINNING: Final[int]
OFFSET_END: Final[int]
OFFSET_STORED: Final[int]
OFFSET_INVALID: Final[int]

_ConfigValue = str | int | float | bool
_Bytesish = Buffer | str
_HeaderPairs = Iterable[tuple[str | bytes, _Bytesish | None]] | Mapping[str | bytes, _Bytesish | None]

class Error(Exception):
    """Base class of every exception defined by ferrokafka."""

class KafkaError(Error):
    """An error reported by librdkafka or the broker."""

    code: int
    name: str
    retriable: bool
    fatal: bool
    txn_requires_abort: bool
    def __init__(
        self,
        message: str = "",
        code: int | None = None,
        *,
        name: str | None = None,
        retriable: bool = False,
        fatal: bool = False,
        txn_requires_abort: bool = False,
    ) -> None: ...
    # librdkafka's error codes as constants (generated from rd_kafka_get_err_descs; the local
    # ones, such as _MSG_TIMED_OUT, start with an underscore and exist at runtime too).
    UNKNOWN: ClassVar[int]
    NO_ERROR: ClassVar[int]
    OFFSET_OUT_OF_RANGE: ClassVar[int]
    INVALID_MSG: ClassVar[int]
    UNKNOWN_TOPIC_OR_PART: ClassVar[int]
    INVALID_MSG_SIZE: ClassVar[int]
    LEADER_NOT_AVAILABLE: ClassVar[int]
    NOT_LEADER_FOR_PARTITION: ClassVar[int]
    REQUEST_TIMED_OUT: ClassVar[int]
    BROKER_NOT_AVAILABLE: ClassVar[int]
    REPLICA_NOT_AVAILABLE: ClassVar[int]
    MSG_SIZE_TOO_LARGE: ClassVar[int]
    STALE_CTRL_EPOCH: ClassVar[int]
    OFFSET_METADATA_TOO_LARGE: ClassVar[int]
    NETWORK_EXCEPTION: ClassVar[int]
    COORDINATOR_LOAD_IN_PROGRESS: ClassVar[int]
    COORDINATOR_NOT_AVAILABLE: ClassVar[int]
    NOT_COORDINATOR: ClassVar[int]
    TOPIC_EXCEPTION: ClassVar[int]
    RECORD_LIST_TOO_LARGE: ClassVar[int]
    NOT_ENOUGH_REPLICAS: ClassVar[int]
    NOT_ENOUGH_REPLICAS_AFTER_APPEND: ClassVar[int]
    INVALID_REQUIRED_ACKS: ClassVar[int]
    ILLEGAL_GENERATION: ClassVar[int]
    INCONSISTENT_GROUP_PROTOCOL: ClassVar[int]
    INVALID_GROUP_ID: ClassVar[int]
    UNKNOWN_MEMBER_ID: ClassVar[int]
    INVALID_SESSION_TIMEOUT: ClassVar[int]
    REBALANCE_IN_PROGRESS: ClassVar[int]
    INVALID_COMMIT_OFFSET_SIZE: ClassVar[int]
    TOPIC_AUTHORIZATION_FAILED: ClassVar[int]
    GROUP_AUTHORIZATION_FAILED: ClassVar[int]
    CLUSTER_AUTHORIZATION_FAILED: ClassVar[int]
    INVALID_TIMESTAMP: ClassVar[int]
    UNSUPPORTED_SASL_MECHANISM: ClassVar[int]
    ILLEGAL_SASL_STATE: ClassVar[int]
    UNSUPPORTED_VERSION: ClassVar[int]
    TOPIC_ALREADY_EXISTS: ClassVar[int]
    INVALID_PARTITIONS: ClassVar[int]
    INVALID_REPLICATION_FACTOR: ClassVar[int]
    INVALID_REPLICA_ASSIGNMENT: ClassVar[int]
    INVALID_CONFIG: ClassVar[int]
    NOT_CONTROLLER: ClassVar[int]
    INVALID_REQUEST: ClassVar[int]
    UNSUPPORTED_FOR_MESSAGE_FORMAT: ClassVar[int]
    POLICY_VIOLATION: ClassVar[int]
    OUT_OF_ORDER_SEQUENCE_NUMBER: ClassVar[int]
    DUPLICATE_SEQUENCE_NUMBER: ClassVar[int]
    INVALID_PRODUCER_EPOCH: ClassVar[int]
    INVALID_TXN_STATE: ClassVar[int]
    INVALID_PRODUCER_ID_MAPPING: ClassVar[int]
    INVALID_TRANSACTION_TIMEOUT: ClassVar[int]
    CONCURRENT_TRANSACTIONS: ClassVar[int]
    TRANSACTION_COORDINATOR_FENCED: ClassVar[int]
    TRANSACTIONAL_ID_AUTHORIZATION_FAILED: ClassVar[int]
    SECURITY_DISABLED: ClassVar[int]
    OPERATION_NOT_ATTEMPTED: ClassVar[int]
    KAFKA_STORAGE_ERROR: ClassVar[int]
    LOG_DIR_NOT_FOUND: ClassVar[int]
    SASL_AUTHENTICATION_FAILED: ClassVar[int]
    UNKNOWN_PRODUCER_ID: ClassVar[int]
    REASSIGNMENT_IN_PROGRESS: ClassVar[int]
    DELEGATION_TOKEN_AUTH_DISABLED: ClassVar[int]
    DELEGATION_TOKEN_NOT_FOUND: ClassVar[int]
    DELEGATION_TOKEN_OWNER_MISMATCH: ClassVar[int]
    DELEGATION_TOKEN_REQUEST_NOT_ALLOWED: ClassVar[int]
    DELEGATION_TOKEN_AUTHORIZATION_FAILED: ClassVar[int]
    DELEGATION_TOKEN_EXPIRED: ClassVar[int]
    INVALID_PRINCIPAL_TYPE: ClassVar[int]
    NON_EMPTY_GROUP: ClassVar[int]
    GROUP_ID_NOT_FOUND: ClassVar[int]
    FETCH_SESSION_ID_NOT_FOUND: ClassVar[int]
    INVALID_FETCH_SESSION_EPOCH: ClassVar[int]
    LISTENER_NOT_FOUND: ClassVar[int]
    TOPIC_DELETION_DISABLED: ClassVar[int]
    FENCED_LEADER_EPOCH: ClassVar[int]
    UNKNOWN_LEADER_EPOCH: ClassVar[int]
    UNSUPPORTED_COMPRESSION_TYPE: ClassVar[int]
    STALE_BROKER_EPOCH: ClassVar[int]
    OFFSET_NOT_AVAILABLE: ClassVar[int]
    MEMBER_ID_REQUIRED: ClassVar[int]
    PREFERRED_LEADER_NOT_AVAILABLE: ClassVar[int]
    GROUP_MAX_SIZE_REACHED: ClassVar[int]
    FENCED_INSTANCE_ID: ClassVar[int]
    ELIGIBLE_LEADERS_NOT_AVAILABLE: ClassVar[int]
    ELECTION_NOT_NEEDED: ClassVar[int]
    NO_REASSIGNMENT_IN_PROGRESS: ClassVar[int]
    GROUP_SUBSCRIBED_TO_TOPIC: ClassVar[int]
    INVALID_RECORD: ClassVar[int]
    UNSTABLE_OFFSET_COMMIT: ClassVar[int]
    THROTTLING_QUOTA_EXCEEDED: ClassVar[int]
    PRODUCER_FENCED: ClassVar[int]
    RESOURCE_NOT_FOUND: ClassVar[int]
    DUPLICATE_RESOURCE: ClassVar[int]
    UNACCEPTABLE_CREDENTIAL: ClassVar[int]
    INCONSISTENT_VOTER_SET: ClassVar[int]
    INVALID_UPDATE_VERSION: ClassVar[int]
    FEATURE_UPDATE_FAILED: ClassVar[int]
    PRINCIPAL_DESERIALIZATION_FAILURE: ClassVar[int]
    UNKNOWN_TOPIC_ID: ClassVar[int]
    FENCED_MEMBER_EPOCH: ClassVar[int]
    UNRELEASED_INSTANCE_ID: ClassVar[int]
    UNSUPPORTED_ASSIGNOR: ClassVar[int]
    STALE_MEMBER_EPOCH: ClassVar[int]
    UNKNOWN_SUBSCRIPTION_ID: ClassVar[int]
    TELEMETRY_TOO_LARGE: ClassVar[int]
    REBOOTSTRAP_REQUIRED: ClassVar[int]

class ConfigError(Error):
    """An invalid or unknown configuration property or value; the message names the key."""

class MessageInvalidatedError(Error):
    """A BorrowedMessage was used after it was released, superseded or its consumer closed."""

    reason: Literal["released", "superseded", "consumer_closed"]
    def __init__(self, message: str = "", reason: str = "released") -> None: ...

class WrongThreadError(Error):
    """A BorrowedMessage was used from a thread other than the one that received it."""

@final
class TimestampType:
    """How a message's timestamp was set (librdkafka's rd_kafka_timestamp_type_t)."""

    NOT_AVAILABLE: ClassVar[TimestampType]
    CREATE_TIME: ClassVar[TimestampType]
    LOG_APPEND_TIME: ClassVar[TimestampType]
    def __int__(self) -> int: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __new__(cls, value: int) -> Self: ...
    def __reduce__(self) -> tuple[type[TimestampType], tuple[int]]: ...

@final
class TopicPartition:
    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    def __new__(cls, topic: str, partition: int = ..., offset: int = ...) -> Self: ...
    def __lt__(self, other: TopicPartition, /) -> bool: ...
    def __le__(self, other: TopicPartition, /) -> bool: ...
    def __gt__(self, other: TopicPartition, /) -> bool: ...
    def __ge__(self, other: TopicPartition, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __getnewargs__(self) -> tuple[str, int, int]: ...

@final
class BorrowedMessage:
    """A zero-copy message lent by a Consumer; see the README's lifetime rules."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int | None: ...
    @property
    def timestamp_type(self) -> TimestampType: ...
    @property
    def key(self) -> memoryview | None: ...
    @property
    def payload(self) -> memoryview | None: ...
    @property
    def headers(self) -> list[tuple[str, bytes | None]]: ...
    @property
    def valid(self) -> bool: ...
    def release(self) -> None: ...
    def detach(self) -> OwnedMessage: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...

@final
class OwnedMessage:
    """A message that owns its data: immutable, thread-safe, picklable."""

    def __new__(
        cls,
        topic: str,
        partition: int = 0,
        offset: int = ...,
        payload: _Bytesish | None = None,
        key: _Bytesish | None = None,
        timestamp: int | None = None,
        timestamp_type: TimestampType | None = None,
        headers: _HeaderPairs | None = None,
    ) -> Self: ...
    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int | None: ...
    @property
    def timestamp_type(self) -> TimestampType: ...
    @property
    def key(self) -> memoryview | None: ...
    @property
    def payload(self) -> memoryview | None: ...
    @property
    def headers(self) -> list[tuple[str, bytes | None]]: ...
    @property
    def valid(self) -> bool: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __reduce__(self) -> tuple[type[OwnedMessage], tuple[object, ...]]: ...

class _PartitionMetadata(TypedDict):
    leader: int
    replicas: list[int]
    isrs: list[int]

class _ClusterMetadata(TypedDict):
    brokers: dict[int, str]
    topics: dict[str, dict[int, _PartitionMetadata]]

_RebalanceCallback = Callable[[Consumer, list[TopicPartition]], object]

@final
class ConsumerGroupMetadata:
    """A consumer group's identity, for Producer.send_offsets_to_transaction()."""

@final
class Consumer:
    """librdkafka's high-level consumer, lending out zero-copy BorrowedMessages."""

    def __new__(cls, config: Mapping[str, _ConfigValue]) -> Self: ...
    def subscribe(
        self,
        topics: str | Iterable[str],
        *,
        on_assign: _RebalanceCallback | None = None,
        on_revoke: _RebalanceCallback | None = None,
        on_lost: _RebalanceCallback | None = None,
    ) -> None: ...
    def unsubscribe(self) -> None: ...
    def assign(self, partitions: list[TopicPartition]) -> None: ...
    def incremental_assign(self, partitions: list[TopicPartition]) -> None: ...
    def incremental_unassign(self, partitions: list[TopicPartition]) -> None: ...
    def assignment(self) -> list[TopicPartition]: ...
    def store_offsets(
        self, message: BorrowedMessage | OwnedMessage | None = None, *, offsets: list[TopicPartition] | None = None
    ) -> None: ...
    def seek(self, partition: TopicPartition, timeout: float | None = None) -> None: ...
    def pause(self, partitions: list[TopicPartition]) -> None: ...
    def resume(self, partitions: list[TopicPartition]) -> None: ...
    def position(self, partitions: list[TopicPartition] | None = None) -> list[TopicPartition]: ...
    def committed(
        self, partitions: list[TopicPartition] | None = None, timeout: float | None = None
    ) -> list[TopicPartition]: ...
    def get_watermark_offsets(self, partition: TopicPartition, timeout: float | None = None) -> tuple[int, int]: ...
    def offsets_for_times(
        self, partitions: list[TopicPartition], timeout: float | None = None
    ) -> list[TopicPartition]: ...
    def list_topics(self, topic: str | None = None, timeout: float | None = None) -> _ClusterMetadata: ...
    def consumer_group_metadata(self) -> ConsumerGroupMetadata: ...
    def poll(self, timeout: float | None = None) -> BorrowedMessage | None: ...
    def consume(self, max_messages: int = 1000, timeout: float | None = None) -> list[BorrowedMessage]: ...
    def __iter__(self) -> Self: ...
    def __next__(self) -> BorrowedMessage: ...
    def commit(
        self,
        message: BorrowedMessage | OwnedMessage | None = None,
        *,
        offsets: list[TopicPartition] | None = None,
        asynchronous: bool = False,
    ) -> None: ...
    def close(self, timeout: float | None = None) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def live_message_count(self) -> int: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...

@final
class DeliveryReport:
    """Where a produced message landed: the result of its Future."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int | None: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class DeliveryState:
    """The native side of a produce() future (internal)."""

    @property
    def finished(self) -> bool: ...
    def watch(self, future: object) -> None: ...
    def outcome(self) -> tuple[DeliveryReport | None, KafkaError | None]: ...

@final
class Producer:
    """librdkafka's producer; produce() returns a Future per message."""

    def __new__(cls, config: Mapping[str, _ConfigValue]) -> Self: ...
    def produce(
        self,
        topic: str,
        value: _Bytesish | None = None,
        key: _Bytesish | None = None,
        *,
        partition: int | None = None,
        timestamp: int | None = None,
        headers: _HeaderPairs | None = None,
        on_delivery: Callable[[DeliveryReport | None, KafkaError | None], object] | None = None,
    ) -> Future[DeliveryReport]: ...
    def poll(self, timeout: float | None = 0.0) -> int: ...
    def flush(self, timeout: float | None = None) -> int: ...
    def close(self, timeout: float | None = None) -> None: ...
    def purge(self, in_queue: bool = True, in_flight: bool = True) -> None: ...
    def init_transactions(self, timeout: float = 30.0) -> None: ...
    def begin_transaction(self) -> None: ...
    def send_offsets_to_transaction(
        self, offsets: list[TopicPartition], group_metadata: ConsumerGroupMetadata, timeout: float = 30.0
    ) -> None: ...
    def commit_transaction(self, timeout: float = 60.0) -> None: ...
    def abort_transaction(self, timeout: float = 60.0) -> None: ...
    @property
    def closed(self) -> bool: ...
    def __len__(self) -> int: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...

@final
class MockCluster:
    """librdkafka's in-process mock Kafka cluster."""

    def __new__(cls, num_brokers: int = 1, *, group_rebalance_delay_ms: int = 0) -> Self: ...
    @property
    def num_brokers(self) -> int: ...
    @property
    def bootstrap_servers(self) -> str: ...
    def create_topic(self, name: str, partitions: int = 1, replication_factor: int = 1) -> None: ...
    def broker_down(self, broker_id: int) -> None: ...
    def broker_up(self, broker_id: int) -> None: ...
    def inject_request_errors(self, api_key: int, errors: list[int]) -> None: ...
    def clear_request_errors(self, api_key: int) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...

class _GroupMember(TypedDict):
    member_id: str
    client_id: str
    host: str
    group_instance_id: str | None

class _GroupDescription(TypedDict):
    state: str  # librdkafka's state name: "Stable", "Empty", "Dead" (no such group), ...
    type: str  # "Classic" or "Consumer" (KIP-848)
    protocol: str  # the partition assignor, "" without members
    members: list[_GroupMember]

@final
class NewTopic:
    """A topic to create with AdminClient.create_topics(); -1 means the broker's default."""

    def __new__(
        cls,
        name: str,
        num_partitions: int = 1,
        replication_factor: int = 1,
        config: Mapping[str, str] | None = None,
    ) -> Self: ...
    @property
    def name(self) -> str: ...
    @property
    def num_partitions(self) -> int: ...
    @property
    def replication_factor(self) -> int: ...
    @property
    def config(self) -> dict[str, str]: ...

@final
class AdminClient:
    """librdkafka's admin client: every method returns a Future resolving to plain values.

    A failed request makes its Future raise KafkaError (for calls on several items, the error of
    the first item that failed, naming it; the others may have succeeded). Wrong arguments raise
    ValueError/TypeError at once; calls after close() raise Error.
    """

    def __new__(cls, config: Mapping[str, _ConfigValue]) -> Self: ...
    def create_topics(
        self, topics: list[NewTopic], *, operation_timeout: float | None = None
    ) -> Future[None]: ...
    def delete_topics(self, names: list[str], *, operation_timeout: float | None = None) -> Future[None]: ...
    def create_partitions(
        self, topic: str, new_total_count: int, *, operation_timeout: float | None = None
    ) -> Future[None]: ...
    def describe_configs(self, resource_type: Literal["topic", "broker"], name: str) -> Future[dict[str, str]]:
        """Current values by name (entries without a value, such as sensitive ones, left out).
        A broker is named by its numeric id."""
    def alter_configs(
        self, resource_type: Literal["topic", "broker"], name: str, config: Mapping[str, str | None]
    ) -> Future[None]:
        """Incremental: entries not named keep their values; None reverts an entry to its default."""
    def list_groups(self) -> Future[list[str]]: ...
    def describe_groups(self, group_ids: list[str]) -> Future[dict[str, _GroupDescription]]: ...
    def delete_groups(self, group_ids: list[str]) -> Future[None]: ...
    def list_consumer_group_offsets(
        self, group_id: str, partitions: list[TopicPartition] | None = None
    ) -> Future[list[TopicPartition]]:
        """Committed offsets (OFFSET_INVALID where none), sorted; all committed partitions if None."""
    def alter_consumer_group_offsets(self, group_id: str, offsets: list[TopicPartition]) -> Future[None]: ...
    def list_offsets(
        self, partitions: list[TopicPartition], spec: Literal["earliest", "latest"] = "latest"
    ) -> Future[list[TopicPartition]]: ...
    def delete_records(self, offsets: list[TopicPartition]) -> Future[None]:
        """Deletes the records before each offset (OFFSET_END: all) in its partition."""
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...

def _live_native_messages() -> int: ...
