"""ferrokafka's exceptions, defined here in Python and raised by the Rust core with their arguments
(as pyca/cryptography does), so that every attribute exists on every instance, also on those that
tests and mocks construct themselves.

``KafkaError`` behaves as confluent-kafka's ``KafkaError`` (built from a code, answering ``code()``,
``name()``, ``str()``, ``retriable()``, ``fatal()``, ``txn_requires_abort()``, equal to its code) and
is also the exception ferrokafka raises. Its code constants (``KafkaError.UNKNOWN_TOPIC_OR_PART``,
``KafkaError._MSG_TIMED_OUT``, ...) and librdkafka's names and descriptions of the codes are added
by the native module from librdkafka's own table when it is imported.
"""

from __future__ import annotations

import builtins
import operator
from typing import Any, ClassVar

#: librdkafka's symbolic name and description of every code it knows, set by the native module.
_ERROR_NAMES: dict[int, builtins.str] = {}
_ERROR_DESCRIPTIONS: dict[int, builtins.str] = {}


def _error_name(code: int) -> builtins.str:
    return _ERROR_NAMES.get(code) or f"ERR_{code}?"


def _error_description(code: int) -> builtins.str:
    return _ERROR_DESCRIPTIONS.get(code) or f"Err-{code}?"


class Error(Exception):
    """Base class of every exception defined by ferrokafka."""


class KafkaException(Error):
    """confluent-kafka's exception that carries a ``KafkaError`` in ``args[0]``:
    ``raise KafkaException(KafkaError(KafkaError._STATE))``. Every ``KafkaError`` ferrokafka raises
    is one too (``KafkaError`` is a subclass), whose ``args[0]`` is the error itself, so
    ``except KafkaException as e: e.args[0].code()`` works as with confluent-kafka."""


class KafkaError(KafkaException):
    """An error reported by librdkafka or the broker, as confluent-kafka's ``KafkaError`` — and the
    exception ferrokafka raises for it (a ``KafkaException``; ``args[0]`` is the error itself).

    ``KafkaError(error, reason=None, fatal=False, retriable=False, txn_requires_abort=False)``:
    ``error`` is the code (an int, e.g. ``KafkaError._MSG_TIMED_OUT``), ``reason`` the message
    (librdkafka's description of the code when None). ``code()``, ``name()`` (librdkafka's symbolic
    name, e.g. ``"_MSG_TIMED_OUT"``), ``str()`` (the reason), ``retriable()``, ``fatal()`` and
    ``txn_requires_abort()`` answer as confluent-kafka's do. An error equals its code
    (``err == KafkaError._ALL_BROKERS_DOWN``) and any error with the same code, compares by code,
    and hashes as its code does.
    """

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

    _code: int
    _reason: builtins.str
    _fatal: bool
    _retriable: bool
    _txn_requires_abort: bool

    def __init__(
        self,
        error: int,
        reason: builtins.str | None = None,
        fatal: bool = False,
        retriable: bool = False,
        txn_requires_abort: bool = False,
    ) -> None:
        code = operator.index(error)  # an int (or IntEnum); a str is a TypeError, as in confluent-kafka
        super().__init__()
        self.args = (self,)
        self._code = code
        self._reason = _error_description(code) if reason is None else builtins.str(reason)
        self._fatal = bool(fatal)
        self._retriable = bool(retriable)
        self._txn_requires_abort = bool(txn_requires_abort)

    def code(self) -> int:
        """The error code, e.g. ``KafkaError._MSG_TIMED_OUT``."""
        return self._code

    def name(self) -> builtins.str:
        """librdkafka's symbolic name of the code, e.g. ``"_MSG_TIMED_OUT"``."""
        return _error_name(self._code)

    def retriable(self) -> bool:
        """Whether the operation that failed may be retried as it is."""
        return self._retriable

    def fatal(self) -> bool:
        """Whether the client can no longer be used (it must be closed and recreated)."""
        return self._fatal

    def txn_requires_abort(self) -> bool:
        """Whether the current transaction must be aborted (``abort_transaction()``)."""
        return self._txn_requires_abort

    def str(self) -> builtins.str:
        """The reason: what failed and why (librdkafka's description of the code by default)."""
        return self._reason

    def __str__(self) -> builtins.str:
        fatal = "FATAL," if self._fatal else ""
        return f'KafkaError{{{fatal}code={self.name()},val={self._code},str="{self._reason}"}}'

    __repr__ = __str__

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self._code, self._reason, self._fatal, self._retriable, self._txn_requires_abort))

    @staticmethod
    def _code_of(other: object) -> int | None:
        if isinstance(other, KafkaError):
            return other._code
        if isinstance(other, int):
            return int(other)
        return None

    def __eq__(self, other: object) -> bool:
        code = self._code_of(other)
        return NotImplemented if code is None else self._code == code

    def __ne__(self, other: object) -> bool:
        code = self._code_of(other)
        return NotImplemented if code is None else self._code != code

    def __lt__(self, other: object) -> bool:
        code = self._code_of(other)
        return NotImplemented if code is None else self._code < code

    def __le__(self, other: object) -> bool:
        code = self._code_of(other)
        return NotImplemented if code is None else self._code <= code

    def __gt__(self, other: object) -> bool:
        code = self._code_of(other)
        return NotImplemented if code is None else self._code > code

    def __ge__(self, other: object) -> bool:
        code = self._code_of(other)
        return NotImplemented if code is None else self._code >= code

    def __hash__(self) -> int:
        return hash(self._code)


class QueueFullError(KafkaError, BufferError):
    """librdkafka's queue of messages to send is full (``KafkaError._QUEUE_FULL``, retriable):
    raised by ``Producer.produce()``. A ``BufferError`` too, as confluent-kafka raises, so
    ``except BufferError: producer.poll(1)`` catches it. Wait for deliveries (``flush()``, or the
    futures) and produce again.

    ``QueueFullError(error=KafkaError._QUEUE_FULL, reason=None, fatal=False, retriable=True,
    txn_requires_abort=False)``
    """

    def __init__(
        self,
        error: int | None = None,
        reason: builtins.str | None = None,
        fatal: bool = False,
        retriable: bool = True,
        txn_requires_abort: bool = False,
    ) -> None:
        if error is None:
            error = int(getattr(KafkaError, "_QUEUE_FULL", -184))
        super().__init__(error, reason, fatal, retriable, txn_requires_abort)


class PartitionEOF(KafkaError):
    """The consumer reached the end of a partition: raised by ``poll()``, ``consume()``,
    ``consume_batch()`` and iteration, once per partition end, only by a consumer configured with
    ``enable.partition.eof=true``. Its code is ``KafkaError._PARTITION_EOF``; ``topic``,
    ``partition`` and ``offset`` (the next offset, where new messages will be) say which. No message
    is lost: the next call goes on consuming.

    ``PartitionEOF(topic="", partition=-1, offset=-1, reason=None)``
    """

    topic: builtins.str
    partition: int
    offset: int

    def __init__(
        self, topic: builtins.str = "", partition: int = -1, offset: int = -1, reason: builtins.str | None = None
    ) -> None:
        code = int(getattr(KafkaError, "_PARTITION_EOF", -191))
        if reason is None:
            reason = f"reached the end of partition {topic} [{partition}] at offset {offset}"
        super().__init__(code, reason)
        self.topic = topic
        self.partition = int(partition)
        self.offset = int(offset)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.topic, self.partition, self.offset, self._reason))


class ConfigError(Error):
    """An invalid or unknown configuration property or value; the message names the key."""


class MessageInvalidatedError(Error):
    """A BorrowedMessage was used after it was released, superseded or its consumer closed.

    ``reason`` is ``"released"``, ``"superseded"`` or ``"consumer_closed"``.
    """

    reason: builtins.str

    def __init__(self, message: builtins.str = "", reason: builtins.str = "released") -> None:
        super().__init__(message)
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (builtins.str(self), self.reason))


class WrongThreadError(Error):
    """A BorrowedMessage was used from a thread other than the one that received it."""


# Public under the package's name (tracebacks, pickles): ``ferrokafka.KafkaError``.
for _cls in (
    Error,
    KafkaException,
    KafkaError,
    QueueFullError,
    PartitionEOF,
    ConfigError,
    MessageInvalidatedError,
    WrongThreadError,
):
    _cls.__module__ = "ferrokafka"
del _cls
