"""confluent-kafka's ``Message``: what ``poll()``/``consume()`` return and delivery callbacks get.

``poll()`` copies a small message's key and value into ``bytes`` at once, natively, as
confluent-kafka does (cheaper than views at that size; see ``_consumer.py``). A bigger one, and
every message of ``consume()``, is made from ferrokafka's ``BorrowedMessage`` without copying its
key or value: it holds read-only ``memoryview``s of librdkafka's buffer (which stay readable from
any thread, also after the borrowed message is superseded) and copies them into ``bytes`` the first
time ``key()``/``value()`` is called. An application pays for the bytes it reads.

A view pins its whole fetch buffer, so the consumer bounds how long views live: a message still
referenced two ``poll()``/``consume()`` calls after it was handed out, or when the consumer closes,
is *materialized* — its views are copied into ``bytes`` and let go (see ``_consumer.py``).
"""

from __future__ import annotations

import operator
from typing import Any

import ferrokafka as _fk

_KEY = 1
_VALUE = 2

_FIELDS = (
    "_topic",
    "_partition",
    "_offset",
    "_key",
    "_value",
    "_headers",
    "_error",
    "_timestamp",
    "_latency",
    "_leader_epoch",
    "_delivery_count",
    "_lazy",
)


def _not_a_message(obj: object) -> TypeError:
    return TypeError(f"descriptor requires a 'Message' object but received a '{type(obj).__name__}'")


def _timestamp(value: object) -> tuple[int, int]:
    if value is None:
        return (0, 0)
    if not isinstance(value, tuple) or len(value) != 2:
        raise TypeError("timestamp must be a tuple of (int, int)")
    try:
        return (operator.index(value[0]), operator.index(value[1]))
    except TypeError:
        raise TypeError("timestamp must be a tuple of (int, int)") from None


def _delivery_count(value: object) -> int:
    count = operator.index(value)  # type: ignore[arg-type]
    if not -32768 <= count <= 32767:
        raise OverflowError("delivery_count must fit in a signed 16-bit integer")
    return count if count > 0 else -1


class Message:
    """A Kafka message (or an error event, then ``error()`` is set).

    ``Message(topic=None, partition=None, offset=None, key=None, value=None, headers=None,
    error=None, timestamp=None, latency=None, leader_epoch=None, delivery_count=None)`` builds one,
    e.g. for tests. Accessors are methods: ``msg.value()``, ``msg.topic()``; ``timestamp()`` is
    ``(timestamp_type, milliseconds)``; ``len(msg)`` is the value's length.
    """

    __slots__ = _FIELDS

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

    def __new__(cls, *args: Any, **kwargs: Any) -> Message:
        message = object.__new__(cls)
        message._topic = message._key = message._value = message._headers = message._error = None
        message._partition = message._offset = message._leader_epoch = message._delivery_count = 0
        message._timestamp = (0, 0)
        message._latency = 0.0
        message._lazy = 0
        return message

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
    ) -> None:
        if not isinstance(self, Message):
            raise _not_a_message(self)
        part = -1 if partition is None else operator.index(partition)
        off = -1001 if offset is None else operator.index(offset)
        lat = -1.0 if latency is None else float(latency)
        epoch = -1 if leader_epoch is None else operator.index(leader_epoch)
        self._topic = topic
        self._partition = part if part >= 0 else -1
        self._offset = off if off >= 0 else -1001
        self._key = key
        self._value = value
        self._headers = headers
        self._error = error
        self._timestamp = _timestamp(timestamp)
        self._latency = lat if lat >= 0 else -1.0
        self._leader_epoch = epoch if epoch >= 0 else -1
        self._delivery_count = -1 if delivery_count is None else _delivery_count(delivery_count)
        self._lazy = 0

    # --- accessors ---------------------------------------------------------------------------

    def topic(self) -> Any:
        """The topic name (``None`` for some error events)."""
        try:
            return self._topic
        except AttributeError:
            raise _not_a_message(self) from None

    def partition(self) -> int | None:
        """The partition, or ``None`` when unknown."""
        try:
            partition = self._partition
        except AttributeError:
            raise _not_a_message(self) from None
        return None if partition == -1 else partition

    def offset(self) -> int | None:
        """The offset, or ``None`` when unknown."""
        try:
            offset = self._offset
        except AttributeError:
            raise _not_a_message(self) from None
        return None if offset == -1001 else offset

    def key(self) -> Any:
        """The key as ``bytes`` (copied on first call), or ``None``."""
        try:
            key = self._key
        except AttributeError:
            raise _not_a_message(self) from None
        if type(key) is memoryview and self._lazy & _KEY:
            key = self._key = key.tobytes()
        return key

    def value(self) -> Any:
        """The value as ``bytes`` (copied on first call), or ``None`` (a tombstone)."""
        try:
            value = self._value
        except AttributeError:
            raise _not_a_message(self) from None
        if type(value) is memoryview and self._lazy & _VALUE:
            value = self._value = value.tobytes()
        return value

    def deserialized_key(self) -> Any:
        """The key (deserialized by a ``DeserializingConsumer``)."""
        return Message.key(self)

    def deserialized_value(self) -> Any:
        """The value (deserialized by a ``DeserializingConsumer``)."""
        return Message.value(self)

    def headers(self) -> Any:
        """A list of ``(name, value)`` tuples, or ``None`` without headers."""
        try:
            return self._headers
        except AttributeError:
            raise _not_a_message(self) from None

    def error(self) -> Any:
        """The :class:`KafkaError` of an error event, or ``None`` for a message."""
        try:
            return self._error
        except AttributeError:
            raise _not_a_message(self) from None

    def timestamp(self) -> tuple[int, int]:
        """``(timestamp_type, milliseconds)``: ``TIMESTAMP_NOT_AVAILABLE`` (then ``-1``),
        ``TIMESTAMP_CREATE_TIME`` or ``TIMESTAMP_LOG_APPEND_TIME``."""
        try:
            return self._timestamp
        except AttributeError:
            raise _not_a_message(self) from None

    def latency(self) -> float | None:
        """For a delivery report: seconds from ``produce()`` to the report; else ``None``."""
        try:
            latency = self._latency
        except AttributeError:
            raise _not_a_message(self) from None
        return None if latency == -1.0 else latency

    def leader_epoch(self) -> int | None:
        """The partition leader's epoch when the message was fetched, or ``None``."""
        try:
            epoch = self._leader_epoch
        except AttributeError:
            raise _not_a_message(self) from None
        return None if epoch == -1 else epoch

    def delivery_count(self) -> int | None:
        """How often a share group delivered the message (share consumers only), or ``None``."""
        try:
            count = self._delivery_count
        except AttributeError:
            raise _not_a_message(self) from None
        return None if count <= 0 else count

    # --- setters -----------------------------------------------------------------------------

    def set_topic(self, topic: Any) -> None:
        if not isinstance(self, Message):
            raise _not_a_message(self)
        self._topic = topic

    def set_key(self, key: Any) -> None:
        if not isinstance(self, Message):
            raise _not_a_message(self)
        self._lazy &= ~_KEY
        self._key = key

    def set_value(self, value: Any) -> None:
        if not isinstance(self, Message):
            raise _not_a_message(self)
        self._lazy &= ~_VALUE
        self._value = value

    def set_headers(self, headers: Any) -> None:
        if not isinstance(self, Message):
            raise _not_a_message(self)
        self._headers = headers

    def set_error(self, error: Any) -> None:
        if not isinstance(self, Message):
            raise _not_a_message(self)
        self._error = error

    # --- protocol ----------------------------------------------------------------------------

    def __len__(self) -> int:
        value = self._value
        return 0 if value is None else len(value)

    def _fields(self) -> tuple[Any, ...]:
        return (
            self._topic,
            self._partition,
            self._offset,
            Message.key(self),
            Message.value(self),
            self._headers,
            self._error,
            self._timestamp,
            self._latency,
            self._leader_epoch,
            self._delivery_count,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return self._fields() == other._fields()

    def __ne__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return self._fields() != other._fields()

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (Message, self._fields())

    def _materialize(self) -> None:
        """Copies the views still held into ``bytes`` and lets them go (their fetch buffer with them)."""
        if self._lazy:
            Message.key(self)
            Message.value(self)
            self._lazy = 0


Message.__module__ = "ferrokafka.confluent"

_new = object.__new__


def from_borrowed(message: _fk.BorrowedMessage) -> Message:
    """A Message for a borrowed one, on its thread, while it is valid: views, not copies."""
    m: Message = _new(Message)
    m._topic = message.topic
    m._partition = message.partition
    m._offset = message.offset
    timestamp = message.timestamp
    m._timestamp = (0, -1) if timestamp is None else (int(message.timestamp_type), timestamp)
    epoch = message.leader_epoch
    m._leader_epoch = -1 if epoch is None else epoch
    key = m._key = message.key
    value = m._value = message.payload
    m._lazy = (0 if key is None else _KEY) | (0 if value is None else _VALUE)
    headers = message.headers
    m._headers = headers if headers else None
    m._error = None
    m._latency = -1.0
    m._delivery_count = -1
    return m


def error_message(
    error: Any, topic: str | None = None, partition: int | None = None, offset: int | None = None
) -> Message:
    """An error event as confluent-kafka's consumer returns it."""
    # confluent-kafka's error events carry the reason as their value too.
    reason = error.str() if hasattr(error, "str") else str(error)
    return Message(topic, partition, offset, value=reason.encode(), error=error, timestamp=(0, -1))
