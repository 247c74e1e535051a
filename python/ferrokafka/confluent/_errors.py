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
from typing import Any, NoReturn, TypeVar

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


class KafkaError(_fk.KafkaError):
    """An error code with its reason and flags: what confluent-kafka's callbacks and messages
    carry, and what ``KafkaException.args[0]`` is.

    ``KafkaError(error, reason=None, fatal=False, retriable=False, txn_requires_abort=False)``;
    without a reason, ``str()`` is librdkafka's description of the code. It compares equal to its
    code (``err == KafkaError._PARTITION_EOF``) and hashes as it.

    ferrokafka's own ``KafkaError`` with two of confluent-kafka's details: the names of the codes
    newer than librdkafka 2.12, and a ``TypeError`` when compared with what is not a code. Like
    ferrokafka's it is also an exception (confluent-kafka's is not), a ``KafkaException`` whose
    ``args[0]`` is itself.
    """

    def __init__(
        self,
        error: int,
        reason: builtins.str | None = None,
        fatal: bool = False,
        retriable: bool = False,
        txn_requires_abort: bool = False,
    ) -> None:
        if reason is not None and not isinstance(reason, str):
            raise TypeError(f"reason must be a str, not {type(reason).__name__}")
        super().__init__(error, reason, fatal, retriable, txn_requires_abort)

    def name(self) -> builtins.str:
        """The code's symbolic name, e.g. ``"_MSG_TIMED_OUT"``."""
        return _name(self._code)

    @staticmethod
    def _code_of(other: object) -> int:
        # Every comparison of ferrokafka's KafkaError asks this for the other side's code; where
        # ferrokafka's answers None (NotImplemented), confluent-kafka raises TypeError.
        if isinstance(other, _fk.KafkaError):
            return other.code()
        return operator.index(other)  # type: ignore[arg-type]

    def __hash__(self) -> int:
        return hash(self._code)


for _name_, _code_ in _NEWER_CODES.items():
    if not hasattr(KafkaError, _name_):
        setattr(KafkaError, _name_, _code_)


# The exception confluent-kafka's calls raise (``args[0]`` is a KafkaError): ferrokafka's own, so
# that ``except confluent_kafka.KafkaException`` catches every error ferrokafka raises too.
KafkaException = _fk.KafkaException


# ferrokafka's own error messages read "<what failed>: <librdkafka's reason> [<NAME>]".
_CONTEXT = re.compile(r"^[a-z][a-z0-9_ /-]*: ")


def _attr(error: BaseException, name: str, default: Any) -> Any:
    # What ferrokafka's KafkaError answers (its methods), `default` for its other exceptions.
    if isinstance(error, _fk.KafkaError):
        return getattr(error, name)()
    return default


def text_of(error: BaseException) -> str:
    """The message of one of ferrokafka's exceptions (a KafkaError's ``str()``, its reason: its
    ``str(error)`` is the ``KafkaError{...}`` form)."""
    return error.str() if isinstance(error, _fk.KafkaError) else str(error)


def reason_of(error: BaseException) -> str:
    """librdkafka's reason inside one of ferrokafka's error messages."""
    text = text_of(error)
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
    if isinstance(error, KafkaError):
        return error  # the drop-in's already
    if not isinstance(error, _fk.KafkaError) and isinstance(error, KafkaException):
        # A KafkaException the drop-in raised (ferrokafka's class, so also one of its errors).
        inner = error.args[0] if error.args else None
        if isinstance(inner, _fk.KafkaError):
            return kafka_error_of(inner, flags=flags)
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
        if isinstance(error, BufferError):
            return error  # QueueFullError: a BufferError, as confluent-kafka raises
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


for _cls in (KafkaError, IllegalStateException, ConcurrentModificationException):
    _cls.__module__ = "ferrokafka.confluent"
del _cls
