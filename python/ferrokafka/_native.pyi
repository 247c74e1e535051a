"""Type stubs for ferrokafka's native module (hand-written; checked by mypy.stubtest in the tests)."""

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from types import TracebackType
from typing import Any, ClassVar, Final, Literal, Protocol, Self, TypedDict, final, overload

from typing_extensions import Buffer, CapsuleType, disjoint_base

# Defined in Python (ferrokafka/_errors.py, the stub of itself); the native module registers them.
from ferrokafka._errors import ConfigError as ConfigError
from ferrokafka._errors import Error as Error
from ferrokafka._errors import KafkaError as KafkaError
from ferrokafka._errors import KafkaException as KafkaException
from ferrokafka._errors import MessageInvalidatedError as MessageInvalidatedError
from ferrokafka._errors import PartitionEOF as PartitionEOF
from ferrokafka._errors import QueueFullError as QueueFullError
from ferrokafka._errors import WrongThreadError as WrongThreadError

__version__: Final[str]
librdkafka_version: Final[str]

OFFSET_BEGINNING: Final[int]
OFFSET_END: Final[int]
OFFSET_STORED: Final[int]
OFFSET_INVALID: Final[int]

_ConfigValue = str | int | float | bool
_Bytesish = Buffer | str
_HeaderPairs = Iterable[tuple[str | bytes, _Bytesish | None]] | Mapping[str | bytes, _Bytesish | None]

class _ArrowStream(Protocol):
    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object: ...

class _ArrowArray(Protocol):
    def __arrow_c_array__(self, requested_schema: object | None = None) -> tuple[object, object]: ...

# One message of produce_batch(): a value, (key, value[, headers[, timestamp[, partition]]]), or a dict.
_BatchMessage = (
    _Bytesish
    | None
    | tuple[_Bytesish | None, _Bytesish | None]
    | tuple[_Bytesish | None, _Bytesish | None, _HeaderPairs | None]
    | tuple[_Bytesish | None, _Bytesish | None, _HeaderPairs | None, int | None]
    | tuple[_Bytesish | None, _Bytesish | None, _HeaderPairs | None, int | None, int | None]
    | Mapping[str, object]
)
_BatchMessages = Sequence[_BatchMessage] | _ArrowStream | _ArrowArray

@final
class TimestampType:
    """How a message's timestamp was set (librdkafka's rd_kafka_timestamp_type_t)."""

    NOT_AVAILABLE: ClassVar[TimestampType]
    CREATE_TIME: ClassVar[TimestampType]
    LOG_APPEND_TIME: ClassVar[TimestampType]
    def __int__(self) -> int:
        """int(self)"""
    def __eq__(self, other: object, /) -> bool:
        """Return self==value."""
    def __hash__(self) -> int:
        """Return hash(self)."""
    def __new__(cls, value: int) -> Self: ...
    def __reduce__(self) -> tuple[type[TimestampType], tuple[int]]: ...

@final
class TopicPartition:
    """A topic, a partition and an offset (negative offsets are the logical OFFSET_* constants), with
    what Kafka keeps beside a committed offset: its `metadata` string and the `leader_epoch` of the
    message it follows (KIP-320). `error` is the partition's own error in an answer that lists
    partitions (None when it has none).

    As confluent-kafka's: `partition` and `offset` may be set (e.g. in `on_assign`, before
    `assign(partitions)`); two TopicPartitions are equal, ordered and hashed by topic and partition
    only, whatever their offsets.
    """

    @property
    def topic(self) -> str: ...
    partition: int
    offset: int
    @property
    def metadata(self) -> str | None: ...
    @property
    def leader_epoch(self) -> int | None: ...
    @property
    def error(self) -> KafkaError | None:
        """The partition's error in the answer it came from (a `KafkaError`), or None."""
    def __new__(
        cls,
        topic: str,
        partition: int = ...,
        offset: int = ...,
        metadata: str | None = None,
        leader_epoch: int | None = None,
    ) -> Self: ...
    def __lt__(self, other: TopicPartition, /) -> bool:
        """Return self<value."""
    def __le__(self, other: TopicPartition, /) -> bool:
        """Return self<=value."""
    def __gt__(self, other: TopicPartition, /) -> bool:
        """Return self>value."""
    def __ge__(self, other: TopicPartition, /) -> bool:
        """Return self>=value."""
    def __hash__(self) -> int:
        """Return hash(self)."""
    def __reduce__(self) -> tuple[Any, tuple[str, int, int, str | None, int | None]]: ...
    @staticmethod
    def _with_c_string_metadata(
        topic: str, partition: int, offset: int, metadata: str, leader_epoch: int | None = None
    ) -> TopicPartition:
        """For the confluent-kafka drop-in: `metadata` committed as confluent-kafka commits it, a C
        string with its NUL (`'x'` goes as the two bytes `x\\0`, `''` as one), so that what either
        client committed reads back the same in both (each reads up to the first NUL).
        """

@final
class BorrowedMessage:
    """A zero-copy message lent by a Consumer; see the lifetime rules in Concepts (docs/concepts.md)."""

    def __buffer__(self, flags: int, /) -> memoryview:
        """The payload, read-only: `memoryview(msg)` (BufferError if the message has none)."""
    def __release_buffer__(self, buffer: memoryview, /) -> None: ...
    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int | None:
        """Milliseconds since the epoch, or None when the broker gave none."""
    @property
    def timestamp_type(self) -> TimestampType: ...
    @property
    def leader_epoch(self) -> int | None:
        """The partition leader's epoch when the message was fetched (KIP-320), or None if unknown."""
    @property
    def key(self) -> memoryview | None:
        """A read-only memoryview of the key inside librdkafka's buffer (no copy), or None."""
    @property
    def payload(self) -> memoryview | None:
        """A read-only memoryview of the payload inside librdkafka's buffer (no copy), or None."""
    @property
    def headers(self) -> list[tuple[str, bytes | None]]: ...
    @property
    def valid(self) -> bool:
        """True until the message is released, superseded or its consumer closes. Never raises."""
    def release(self) -> None:
        """Gives the message back to librdkafka now. Idempotent, allowed from any thread; memoryviews
        taken earlier stay readable.
        """
    def detach(self) -> OwnedMessage:
        """Copies the message into an OwnedMessage: thread-safe, picklable, independent of the consumer."""
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
        leader_epoch: int | None = None,
    ) -> Self: ...
    def __buffer__(self, flags: int, /) -> memoryview:
        """The payload, read-only: `memoryview(msg)` (BufferError if the message has none)."""
    def __release_buffer__(self, buffer: memoryview, /) -> None: ...
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
    def leader_epoch(self) -> int | None:
        """The partition leader's epoch when the message was fetched (KIP-320), or None if unknown."""
    @property
    def key(self) -> memoryview | None:
        """A read-only memoryview over this message's own copy of the key, or None."""
    @property
    def payload(self) -> memoryview | None:
        """A read-only memoryview over this message's own copy of the payload, or None."""
    @property
    def headers(self) -> list[tuple[str, bytes | None]]: ...
    @property
    def valid(self) -> bool:
        """Always True: an OwnedMessage does not depend on its consumer."""
    def __eq__(self, other: object, /) -> bool:
        """Return self==value."""
    def __hash__(self) -> int:
        """Return hash(self)."""
    def __reduce__(self) -> tuple[type[OwnedMessage], tuple[object, ...]]:
        """Pickles as a call to the constructor with plain bytes."""

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
        on_assign: _RebalanceCallback | None = None,
        on_revoke: _RebalanceCallback | None = None,
        on_lost: _RebalanceCallback | None = None,
    ) -> None:
        """Subscribes to topics (a name or a list of names; `^` starts a regex), replacing any previous
        subscription. As with confluent-kafka, `on_assign(consumer, partitions)` runs before the
        partitions are assigned: it may set their `offset`s and call `consumer.assign(partitions)`
        (`incremental_assign()` with a cooperative assignor) itself; if it does not, they are
        assigned as they came (at the committed offsets) when it returns. `on_revoke(consumer,
        partitions)` runs before they are taken away (commit there), `on_lost` instead of
        `on_revoke` when the assignment was lost (e.g. the session timed out); unless it called
        `unassign()`/`incremental_unassign()`, they go when it returns. They run on the thread
        calling poll/consume/close; an exception raised there propagates from it (the partitions
        are still assigned or revoked by default).
        """
    def unsubscribe(self) -> None: ...
    def assign(self, partitions: list[TopicPartition]) -> None:
        """Consumes exactly these partitions, from their given offsets (no group rebalancing; or,
        from `on_assign`, the group's partitions with the offsets it set on them, in place of the
        default assignment, as with confluent-kafka)."""
    def unassign(self) -> None:
        """Removes the whole assignment made by `assign()` (confluent-kafka's `unassign()`): the
        consumer stops fetching until the next `assign()`. From `on_revoke`/`on_lost`, in place of
        the default unassign."""
    def memberid(self) -> str | None:
        """This consumer's member id in its group (assigned by the group coordinator when it joins),
        or None before it joined or without a group."""
    def set_sasl_credentials(self, username: str, password: str) -> None:
        """Replaces the SASL username and password (PLAIN, SCRAM) used for connections made from now
        on (existing ones stay as they are): for credentials that rotate."""
    def incremental_assign(self, partitions: list[TopicPartition]) -> None:
        """Cooperative rebalancing: adds partitions to the current assignment (from `on_assign`, in
        place of the default, e.g. with offsets set on the partitions)."""
    def incremental_unassign(self, partitions: list[TopicPartition]) -> None:
        """Cooperative rebalancing: removes partitions from the current assignment (from
        `on_revoke`/`on_lost`, in place of the default)."""
    def assignment(self) -> list[TopicPartition]: ...
    def store_offsets(
        self, message: BorrowedMessage | OwnedMessage | None = None, offsets: list[TopicPartition] | None = None
    ) -> None:
        """Stores offsets for the next commit (automatic or argument-less), for consumers configured
        with `enable.auto.offset.store=false`. With a message: its offset + 1; with `offsets`: those.
        """
    def seek(self, partition: TopicPartition, timeout: float | None = None) -> None:
        """Moves the fetch position of an assigned partition to `partition.offset`, waiting up to
        `timeout` seconds (None: until done) for it to take effect.
        """
    def pause(self, partitions: list[TopicPartition]) -> None: ...
    def resume(self, partitions: list[TopicPartition]) -> None: ...
    def position(self, partitions: list[TopicPartition] | None = None) -> list[TopicPartition]:
        """The fetch position (last returned offset + 1, or OFFSET_INVALID) of the given partitions or
        of the whole assignment.
        """
    def committed(
        self, partitions: list[TopicPartition] | None = None, timeout: float | None = None
    ) -> list[TopicPartition]:
        """The group's committed offsets of the given partitions or of the whole assignment."""
    def get_watermark_offsets(self, partition: TopicPartition, timeout: float | None = None) -> tuple[int, int]:
        """(low, high) watermarks of a partition, asked of the broker."""
    def offsets_for_times(self, partitions: list[TopicPartition], timeout: float | None = None) -> list[TopicPartition]:
        """For each partition whose `offset` holds a timestamp (ms): the earliest offset whose timestamp
        is at least that (OFFSET_END when there is none).
        """
    def list_topics(self, topic: str | None = None, timeout: float | None = None) -> _ClusterMetadata:
        """Cluster metadata, for one topic or all: `{"brokers": {id: "host:port"}, "topics": {name:
        {partition: {"leader": id, "replicas": [ids], "isrs": [ids]}}}}`.
        """
    def cluster_id(self, timeout: float | None = None) -> str | None:
        """The cluster's id from the brokers' metadata, waiting up to `timeout` seconds (None: until
        known) for the first metadata; None if it did not come in time.
        """
    def consumer_group_metadata(self) -> ConsumerGroupMetadata:
        """The group's identity, for `Producer.send_offsets_to_transaction()`."""
    def poll(self, timeout: float | None = None) -> BorrowedMessage | None:
        """The next message, or None if none arrived within `timeout` seconds (None: wait forever).

        With `enable.partition.eof=true`, `poll()`, `consume()`, `consume_batch()` and iteration
        raise `PartitionEOF` (a `KafkaError`, code `_PARTITION_EOF`, with `topic`, `partition`,
        `offset`) once for each partition end they reach, after that partition's last message;
        the next call goes on. Without it (the default) nothing is raised."""
    def consume(self, num_messages: int = 1, timeout: float | None = None) -> list[BorrowedMessage]:
        """Waits up to `timeout` seconds for a first message, then adds those already fetched, up to
        `num_messages` (1 by default, as confluent-kafka's). Returns an empty list on timeout.
        """
    def consume_batch(self, max_messages: int = 10000, timeout: float | None = None) -> MessageBatch:
        """Like `consume()`, into one `MessageBatch` of Arrow columns (copied once, GIL-free) instead
        of a list of borrowed messages; an empty batch on timeout. For auto-commit the batch is
        done at the next poll/consume/consume_batch call or close(), like consume()'s messages.
        """
    def __iter__(self) -> Self:
        """Implement iter(self)."""
    def __next__(self) -> BorrowedMessage:
        """Implement next(self)."""
    @overload
    def commit(
        self,
        message: BorrowedMessage | OwnedMessage | MessageBatch | None = None,
        offsets: list[TopicPartition] | None = None,
        asynchronous: Literal[True] = True,
    ) -> None:
        """Commits offsets to the group. With a BorrowedMessage or OwnedMessage: its offset + 1 (with a
        MessageBatch: per partition, its last offset + 1). With
        `offsets`: exactly those (each the next offset to read). With neither: the position (last
        returned offset + 1) of every assigned partition that returned a message; nothing to commit
        is not an error. As confluent-kafka's, asynchronous by default: returns None at once and the
        result goes to `on_commit`. `asynchronous=False` waits for the broker's answer, raises its
        `KafkaError`, and returns the offsets committed (an empty list when there was nothing).
        """
    @overload
    def commit(
        self,
        message: BorrowedMessage | OwnedMessage | MessageBatch | None = None,
        offsets: list[TopicPartition] | None = None,
        *,
        asynchronous: Literal[False],
    ) -> list[TopicPartition]: ...
    @overload
    def commit(
        self,
        message: BorrowedMessage | OwnedMessage | MessageBatch | None,
        offsets: list[TopicPartition] | None,
        asynchronous: bool,
    ) -> list[TopicPartition] | None: ...
    def close(self, timeout: float | None = None) -> None:
        """Invalidates every borrowed message, leaves the group (running `on_revoke`), closes the
        consumer and releases librdkafka's threads, sockets and memory (unless a `memoryview` of a
        message's payload or key is still alive: they go with the last one). Idempotent. Waits at
        most `timeout` seconds (None: until librdkafka is done); Ctrl-C interrupts the wait.
        """
    def _io_event_enable(self, fd: int | None) -> None:
        """For event loops (`ferrokafka.aio`): librdkafka writes a byte to (a duplicate of) `fd`
        whenever its queue gets something after the last poll; `None` turns that off. Wait until
        `fd` is readable, then poll with timeout 0.
        """
    def _move_on(self, task: int, iterating: bool) -> None:
        """For event loops (`ferrokafka.aio`), which lend to tasks (numbered by the loop, `task`): the
        task is done with what it was handed so far (stored for auto-commit as far as no other task
        still holds an earlier message, see offsets.rs), and with `iterating` what its iteration
        lent it is superseded. Nothing once closed.
        """
    def _poll_for(self, task: int, iterating: bool, ready_only: bool) -> BorrowedMessage | None:
        """For event loops: the next message for `task`, without waiting, or None. With `iterating` it
        is superseded when the task moves on (`_move_on`); with `ready_only`, None while a rebalance
        waits for the loop to serve it, and once closed (the caller takes the slow path, which
        serves and waits); otherwise a closed consumer raises.
        """
    def _consume_for(self, task: int, max_messages: int) -> list[BorrowedMessage]:
        """For event loops: `consume(max_messages, 0)` for `task`."""
    def _consume_batch_for(self, task: int, max_messages: int) -> MessageBatch:
        """For event loops: `consume_batch(max_messages, 0)` for `task`."""
    def _task_ended(self, task: int, finished: bool) -> None:
        """For event loops: `task` ended. What its iteration lent it stays valid (it may have handed
        it on); what it was handed is done if it `finished` (returned), else abandoned: never
        stored, and nothing past it is, until its partitions are taken away (see offsets.rs).
        """
    def _commit_offsets_for(self, task: int) -> list[TopicPartition]:
        """For event loops: what `commit()` without arguments from `task` commits — the task is done
        with what it was handed; per assigned partition, the offset after the last message handed
        out, capped at the first one another task still holds. Stores what is done first.
        """
    def _commit_to_loop(self, offsets: list[TopicPartition], wake_fd: int) -> _LoopRequest:
        """For event loops (`ferrokafka.aio`): commits exactly `offsets`; the result reaches the
        returned request, whose queue writes a wake-up byte to (a duplicate of) `wake_fd` when it
        arrives: wait until readable, then `request.result()`.
        """
    def _committed_to_loop(self, partitions: list[TopicPartition] | None, group_id: str, wake_fd: int) -> _LoopRequest:
        """For event loops: `committed()` of `group_id` (this consumer's `group.id`) as a request
        like `_commit_to_loop`'s; its result is the partitions with their committed offsets.
        """
    def _list_offsets_to_loop(
        self, partitions: list[TopicPartition], read_committed: bool, wake_fd: int
    ) -> _LoopRequest:
        """For event loops: the offsets of `partitions` by the spec in each one's `offset` (-2:
        earliest, -1: latest, else a timestamp in ms) as a request like `_commit_to_loop`'s, at
        the isolation level `read_committed` says.
        """
    def _defer_rebalances(self, on: bool) -> None:
        """For event loops (`ferrokafka.aio`): while on, a rebalance is kept instead of served inside
        poll/consume (no callback runs there); `_pending_rebalance()` shows it, `_finish_rebalance()`
        applies it. close() turns this off.
        """
    def _pending_rebalance(self) -> tuple[Literal["assign", "revoke", "lost"], list[TopicPartition]] | None:
        """The kept rebalance: ("assign" | "revoke" | "lost", partitions), or None."""
    def _finish_rebalance(self) -> bool:
        """Applies the kept rebalance (librdkafka waits for it); False if none was kept."""
    @property
    def closed(self) -> bool: ...
    @property
    def live_message_count(self) -> int:
        """Native messages of this consumer still in memory: valid borrowed messages plus invalidated
        ones whose memoryviews are still alive. Each pins its whole fetch buffer.
        """
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...

@disjoint_base
class Message:
    """confluent-kafka's ``Message`` for the drop-in (``ferrokafka.confluent.Message``): see
    ``ferrokafka/confluent/_message.py`` and ``src/consumer/dropin.rs``."""

    _topic: Any
    _partition: int
    _offset: int
    _key: Any
    _value: Any
    _headers: Any
    _error: Any
    _timestamp: tuple[int, int]
    _latency: float
    _leader_epoch: int
    _delivery_count: int
    _lazy: int
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __new__(cls, *args: Any, **kwargs: Any) -> Self: ...
    def __init__(
        self,
        topic: Any = None,
        partition: int | None = None,
        offset: int | None = None,
        key: Any = None,
        value: Any = None,
        headers: Any = None,
        error: Any = None,
        timestamp: tuple[int, int] | None = None,
        latency: float | None = None,
        leader_epoch: int | None = None,
        delivery_count: int | None = None,
    ) -> None: ...
    def topic(self) -> Any:
        """The topic name (``None`` for some error events)."""
    def partition(self) -> int | None:
        """The partition, or ``None`` when unknown."""
    def offset(self) -> int | None:
        """The offset, or ``None`` when unknown."""
    def key(self) -> Any:
        """The key as ``bytes`` (copied on first call), or ``None``."""
    def value(self) -> Any:
        """The value as ``bytes`` (copied on first call), or ``None`` (a tombstone)."""
    def deserialized_key(self) -> Any:
        """The key (deserialized by a ``DeserializingConsumer``)."""
    def deserialized_value(self) -> Any:
        """The value (deserialized by a ``DeserializingConsumer``)."""
    def headers(self) -> Any:
        """A list of ``(name, value)`` tuples, or ``None`` without headers."""
    def error(self) -> Any:
        """The :class:`KafkaError` of an error event, or ``None`` for a message."""
    def timestamp(self) -> tuple[int, int]:
        """``(timestamp_type, milliseconds)``: ``TIMESTAMP_NOT_AVAILABLE`` (then ``-1``),
        ``TIMESTAMP_CREATE_TIME`` or ``TIMESTAMP_LOG_APPEND_TIME``.
        """
    def latency(self) -> float | None:
        """For a delivery report: seconds from ``produce()`` to the report; else ``None``."""
    def leader_epoch(self) -> int | None:
        """The partition leader's epoch when the message was fetched, or ``None``."""
    def delivery_count(self) -> int | None:
        """How often a share group delivered the message (share consumers only), or ``None``."""
    def set_topic(self, topic: Any) -> None: ...
    def set_key(self, key: Any) -> None: ...
    def set_value(self, value: Any) -> None: ...
    def set_headers(self, headers: Any) -> None: ...
    def set_error(self, error: Any) -> None: ...
    def __len__(self) -> int:
        """The value's length (0 without a value)."""
    def _fields(self) -> tuple[Any, ...]: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __ne__(self, other: object, /) -> bool: ...
    def __reduce__(self) -> tuple[Any, ...]:
        """`(Message, fields)`: a subclass's message pickles as a `Message`."""
    def _materialize(self) -> None:
        """Copies the views still held into ``bytes`` and lets them go (their fetch buffer with them)."""

@final
class DropInProduce:
    """The drop-in producer's ``produce()`` fast path (``src/producer/dropin.rs``)."""

    def __new__(cls, producer: Producer, owner: Any, slow: Any) -> DropInProduce: ...
    def produce(
        self,
        topic: Any,
        value: Any = ...,
        key: Any = ...,
        partition: Any = ...,
        callback: Any = ...,
        on_delivery: Any = ...,
        timestamp: Any = ...,
        headers: Any = ...,
    ) -> None:
        """confluent-kafka's `produce(topic, value=None, key=None, partition=-1, callback=None,
        on_delivery=None, timestamp=0, headers=None)`.
        """

@final
class DropInPoll:
    """The drop-in consumer's ``poll()`` fast path (``src/consumer/dropin.rs``)."""

    def __new__(cls, consumer: Consumer, owner: Any, watched: list[Any], max_copy: int) -> DropInPoll: ...
    def __call__(self, timeout: Any = None) -> Any:
        """`poll(timeout)`: the common case natively, the rest by the drop-in consumer's
        `_poll_slow(timeout)`, `_poll_after(result)` and `_poll_failed(error)`.
        """
    def poll(self, timeout: Any = None) -> Any:
        """`poll(timeout)` as a method: `__call__`, called without an argument tuple (vectorcall).
        The drop-in consumer's `poll` attribute is this, bound.
        """
    def _receive(self, timeout: float | None) -> Message | BorrowedMessage | None:
        """The next message as the native path receives it (a `Message`, a `BorrowedMessage` for a
        big one, or None), without the fast path's checks or record.
        """
    def _queued(self) -> None:
        """Something was added to a watched container: the next poll goes the Python way."""
    def _settle(self) -> bool:
        """After the Python way: clears the flag, then sets it again if a watched container is not
        empty (in that order, and with the GIL held throughout — `len()` of a list or deque runs
        no Python code — so no addition is missed). Returns whether the flag is set.
        """
    def record(self, topic: Any, partition: int, next: int) -> None:
        """Records `(topic, partition)` as handed out up to `next` (exclusive)."""
    def handed(self) -> dict[tuple[Any, int], int]:
        """`{(topic, partition): next offset}` of what was handed out."""

@final
class MessageBatch:
    """Messages from `Consumer.consume_batch()` as Arrow columns: `len()`, `batch[i]` (an
    `OwnedMessage`), iteration, and the Arrow PyCapsule interface (`pyarrow.table(batch)`,
    `polars.DataFrame(batch)`, duckdb). Owned: valid after the consumer closed, on any thread.
    """

    def __len__(self) -> int:
        """Return len(self)."""
    def __getitem__(self, index: int, /) -> OwnedMessage:
        """The message at `index` (negative counts from the end), copied into an `OwnedMessage`."""
    def __iter__(self) -> Iterator[OwnedMessage]:
        """The messages in order, each copied into an `OwnedMessage` as it is reached."""
    @property
    def next_offsets(self) -> list[TopicPartition]:
        """Per partition in the batch, a `TopicPartition` whose offset follows the batch's last
        message there: what `consumer.commit(batch)` commits.
        """
    def __arrow_c_schema__(self) -> CapsuleType:
        """The Arrow schema, as an `arrow_schema` PyCapsule."""
    def __arrow_c_array__(self, requested_schema: object | None = None) -> tuple[CapsuleType, CapsuleType]:
        """The batch as one Arrow struct array: `(arrow_schema, arrow_array)` PyCapsules.
        `requested_schema` is accepted and ignored, as the protocol allows.
        """
    def __arrow_c_stream__(self, requested_schema: object | None = None) -> CapsuleType:
        """The batch as an Arrow stream (of one record batch): an `arrow_array_stream` PyCapsule."""

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
    def timestamp(self) -> int | None:
        """Milliseconds since the epoch, or None."""
    def __eq__(self, other: object, /) -> bool:
        """Return self==value."""

@final
class DeliveryResults:
    """The outcome of every message of one `produce_batch()` call, in order: `len()`, `results[i]` (a
    `DeliveryReport`, or the message's `KafkaError`), iteration, `errors`, `delivered`.
    """

    def __len__(self) -> int:
        """Return len(self)."""
    def __getitem__(self, index: int, /) -> DeliveryReport | KafkaError:
        """Message `index`'s `DeliveryReport`, or its `KafkaError` (negative counts from the end)."""
    def __iter__(self) -> Iterator[DeliveryReport | KafkaError]:
        """The entries in order, each made as it is reached."""
    @property
    def errors(self) -> list[tuple[int, KafkaError]]:
        """`(index, KafkaError)` of every message that failed, in order; empty when all were delivered."""
    @property
    def delivered(self) -> int:
        """How many messages were delivered."""
    def __eq__(self, other: object, /) -> bool:
        """Equal to another `DeliveryResults` or a list with equal entries."""

@final
class DeliveryState:
    """The native side of a produce() future (internal)."""

    @property
    def finished(self) -> bool: ...
    def watch(self, future: object) -> None:
        """Called (with the GIL) when the future gets its condition: from now on the delivery thread
        wakes it through `future._delivered()`.
        """
    def outcome(self) -> tuple[DeliveryReport | DeliveryResults | None, KafkaError | None]:
        """`(report, None)` or `(None, KafkaError)`; `(None, None)` while not finished."""

@final
class _LoopRequest:
    """A request for an event loop, made by `Consumer._commit_to_loop` and friends (internal)."""

    def result(self) -> list[TopicPartition] | None:
        """Without waiting: None while the broker has not answered; then the partitions of the answer
        (for a commit: those committed), or raises its KafkaError (or the first failed partition's).
        """

@final
class _LoopDeliveries:
    """Delivery reports for an asyncio loop (internal, see ferrokafka.aio.AIOProducer)."""

    def __new__(cls, wake_fd: int) -> Self: ...
    def close(self) -> None:
        """The loop no longer listens (its producer is closed): our duplicate of its eventfd is closed
        now, not when the last message in flight lets the sink go. Idempotent.
        """
    def resolve(
        self,
    ) -> tuple[
        int,
        list[
            tuple[
                Callable[[KafkaError | None, DeliveryReport | None], object], KafkaError | None, DeliveryReport | None
            ]
        ]
        | None,
    ]:
        """On the loop's thread: resolves the futures of the messages finished since the last call
        (a cancelled one is left as it is). Returns how many, and the `(on_delivery, error,
        report)` calls for the caller to make (None when there are none).
        """

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
        on_delivery: Callable[[KafkaError | None, DeliveryReport | None], object] | None = None,
    ) -> Future[DeliveryReport]:
        """Queues a message and returns a Future resolving to its DeliveryReport or raising KafkaError.
        `value`/`key`: any bytes-like object or str, copied once into librdkafka. `on_delivery(error,
        report)` (or the config's `on_delivery`; error first, as confluent-kafka's) runs on the
        delivery thread once the message is delivered or failed. Raises `QueueFullError` (a
        `KafkaError` `_QUEUE_FULL` and a `BufferError`) when librdkafka's queue is full.
        `partition`: -1 or None (the partitioner) or 0 to 2**31-1; `timestamp`: ms since the epoch,
        >= 0 (0 or None: now); other values raise ValueError (as in `produce_batch()`).
        """
    def _produce_quiet(
        self,
        topic: str,
        value: _Bytesish | None = None,
        key: _Bytesish | None = None,
        partition: int | None = None,
        timestamp: int | None = None,
        headers: _HeaderPairs | None = None,
    ) -> None:
        """`produce()` for the confluent-kafka drop-in when no delivery callback is set: no future is
        made, and a message librdkafka refuses at once raises, as confluent-kafka's `produce()` does.
        """
    def _produce_to_loop(
        self,
        deliveries: _LoopDeliveries,
        future: object,
        topic: str,
        value: _Bytesish | None = None,
        key: _Bytesish | None = None,
        partition: int | None = None,
        timestamp: int | None = None,
        headers: _HeaderPairs | None = None,
        on_delivery: Callable[[KafkaError | None, DeliveryReport | None], object] | None = None,
    ) -> None:
        """`produce()` for `ferrokafka.aio.AIOProducer`: the message's outcome resolves `future` (an
        `asyncio.Future`) on its loop, through `deliveries`; `on_delivery` is returned to the loop
        too. Nothing else is made per message.
        """
    def _transaction_step(self, call: Literal["init", "begin", "abort"], timeout_ms: int, last: bool = False) -> bool:
        """One step of a transactional call for `ferrokafka.aio`, on the loop's thread, without a
        thread of its own: `call` is "init", "begin" or "abort" — not "commit": when a resumed
        rd_kafka_commit_transaction's first phase times out, librdkafka clears the current call's
        name, and the coordinator's EndTxn answer arriving then is taken for an abort's
        (rd_kafka_txn_endtxn_complete decides by that name); waits at most
        `timeout_ms` (≤ 100; GIL released). Returns True once the call finished, False while it goes
        on in the background (librdkafka's resumable timeout: step again). With `last`, that timeout
        raises its retriable `_TIMED_OUT` KafkaError instead, as the synchronous call does.
        """
    def produce_batch(
        self,
        topic: str,
        messages: _BatchMessages,
        *,
        partition: int | None = None,
        on_delivery: Callable[[KafkaError | None, DeliveryReport | None], object] | None = None,
    ) -> Future[DeliveryResults]:
        """Queues many messages to `topic` in one call (GIL released; waits while librdkafka's queue
        is full) and returns ONE Future for the batch, resolving once every message is delivered or
        failed to a `DeliveryResults` sequence in the same order: each entry a DeliveryReport or
        that message's KafkaError. `messages`: a list or tuple of values, of (key, value[, headers[, timestamp[,
        partition]]]) tuples or of dicts with those names; or an Arrow table, record batch or array
        (anything with `__arrow_c_stream__`/`__arrow_c_array__`) with a `value` column and optional
        `key`, `headers`, `timestamp`, `partition` columns. Everything is read and checked before
        anything is sent, by `produce()`'s rules (`ValueError` naming `messages[i]`). `partition`
        applies to messages that name none; `on_delivery(error, report)` (or the config's) runs once
        per message. Ctrl-C while waiting for queue room raises KeyboardInterrupt carrying the
        batch's Future as `.future`: messages not yet sent fail with `_DESTROY` in its results.
        """
    def poll(self, timeout: float | None = 0.0) -> int:
        """Runs, on this thread, the `on_delivery` callbacks (and wakes the waited-on futures) of
        messages finished so far, waiting up to `timeout` seconds for the first; returns how many.
        Futures resolve on their own, and callbacks run on the delivery thread otherwise: this is for
        callers who want that work done on their own thread.
        """
    def flush(self, timeout: float | None = None) -> int:
        """Waits until every produced message is delivered or failed and its future resolved, or
        `timeout` seconds pass. Returns the number still unresolved (0 = all done).
        """
    def close(self, timeout: float | None = None) -> None:
        """Flushes (up to `timeout` seconds, None: until librdkafka's message.timeout.ms), fails what
        is left with a purge error, waits for the delivery callbacks still running (`timeout` bounds
        the deliveries, not your callbacks; Ctrl-C interrupts), stops the producer and releases
        librdkafka's threads, sockets and memory. Every future is resolved and every callback has run
        when it returns.
        """
    def list_topics(self, topic: str | None = None, timeout: float | None = None) -> _ClusterMetadata:
        """Cluster metadata, for one topic or all, as `Consumer.list_topics()` gives it."""
    def cluster_id(self, timeout: float | None = None) -> str | None:
        """The cluster's id from the brokers' metadata, waiting up to `timeout` seconds (None: until
        known) for the first metadata; None if it did not come in time.
        """
    def set_sasl_credentials(self, username: str, password: str) -> None:
        """Replaces the SASL username and password (PLAIN, SCRAM) used for connections made from now
        on (existing ones stay as they are): for credentials that rotate."""
    def purge(self, in_queue: bool = True, in_flight: bool = True) -> None:
        """Fails messages not yet delivered: those still queued locally and, with `in_flight`, those
        sent and not acknowledged. Their futures raise `_PURGE_QUEUE` / `_PURGE_INFLIGHT`.
        """
    def init_transactions(self, timeout: float = 30.0) -> None:
        """Transactions (config `transactional.id`): registers the producer with the coordinator and
        fences older instances. Call once, before `begin_transaction()`.
        """
    def begin_transaction(self) -> None: ...
    def send_offsets_to_transaction(
        self, offsets: list[TopicPartition], group_metadata: ConsumerGroupMetadata, timeout: float = 30.0
    ) -> None:
        """Adds the consumer's offsets (the next offsets to read) to the transaction, so that they are
        committed if and only if the transaction is: consume-transform-produce exactly once.
        """
    def commit_transaction(self, timeout: float = 60.0) -> None:
        """Flushes and commits the transaction. A `KafkaError` with `txn_requires_abort` means: call
        `abort_transaction()`; with `retriable`, the commit may simply be retried.
        """
    def abort_transaction(self, timeout: float = 60.0) -> None: ...
    @property
    def closed(self) -> bool: ...
    def __len__(self) -> int:
        """Return len(self)."""
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
    def bootstrap_servers(self) -> str:
        """The `bootstrap.servers` value for clients of this cluster."""
    def create_topic(self, name: str, partitions: int = 1, replication_factor: int = 1) -> None:
        """Creates a topic of `partitions` (1 to 10,000) partitions with `replication_factor` replicas
        (1 to the number of brokers); out-of-range values raise `ValueError` (librdkafka would abort).
        """
    def broker_down(self, broker_id: int) -> None:
        """Takes a broker down: its connections are closed and new ones refused."""
    def broker_up(self, broker_id: int) -> None: ...
    def inject_request_errors(self, api_key: int, errors: list[int]) -> None:
        """Makes the next requests with Kafka API key `api_key` (e.g. 0 = Produce, 1 = Fetch) fail, one
        per entry of `errors` (Kafka error codes, e.g. `KafkaError.NOT_LEADER_FOR_PARTITION`).
        """
    def clear_request_errors(self, api_key: int) -> None:
        """Forgets errors injected for `api_key` that have not fired yet."""
    def close(self) -> None:
        """Stops the brokers. Idempotent; clients still connected see their connections refused."""
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
class ThrottleEvent:
    """A broker delayed its answer to this client (a quota), given to the `throttle_cb` config
    callback of any client: confluent-kafka's `ThrottleEvent`."""

    @property
    def broker_name(self) -> str:
        """librdkafka's name of the broker, e.g. `"localhost:9092/1"`."""
    @property
    def broker_id(self) -> int: ...
    @property
    def throttle_time(self) -> float:
        """Seconds the broker held its answer back (0.0: the throttling ended)."""

@final
class NewTopic:
    """A topic to create with AdminClient.create_topics(); -1 means the broker's default."""

    def __new__(
        cls,
        name: str,
        num_partitions: int = -1,
        replication_factor: int = -1,
        config: Mapping[str, str] | None = None,
        *,
        replica_assignment: list[list[int]] | None = None,
    ) -> Self: ...
    @property
    def name(self) -> str: ...
    @property
    def num_partitions(self) -> int:
        """-1: the broker's default (`num.partitions`)."""
    @property
    def replication_factor(self) -> int:
        """-1: the broker's default (`default.replication.factor`)."""
    @property
    def config(self) -> dict[str, str]:
        """The topic's configuration (a copy)."""
    @property
    def replica_assignment(self) -> list[list[int]] | None:
        """The broker ids of each partition's replicas, instead of a replication factor."""

# --- admin result types (confluent-kafka's names and attributes; enums as their names) --------

@final
class Node:
    """A broker: confluent-kafka's `Node`."""

    @property
    def id(self) -> int: ...
    @property
    def id_string(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def rack(self) -> str | None: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class TopicPartitionInfo:
    """A partition of a described topic: confluent-kafka's `TopicPartitionInfo`."""

    @property
    def id(self) -> int: ...
    @property
    def leader(self) -> Node | None:
        """None while the partition has no leader."""
    @property
    def replicas(self) -> list[Node]: ...
    @property
    def isr(self) -> list[Node]: ...

@final
class TopicDescription:
    """A topic: confluent-kafka's `TopicDescription`."""

    @property
    def name(self) -> str: ...
    @property
    def topic_id(self) -> str:
        """The topic id in Kafka's base64 form."""
    @property
    def is_internal(self) -> bool: ...
    @property
    def partitions(self) -> list[TopicPartitionInfo]:
        """Sorted by id."""
    @property
    def authorized_operations(self) -> list[str] | None:
        """AclOperation names ("READ", ...) when asked for, else None."""

@final
class DescribeClusterResult:
    """The cluster: confluent-kafka's `DescribeClusterResult`."""

    @property
    def cluster_id(self) -> str | None: ...
    @property
    def controller(self) -> Node | None: ...
    @property
    def nodes(self) -> list[Node]:
        """Sorted by id."""
    @property
    def authorized_operations(self) -> list[str] | None: ...

@final
class ConsumerGroupListing:
    """A group of `list_consumer_groups()`: confluent-kafka's `ConsumerGroupListing`."""

    @property
    def group_id(self) -> str: ...
    @property
    def is_simple_consumer_group(self) -> bool: ...
    @property
    def state(self) -> str:
        """confluent-kafka's ConsumerGroupState name: "STABLE", "EMPTY", "DEAD",
        "PREPARING_REBALANCING", "COMPLETING_REBALANCING" or "UNKNOWN"."""
    @property
    def type(self) -> str:
        """ "CLASSIC", "CONSUMER" (KIP-848) or "UNKNOWN"."""

@final
class ListConsumerGroupsResult:
    """confluent-kafka's `ListConsumerGroupsResult`."""

    @property
    def valid(self) -> list[ConsumerGroupListing]:
        """The groups, sorted by id."""
    @property
    def errors(self) -> list[KafkaError]:
        """A KafkaError per broker that could not be asked (then `valid` may be incomplete)."""

@final
class ConfigEntry:
    """A configuration entry: confluent-kafka's `ConfigEntry`."""

    @property
    def name(self) -> str: ...
    @property
    def value(self) -> str | None:
        """None when unset or sensitive."""
    @property
    def source(self) -> str:
        """confluent-kafka's ConfigSource name: "DYNAMIC_TOPIC_CONFIG", "STATIC_BROKER_CONFIG",
        "DEFAULT_CONFIG", ..."""
    @property
    def is_read_only(self) -> bool: ...
    @property
    def is_default(self) -> bool: ...
    @property
    def is_sensitive(self) -> bool: ...
    @property
    def is_synonym(self) -> bool: ...
    @property
    def synonyms(self) -> dict[str, ConfigEntry]: ...

_Enum = str | Any  # a name, or an enum member whose .name is that name (confluent-kafka's enums)

@final
class OffsetSpec:
    """Which offset `list_offsets()` looks up: confluent-kafka's `OffsetSpec`."""

    @staticmethod
    def earliest() -> OffsetSpec: ...
    @staticmethod
    def latest() -> OffsetSpec: ...
    @staticmethod
    def max_timestamp() -> OffsetSpec: ...
    @staticmethod
    def for_timestamp(timestamp: int) -> OffsetSpec:
        """The first offset whose timestamp (ms) is at least `timestamp`."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class ListOffsetsResultInfo:
    """One partition's answer: confluent-kafka's `ListOffsetsResultInfo`."""

    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int:
        """The message's timestamp (ms) for max_timestamp and timestamp specs; -1 otherwise."""
    @property
    def leader_epoch(self) -> int | None: ...

@final
class AclBinding:
    """An ACL: confluent-kafka's `AclBinding(restype, name, resource_pattern_type, principal, host,
    operation, permission_type)`; enums as names ("TOPIC", "LITERAL", "READ", "ALLOW") or enum
    members. Checked by librdkafka when made (ValueError)."""

    def __new__(
        cls,
        restype: _Enum,
        name: str,
        resource_pattern_type: _Enum,
        principal: str,
        host: str,
        operation: _Enum,
        permission_type: _Enum,
    ) -> Self: ...
    @property
    def restype(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def resource_pattern_type(self) -> str: ...
    @property
    def principal(self) -> str | None: ...
    @property
    def host(self) -> str | None: ...
    @property
    def operation(self) -> str: ...
    @property
    def permission_type(self) -> str: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class AclBindingFilter:
    """ACLs to describe or delete: confluent-kafka's `AclBindingFilter`; name, principal and host may
    be None (any), enums "ANY" (and the pattern type "MATCH")."""

    def __new__(
        cls,
        restype: _Enum,
        name: str | None,
        resource_pattern_type: _Enum,
        principal: str | None,
        host: str | None,
        operation: _Enum,
        permission_type: _Enum,
    ) -> Self: ...
    @property
    def restype(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def resource_pattern_type(self) -> str: ...
    @property
    def principal(self) -> str | None: ...
    @property
    def host(self) -> str | None: ...
    @property
    def operation(self) -> str: ...
    @property
    def permission_type(self) -> str: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class ScramCredentialInfo:
    """A SCRAM mechanism ("SCRAM_SHA_256", "SCRAM_SHA_512"; "SCRAM-SHA-256" works too) and its
    iteration count: confluent-kafka's `ScramCredentialInfo`."""

    def __new__(cls, mechanism: _Enum, iterations: int = 10000) -> Self: ...
    @property
    def mechanism(self) -> str: ...
    @property
    def iterations(self) -> int: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class UserScramCredentialsDescription:
    """A user's SCRAM credentials, without secrets: confluent-kafka's `UserScramCredentialsDescription`."""

    @property
    def user(self) -> str: ...
    @property
    def scram_credential_infos(self) -> list[ScramCredentialInfo]: ...

@final
class UserScramCredentialUpsertion:
    """Sets a user's password for a mechanism (no salt: a random one)."""

    def __new__(
        cls,
        user: str,
        scram_credential_info: ScramCredentialInfo,
        password: bytes | str,
        salt: bytes | str | None = None,
    ) -> Self: ...
    @property
    def user(self) -> str: ...
    @property
    def scram_credential_info(self) -> ScramCredentialInfo: ...

@final
class UserScramCredentialDeletion:
    """Removes a user's credentials for a mechanism."""

    def __new__(cls, user: str, mechanism: _Enum) -> Self: ...
    @property
    def user(self) -> str: ...
    @property
    def mechanism(self) -> str: ...

@final
class AdminClient:
    """librdkafka's admin client: every method returns a Future resolving to plain values.

    A failed request makes its Future raise KafkaError (for calls on several items, the error of
    the first item that failed, naming it; the others may have succeeded). Wrong arguments raise
    ValueError/TypeError at once; calls after close() raise Error.
    """

    def __new__(cls, config: Mapping[str, _ConfigValue]) -> Self: ...
    def create_topics(
        self, topics: list[NewTopic], *, operation_timeout: float | None = None, validate_only: bool = False
    ) -> Future[None]:
        """Creates topics. Resolves to None, or raises the KafkaError of the first topic that failed
        (the others may have been created). `operation_timeout`: how long the broker waits for the
        creation to complete before answering (None: librdkafka's default, `socket.timeout.ms`).
        `validate_only=True`: the broker only checks the request (nothing is created).
        """
    def delete_topics(self, names: list[str], *, operation_timeout: float | None = None) -> Future[None]:
        """Deletes topics. Resolves to None, or raises the KafkaError of the first that failed."""
    def create_partitions(
        self,
        topic: str,
        new_total_count: int,
        *,
        operation_timeout: float | None = None,
        validate_only: bool = False,
        replica_assignment: list[list[int]] | None = None,
    ) -> Future[None]:
        """Grows `topic` to `new_total_count` partitions. Resolves to None. `validate_only=True`: the
        broker only checks the request. `replica_assignment`: the broker ids of each new
        partition's replicas."""
    @overload
    def describe_configs(
        self, resource_type: Literal["topic", "broker"], name: str, *, detailed: Literal[False] = False
    ) -> Future[dict[str, str]]:
        """Current values by name (entries without a value, such as sensitive ones, left out).
        A broker is named by its numeric id. With `detailed=True`: {name: ConfigEntry} of every
        entry, with source, flags and synonyms."""
    @overload
    def describe_configs(
        self, resource_type: Literal["topic", "broker"], name: str, *, detailed: Literal[True]
    ) -> Future[dict[str, ConfigEntry]]: ...
    def alter_configs(
        self, resource_type: Literal["topic", "broker"], name: str, config: Mapping[str, str | None]
    ) -> Future[None]:
        """Incremental: entries not named keep their values; None reverts an entry to its default."""
    def list_groups(self) -> Future[list[str]]:
        """The ids of the consumer groups in the cluster, sorted, each once. Raises the first error if some
        broker could not be asked (a partial list would look complete).
        """
    def describe_groups(self, group_ids: list[str]) -> Future[dict[str, _GroupDescription]]:
        """Describes consumer groups: {group_id: {"state", "type", "protocol" (the partition
        assignor), "members": [{"member_id", "client_id", "host", "group_instance_id"}]}}. Raises
        the error of the first group that could not be described.
        """
    def delete_groups(self, group_ids: list[str]) -> Future[None]:
        """Deletes consumer groups (they must have no active members). Resolves to None, or raises the
        KafkaError of the first group that failed.
        """
    def list_consumer_group_offsets(
        self, group_id: str, partitions: list[TopicPartition] | None = None
    ) -> Future[list[TopicPartition]]:
        """Committed offsets (OFFSET_INVALID where none), sorted; all committed partitions if None."""
    def alter_consumer_group_offsets(self, group_id: str, offsets: list[TopicPartition]) -> Future[None]:
        """Sets the committed offsets of a consumer group (which must have no active members) to the
        offsets of `offsets`. Resolves to None, or raises the first error.
        """
    @overload
    def list_offsets(
        self,
        partitions: list[TopicPartition],
        spec: Literal["earliest", "latest", "max_timestamp"] | OffsetSpec | None = None,
    ) -> Future[list[TopicPartition]]:
        """Offsets by spec (default "latest", the next offset to be written; "earliest",
        "max_timestamp" or an OffsetSpec such as `OffsetSpec.for_timestamp(ms)`). With a list of
        partitions (their offsets are ignored): a list of TopicPartition with those offsets,
        sorted. With a dict {TopicPartition: OffsetSpec} (confluent-kafka's form):
        {TopicPartition: ListOffsetsResultInfo}, keyed by the partitions given.
        """
    @overload
    def list_offsets(
        self, partitions: Mapping[TopicPartition, OffsetSpec], spec: None = None
    ) -> Future[dict[TopicPartition, ListOffsetsResultInfo]]: ...
    def delete_records(self, offsets: list[TopicPartition]) -> Future[None]:
        """Deletes the records before each offset (OFFSET_END: all) in its partition."""
    def list_consumer_groups(
        self, *, states: Iterable[_Enum] | None = None, types: Iterable[_Enum] | None = None
    ) -> Future[ListConsumerGroupsResult]:
        """The consumer groups with their state and type (confluent-kafka's ListConsumerGroupsResult);
        `states` ("STABLE", "EMPTY", ...) and `types` ("CLASSIC", "CONSUMER") filter (None: all)."""
    def describe_topics(
        self, topics: list[str] | Any, *, include_authorized_operations: bool = False
    ) -> Future[dict[str, TopicDescription]]:
        """{name: TopicDescription} of topics (a list of names, or confluent-kafka's
        TopicCollection); raises the error of the first topic that could not be described."""
    def describe_cluster(self, *, include_authorized_operations: bool = False) -> Future[DescribeClusterResult]:
        """The cluster's id, controller and brokers."""
    def create_acls(self, acls: list[AclBinding]) -> Future[None]:
        """Creates ACLs; raises the KafkaError of the first that failed (the others may exist)."""
    def describe_acls(self, acl_binding_filter: AclBindingFilter) -> Future[list[AclBinding]]:
        """The ACLs matching the filter."""
    def delete_acls(self, acl_binding_filters: list[AclBindingFilter]) -> Future[list[list[AclBinding]]]:
        """Deletes the ACLs matching each filter: the deleted bindings, one list per filter in order."""
    def describe_user_scram_credentials(
        self, users: list[str] | None = None
    ) -> Future[dict[str, UserScramCredentialsDescription]]:
        """SCRAM mechanisms and iterations of `users` (None: every user that has some); a user
        without any raises RESOURCE_NOT_FOUND."""
    def alter_user_scram_credentials(
        self, alterations: Iterable[UserScramCredentialUpsertion | UserScramCredentialDeletion]
    ) -> Future[None]:
        """Sets or removes SCRAM credentials; raises the first user's error."""
    def elect_leaders(
        self, election_type: _Enum, partitions: list[TopicPartition] | None = None
    ) -> Future[dict[TopicPartition, KafkaError | None]]:
        """Leader election, "PREFERRED" or "UNCLEAN" (None partitions: all, preferred only):
        {TopicPartition: None (elected) or its KafkaError, e.g. ELECTION_NOT_NEEDED}."""
    def list_topics(self, topic: str | None = None, timeout: float | None = None) -> _ClusterMetadata:
        """Cluster metadata, for one topic or all, as `Consumer.list_topics()` gives it (synchronous,
        as confluent-kafka's): `{"brokers": {id: "host:port"}, "topics": {name: {partition:
        {"leader", "replicas", "isrs"}}}}`.
        """
    def cluster_id(self, timeout: float | None = None) -> str | None:
        """The cluster's id from the brokers' metadata, waiting up to `timeout` seconds (None: until
        known) for the first metadata; None if it did not come in time.
        """
    def _serve_callbacks(self) -> None:
        """Runs, on this thread, the callbacks queued so far (the event thread runs them otherwise)."""
    def set_sasl_credentials(self, username: str, password: str) -> None:
        """Replaces the SASL username and password (PLAIN, SCRAM) used for connections made from now
        on (existing ones stay as they are): for credentials that rotate."""
    def close(self) -> None:
        """Closes the client (idempotent). Calls already made complete and resolve their futures; the
        native client is destroyed once the last of them is done — with none in flight, before
        close() returns (Ctrl-C interrupts that wait; the destruction then finishes on its own).
        """
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
def _error_description(code: int) -> str:
    """librdkafka's description of an error code ("Err-<code>?" for a code it does not know)."""
