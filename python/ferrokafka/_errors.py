"""ferrokafka's exceptions, defined here in Python and raised by the Rust core with their arguments
(as pyca/cryptography does), so that every attribute exists on every instance, also on those that
tests and mocks construct themselves.

``KafkaError``'s code constants (``KafkaError.UNKNOWN_TOPIC_OR_PART``, ``KafkaError._MSG_TIMED_OUT``,
...) are added by the native module from librdkafka's own table when it is imported.
"""

from __future__ import annotations

from typing import Any, ClassVar


class Error(Exception):
    """Base class of every exception defined by ferrokafka."""


class KafkaError(Error):
    """An error reported by librdkafka or the broker.

    ``KafkaError(message, code=KafkaError._FAIL, *, name=None, retriable=False, fatal=False,
    txn_requires_abort=False)``; ``name`` defaults to librdkafka's symbolic name of ``code``.
    Two errors are equal when their type, code and message are.
    """

    code: int
    name: str
    retriable: bool
    fatal: bool
    txn_requires_abort: bool

    # librdkafka's error codes, set on the class by the native module from librdkafka's own table
    # (rd_kafka_get_err_descs) when it is imported; local codes start with an underscore. Declared
    # here for type checkers; tests/test_stubs.py checks this list against the table.
    _BEGIN: ClassVar[int]
    _BAD_MSG: ClassVar[int]
    _BAD_COMPRESSION: ClassVar[int]
    _DESTROY: ClassVar[int]
    _FAIL: ClassVar[int]
    _TRANSPORT: ClassVar[int]
    _CRIT_SYS_RESOURCE: ClassVar[int]
    _RESOLVE: ClassVar[int]
    _MSG_TIMED_OUT: ClassVar[int]
    _PARTITION_EOF: ClassVar[int]
    _UNKNOWN_PARTITION: ClassVar[int]
    _FS: ClassVar[int]
    _UNKNOWN_TOPIC: ClassVar[int]
    _ALL_BROKERS_DOWN: ClassVar[int]
    _INVALID_ARG: ClassVar[int]
    _TIMED_OUT: ClassVar[int]
    _QUEUE_FULL: ClassVar[int]
    _ISR_INSUFF: ClassVar[int]
    _NODE_UPDATE: ClassVar[int]
    _SSL: ClassVar[int]
    _WAIT_COORD: ClassVar[int]
    _UNKNOWN_GROUP: ClassVar[int]
    _IN_PROGRESS: ClassVar[int]
    _PREV_IN_PROGRESS: ClassVar[int]
    _EXISTING_SUBSCRIPTION: ClassVar[int]
    _ASSIGN_PARTITIONS: ClassVar[int]
    _REVOKE_PARTITIONS: ClassVar[int]
    _CONFLICT: ClassVar[int]
    _STATE: ClassVar[int]
    _UNKNOWN_PROTOCOL: ClassVar[int]
    _NOT_IMPLEMENTED: ClassVar[int]
    _AUTHENTICATION: ClassVar[int]
    _NO_OFFSET: ClassVar[int]
    _OUTDATED: ClassVar[int]
    _TIMED_OUT_QUEUE: ClassVar[int]
    _UNSUPPORTED_FEATURE: ClassVar[int]
    _WAIT_CACHE: ClassVar[int]
    _INTR: ClassVar[int]
    _KEY_SERIALIZATION: ClassVar[int]
    _VALUE_SERIALIZATION: ClassVar[int]
    _KEY_DESERIALIZATION: ClassVar[int]
    _VALUE_DESERIALIZATION: ClassVar[int]
    _PARTIAL: ClassVar[int]
    _READ_ONLY: ClassVar[int]
    _NOENT: ClassVar[int]
    _UNDERFLOW: ClassVar[int]
    _INVALID_TYPE: ClassVar[int]
    _RETRY: ClassVar[int]
    _PURGE_QUEUE: ClassVar[int]
    _PURGE_INFLIGHT: ClassVar[int]
    _FATAL: ClassVar[int]
    _INCONSISTENT: ClassVar[int]
    _GAPLESS_GUARANTEE: ClassVar[int]
    _MAX_POLL_EXCEEDED: ClassVar[int]
    _UNKNOWN_BROKER: ClassVar[int]
    _NOT_CONFIGURED: ClassVar[int]
    _FENCED: ClassVar[int]
    _APPLICATION: ClassVar[int]
    _ASSIGNMENT_LOST: ClassVar[int]
    _NOOP: ClassVar[int]
    _AUTO_OFFSET_RESET: ClassVar[int]
    _LOG_TRUNCATION: ClassVar[int]
    _INVALID_DIFFERENT_RECORD: ClassVar[int]
    _DESTROY_BROKER: ClassVar[int]
    _END: ClassVar[int]
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

    def __init__(
        self,
        message: str = "",
        code: int | None = None,
        *,
        name: str | None = None,
        retriable: bool = False,
        fatal: bool = False,
        txn_requires_abort: bool = False,
    ) -> None:
        super().__init__(KafkaErrorText(message, self))
        self.code = int(code) if code is not None else int(getattr(type(self), "_FAIL", -196))
        self.name = name if name is not None else _name_of(type(self), self.code)
        self.retriable = bool(retriable)
        self.fatal = bool(fatal)
        self.txn_requires_abort = bool(txn_requires_abort)

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild,
            (type(self), str(self), self.code, self.name, self.retriable, self.fatal, self.txn_requires_abort),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, KafkaError):
            return NotImplemented
        return (type(self), self.code, str(self)) == (type(other), other.code, str(other))

    def __hash__(self) -> int:
        return hash((type(self), self.code, str(self)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r}, code={self.code}, name={self.name!r})"


class KafkaErrorText(str):
    """``args[0]`` of a ``KafkaError``: its message (a ``str``), which also answers the methods of
    confluent-kafka's ``KafkaError`` object, so that ``except KafkaException as e: e.args[0].code()``
    works unchanged: ``code()``, ``name()``, ``str()``, ``retriable()``, ``fatal()``,
    ``txn_requires_abort()`` read the exception's attributes."""

    _error: KafkaError

    def __new__(cls, message: str, error: KafkaError) -> KafkaErrorText:
        text = super().__new__(cls, message)
        text._error = error
        return text

    def code(self) -> int:
        return self._error.code

    def name(self) -> str:
        return self._error.name

    def str(self) -> str:
        return str.__str__(self)

    def retriable(self) -> bool:
        return self._error.retriable

    def fatal(self) -> bool:
        return self._error.fatal

    def txn_requires_abort(self) -> bool:
        return self._error.txn_requires_abort

    def __reduce__(self) -> tuple[Any, ...]:
        return (str, (str.__str__(self),))


def _rebuild(
    cls: type[KafkaError], message: str, code: int, name: str, retriable: bool, fatal: bool, txn_requires_abort: bool
) -> KafkaError:
    return cls(message, code, name=name, retriable=retriable, fatal=fatal, txn_requires_abort=txn_requires_abort)


def _name_of(cls: type, code: int) -> str:
    for attr in dir(cls):
        if attr.lstrip("_").isupper() and getattr(cls, attr, None) == code and type(getattr(cls, attr)) is int:
            return attr
    return f"ERR_{code}"


class PartitionEOF(KafkaError):
    """The consumer reached the end of a partition: raised by ``poll()``, ``consume()``,
    ``consume_batch()`` and iteration, once per partition end, only by a consumer configured with
    ``enable.partition.eof=true``. ``code`` is ``KafkaError._PARTITION_EOF``; ``topic``,
    ``partition`` and ``offset`` (the next offset, where new messages will be) say which. No message
    is lost: the next call goes on consuming.

    ``PartitionEOF(message="", code=KafkaError._PARTITION_EOF, *, topic="", partition=-1, offset=-1)``
    """

    topic: str
    partition: int
    offset: int

    def __init__(
        self,
        message: str = "",
        code: int | None = None,
        *,
        name: str | None = None,
        retriable: bool = False,
        fatal: bool = False,
        txn_requires_abort: bool = False,
        topic: str = "",
        partition: int = -1,
        offset: int = -1,
    ) -> None:
        if code is None:
            code = int(getattr(KafkaError, "_PARTITION_EOF", -191))
        super().__init__(
            message, code, name=name, retriable=retriable, fatal=fatal, txn_requires_abort=txn_requires_abort
        )
        self.topic = topic
        self.partition = int(partition)
        self.offset = int(offset)

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_eof,
            (str(self), self.code, self.topic, self.partition, self.offset),
        )


def _rebuild_eof(message: str, code: int, topic: str, partition: int, offset: int) -> PartitionEOF:
    return PartitionEOF(message, code, topic=topic, partition=partition, offset=offset)


#: confluent-kafka's exception that carries a ``KafkaError`` in ``args[0]``: in ferrokafka the error
#: is the exception (``e.code``, ``e.name``, ...); its ``args[0]`` is the message as a
#: ``KafkaErrorText``, which answers ``e.args[0].code()`` and the other methods of confluent-kafka's
#: ``KafkaError`` too (see README, "Coming from confluent-kafka").
KafkaException = KafkaError


class ConfigError(Error):
    """An invalid or unknown configuration property or value; the message names the key."""


class MessageInvalidatedError(Error):
    """A BorrowedMessage was used after it was released, superseded or its consumer closed.

    ``reason`` is ``"released"``, ``"superseded"`` or ``"consumer_closed"``.
    """

    reason: str

    def __init__(self, message: str = "", reason: str = "released") -> None:
        super().__init__(message)
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.reason))


class WrongThreadError(Error):
    """A BorrowedMessage was used from a thread other than the one that received it."""


# Public under the package's name (tracebacks, pickles): ``ferrokafka.KafkaError``.
for _cls in (Error, KafkaError, PartitionEOF, ConfigError, MessageInvalidatedError, WrongThreadError):
    _cls.__module__ = "ferrokafka"
del _cls
