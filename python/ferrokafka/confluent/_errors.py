"""confluent-kafka's error model on ferrokafka's: ``KafkaError`` is a value (an error code with its
reason and flags), not an exception; ``KafkaException`` is the exception that carries one in
``args[0]``. Errors raised by ferrokafka's core (exceptions with the same information) are turned
into these at the drop-in's boundary, by :func:`kafka_error_of` and :func:`reraise`.
"""

from __future__ import annotations

import builtins
import operator
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, NoReturn, TypeVar

import ferrokafka as _fk
from ferrokafka import _native

_T = TypeVar("_T")

# librdkafka's codes by name, from the native module's copy of librdkafka's table.
_CODES: dict[str, int] = {
    name: value
    for name, value in vars(_fk.KafkaError).items()
    if name.lstrip("_").isupper() and type(value) is int and not name.startswith("__")
}
# Codes that librdkafka 2.12 does not know yet but confluent-kafka 2.16 names (Kafka protocol
# error codes, from newer librdkafka releases): the names exist so that code comparing against
# them runs; no error of ours carries them.
_NEWER_CODES = {
    "INVALID_RECORD_STATE": 121,
    "SHARE_SESSION_NOT_FOUND": 122,
    "INVALID_SHARE_SESSION_EPOCH": 123,
    "FENCED_STATE_EPOCH": 124,
    "INVALID_VOTER_KEY": 125,
    "DUPLICATE_VOTER": 126,
    "VOTER_NOT_FOUND": 127,
    "INVALID_REGULAR_EXPRESSION": 128,
    "INCONSISTENT_TOPIC_ID": 103,
    "UNKNOWN_CONTROLLER_ID": 116,
    "INVALID_REGISTRATION": 119,
    "MISMATCHED_ENDPOINT_TYPE": 114,
    "UNSUPPORTED_ENDPOINT_TYPE": 115,
    "TRANSACTION_ABORTABLE": 120,
    "SHARE_SESSION_LIMIT_REACHED": 133,
    "STREAMS_INVALID_TOPOLOGY": 130,
    "STREAMS_INVALID_TOPOLOGY_EPOCH": 131,
    "STREAMS_TOPOLOGY_FENCED": 132,
}
for _code_name, _code in _NEWER_CODES.items():
    _CODES.setdefault(_code_name, _code)
_NAMES: dict[int, str] = {}
for _code_name, _code in sorted(_CODES.items(), key=lambda item: item[0] in _NEWER_CODES):
    _NAMES.setdefault(_code, _code_name)


def _describe(code: int) -> str:
    """librdkafka's description of a code (rd_kafka_err2str)."""
    describe: Callable[[int], str] | None = getattr(_native, "_error_description", None)
    if describe is not None:
        return describe(code)
    return f"Err-{code}?"  # pragma: no cover - a native module without the function


def _name(code: int) -> str:
    name = _NAMES.get(code)
    return name if name is not None else f"ERR_{code}?"


class KafkaError:
    """An error code with its reason and flags: what confluent-kafka's callbacks and messages
    carry, and what ``KafkaException.args[0]`` is.

    ``KafkaError(error, reason=None, fatal=False, retriable=False, txn_requires_abort=False)``;
    without a reason, ``str()`` is librdkafka's description of the code. It compares equal to its
    code (``err == KafkaError._PARTITION_EOF``) and hashes as it.
    """

    __slots__ = ("_code", "_reason", "_fatal", "_retriable", "_txn_requires_abort")

    # The codes, as class attributes (set below from librdkafka's table).
    _FAIL: ClassVar[int]
    _PARTITION_EOF: ClassVar[int]
    _QUEUE_FULL: ClassVar[int]
    _MSG_TIMED_OUT: ClassVar[int]
    _INVALID_ARG: ClassVar[int]
    _TIMED_OUT: ClassVar[int]
    _NO_OFFSET: ClassVar[int]
    _PURGE_QUEUE: ClassVar[int]
    _KEY_SERIALIZATION: ClassVar[int]
    _VALUE_SERIALIZATION: ClassVar[int]
    _KEY_DESERIALIZATION: ClassVar[int]
    _VALUE_DESERIALIZATION: ClassVar[int]
    _NOT_IMPLEMENTED: ClassVar[int]
    _STATE: ClassVar[int]
    _UNKNOWN_PARTITION: ClassVar[int]
    _FATAL: ClassVar[int]
    NO_ERROR: ClassVar[int]
    UNKNOWN_TOPIC_OR_PART: ClassVar[int]
    SASL_AUTHENTICATION_FAILED: ClassVar[int]
    MSG_SIZE_TOO_LARGE: ClassVar[int]

    def __init__(
        self,
        error: int,
        reason: builtins.str | None = None,
        fatal: bool = False,
        retriable: bool = False,
        txn_requires_abort: bool = False,
    ) -> None:
        self._code = operator.index(error)
        if reason is not None and not isinstance(reason, str):
            raise TypeError(f"reason must be a str, not {type(reason).__name__}")
        self._reason = reason
        self._fatal = bool(fatal)
        self._retriable = bool(retriable)
        self._txn_requires_abort = bool(txn_requires_abort)

    def code(self) -> int:
        """The error code (``KafkaError._MSG_TIMED_OUT``, ``KafkaError.UNKNOWN_TOPIC_OR_PART``, ...)."""
        return self._code

    def name(self) -> builtins.str:
        """The code's symbolic name, e.g. ``"_MSG_TIMED_OUT"``."""
        return _name(self._code)

    def str(self) -> builtins.str:
        """The reason: librdkafka's or the broker's message, or the code's description."""
        return self._reason if self._reason is not None else _describe(self._code)

    def fatal(self) -> bool:
        """Whether the client can no longer be used (fatal idempotence/transaction errors)."""
        return self._fatal

    def retriable(self) -> bool:
        """Whether the failed operation may be retried as it was."""
        return self._retriable

    def txn_requires_abort(self) -> bool:
        """Whether the current transaction must be aborted (then a new one may begin)."""
        return self._txn_requires_abort

    def __str__(self) -> builtins.str:
        fatal = "FATAL," if self._fatal else ""
        return f'KafkaError{{{fatal}code={self.name()},val={self._code},str="{self.str()}"}}'

    __repr__ = __str__

    def __bool__(self) -> bool:
        return True

    def __hash__(self) -> int:
        return hash(self._code)

    @staticmethod
    def _other(other: object) -> int:
        if isinstance(other, KafkaError):
            return other._code
        return operator.index(other)  # type: ignore[arg-type]  # TypeError, as confluent-kafka's

    def __eq__(self, other: object) -> bool:
        return self._code == self._other(other)

    def __ne__(self, other: object) -> bool:
        return self._code != self._other(other)

    def __lt__(self, other: object) -> bool:
        return self._code < self._other(other)

    def __le__(self, other: object) -> bool:
        return self._code <= self._other(other)

    def __gt__(self, other: object) -> bool:
        return self._code > self._other(other)

    def __ge__(self, other: object) -> bool:
        return self._code >= self._other(other)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self._code, self._reason, self._fatal, self._retriable, self._txn_requires_abort))


for _name_, _code_ in _CODES.items():
    setattr(KafkaError, _name_, _code_)


class KafkaException(Exception):
    """The exception confluent-kafka's calls raise: ``args[0]`` is a :class:`KafkaError`
    (``except KafkaException as e: e.args[0].code()``)."""


# ferrokafka's own error messages read "<what failed>: <librdkafka's reason> [<NAME>]".
_CONTEXT = re.compile(r"^[a-z][a-z0-9_ /-]*: ")


def _attr(error: BaseException, name: str, default: Any) -> Any:
    # ferrokafka's KafkaError answers both as attributes and, in newer versions, as methods.
    value = getattr(error, name, default)
    return value() if callable(value) else value


def reason_of(error: BaseException) -> str:
    """librdkafka's reason inside one of ferrokafka's error messages."""
    text = str(error)
    name = _attr(error, "name", None)
    if name and text.endswith(f" [{name}]"):
        text = text[: -len(name) - 3]
    stripped = _CONTEXT.sub("", text, count=1) or text
    # "<description>: <librdkafka's reason>": confluent-kafka's str() is the reason alone.
    code = _attr(error, "code", None)
    if isinstance(code, int):
        description = _describe(code) + ": "
        if stripped.startswith(description) and len(stripped) > len(description):
            stripped = stripped[len(description) :]
    return stripped


def kafka_error_of(error: BaseException, *, flags: bool = True) -> KafkaError:
    """The :class:`KafkaError` for one of ferrokafka's exceptions. With ``flags=False`` only
    ``fatal`` is kept: confluent-kafka's delivery reports, message errors and ``error_cb`` errors
    are plain codes, not retriable or abortable."""
    if isinstance(error, _fk.ConfigError):
        return KafkaError(_CODES["_INVALID_ARG"], _config_reason(str(error)))
    code = int(_attr(error, "code", _CODES["_FAIL"]))
    fatal = bool(_attr(error, "fatal", False))
    if not flags:
        return KafkaError(code, reason_of(error), fatal=fatal)
    return KafkaError(
        code,
        reason_of(error),
        fatal=fatal,
        retriable=bool(_attr(error, "retriable", False)),
        txn_requires_abort=bool(_attr(error, "txn_requires_abort", False)),
    )


_CONFIG_DETAIL = re.compile(r'^invalid configuration property "[^"]*"(?: = "[^"]*")?: ', re.DOTALL)


def _config_reason(text: str) -> str:
    return _CONFIG_DETAIL.sub("", text, count=1)


def exception_of(error: BaseException) -> BaseException:
    """What confluent-kafka raises where ferrokafka raised `error`."""
    if isinstance(error, _fk.KafkaError | _fk.ConfigError):
        code = int(_attr(error, "code", 0)) if isinstance(error, _fk.KafkaError) else 0
        if code == _CODES["_QUEUE_FULL"] and not isinstance(error, BufferError):
            return BufferError(reason_of(error))
        if isinstance(error, BufferError):
            return error
        return KafkaException(kafka_error_of(error))
    return error


def reraise(error: BaseException) -> NoReturn:
    """Raises :func:`exception_of` `error`, chained to it."""
    converted = exception_of(error)
    if converted is error:
        raise error
    raise converted from error


@contextmanager
def translated() -> Iterator[None]:
    """Turns ferrokafka's exceptions inside the block into confluent-kafka's."""
    try:
        yield
    except _fk.Error as error:
        reraise(error)


def call(fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """``fn(*args, **kwargs)`` with ferrokafka's exceptions turned into confluent-kafka's."""
    try:
        return fn(*args, **kwargs)
    except _fk.Error as error:
        reraise(error)


class IllegalStateException(RuntimeError):
    """confluent-kafka's share-consumer exception (share consumers need librdkafka ≥ 2.15)."""


class ConcurrentModificationException(RuntimeError):
    """confluent-kafka's share-consumer exception (share consumers need librdkafka ≥ 2.15)."""


for _cls in (KafkaError, KafkaException, IllegalStateException, ConcurrentModificationException):
    _cls.__module__ = "ferrokafka.confluent"
del _cls
