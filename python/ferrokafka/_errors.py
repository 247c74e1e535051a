"""ferrokafka's exceptions, defined here in Python and raised by the Rust core with their arguments
(as pyca/cryptography does), so that every attribute exists on every instance, also on those that
tests and mocks construct themselves.

``KafkaError``'s code constants (``KafkaError.UNKNOWN_TOPIC_OR_PART``, ``KafkaError._MSG_TIMED_OUT``,
...) are added by the native module from librdkafka's own table when it is imported.
"""

from __future__ import annotations

from typing import Any


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
        super().__init__(message)
        self.code = int(code) if code is not None else int(getattr(type(self), "_FAIL", -196))
        self.name = name if name is not None else _name_of(type(self), self.code)
        self.retriable = bool(retriable)
        self.fatal = bool(fatal)
        self.txn_requires_abort = bool(txn_requires_abort)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), str(self), self.code, self.name, self.retriable, self.fatal,
                           self.txn_requires_abort))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, KafkaError):
            return NotImplemented
        return (type(self), self.code, str(self)) == (type(other), other.code, str(other))

    def __hash__(self) -> int:
        return hash((type(self), self.code, str(self)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r}, code={self.code}, name={self.name!r})"


def _rebuild(cls: type[KafkaError], message: str, code: int, name: str, retriable: bool, fatal: bool,
             txn_requires_abort: bool) -> KafkaError:
    return cls(message, code, name=name, retriable=retriable, fatal=fatal, txn_requires_abort=txn_requires_abort)


def _name_of(cls: type, code: int) -> str:
    for attr in dir(cls):
        if attr.lstrip("_").isupper() and getattr(cls, attr, None) == code and type(getattr(cls, attr)) is int:
            return attr
    return f"ERR_{code}"


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
for _cls in (Error, KafkaError, ConfigError, MessageInvalidatedError, WrongThreadError):
    _cls.__module__ = "ferrokafka"
del _cls
