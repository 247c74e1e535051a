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

The class is native (``src/consumer/dropin.rs``), as confluent-kafka's C type is: its accessors
cost what confluent-kafka's do, and ``poll()``'s fast path builds it without Python code. Its
fields are readable and settable as ``_topic``, ``_partition``, ``_offset``, ``_key``, ``_value``,
``_headers``, ``_error``, ``_timestamp``, ``_latency``, ``_leader_epoch``, ``_delivery_count`` and
``_lazy`` (which of key and value are still views).
"""

from __future__ import annotations

from typing import Any

import ferrokafka as _fk
from ferrokafka._native import Message as Message

_KEY = 1
_VALUE = 2

_new = Message.__new__


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
