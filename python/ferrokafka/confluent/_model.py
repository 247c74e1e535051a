"""confluent-kafka's small model classes and enums (``confluent_kafka.Node``,
``ConsumerGroupState``, ``TopicCollection``, ...), the share-consumer names (which need librdkafka
≥ 2.15: ferrokafka has 2.12, so they raise) and the partitioner functions."""

from __future__ import annotations

import base64
import operator
import zlib
from collections.abc import Iterable, Iterator
from enum import Enum, IntEnum
from typing import Any, overload

import ferrokafka as _fk

from ._message import Message


class _OrderedEnum(Enum):
    """confluent-kafka's enums compare by value."""

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return bool(self.value < other.value)

    def __le__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return bool(self.value <= other.value)

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return bool(self.value > other.value)

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return bool(self.value >= other.value)


class ConsumerGroupState(_OrderedEnum):
    """A consumer group's state."""

    UNKNOWN = 0
    PREPARING_REBALANCING = 1
    COMPLETING_REBALANCING = 2
    STABLE = 3
    DEAD = 4
    EMPTY = 5


class ConsumerGroupType(_OrderedEnum):
    """A consumer group's protocol: classic, or the consumer protocol of KIP-848."""

    UNKNOWN = 0
    CONSUMER = 1
    CLASSIC = 2


class IsolationLevel(_OrderedEnum):
    """What ``list_offsets`` sees of transactions."""

    READ_UNCOMMITTED = 0
    READ_COMMITTED = 1


class ElectionType(_OrderedEnum):
    """The kind of leader election of ``elect_leaders``."""

    PREFERRED = 0
    UNCLEAN = 1


class AcknowledgeType(IntEnum):
    """How a share consumer acknowledges a record (share consumers need librdkafka ≥ 2.15)."""

    ACCEPT = 1
    RELEASE = 2
    REJECT = 3


class Node:
    """A broker: ``id``, ``id_string``, ``host``, ``port``, ``rack``."""

    def __init__(self, id: int, host: str, port: int, rack: str | None = None) -> None:  # noqa: A002
        self.id = id
        self.id_string = str(id)
        self.host = host
        self.port = port
        self.rack = rack

    def __str__(self) -> str:
        rack = f" (Rack - {self.rack})" if self.rack else ""
        return f"({self.id}) {self.host}:{self.port}{rack}"


class ConsumerGroupTopicPartitions:
    """A group id and (optionally) partitions: the argument of the group offset admin calls."""

    def __init__(self, group_id: str, topic_partitions: list[Any] | None = None) -> None:
        self.group_id = group_id
        self.topic_partitions = topic_partitions

    def __hash__(self) -> int:
        return hash(self.group_id)

    def __str__(self) -> str:
        return self.group_id


class TopicCollection:
    """Topic names, for ``describe_topics``."""

    def __init__(self, topic_names: list[str]) -> None:
        self.topic_names = topic_names


class TopicPartitionInfo:
    """A partition of a described topic: ``id``, ``leader``, ``replicas``, ``isr``."""

    def __init__(self, id: int, leader: Node | None, replicas: list[Node], isr: list[Node]) -> None:  # noqa: A002
        self.id = id
        self.leader = leader
        self.replicas = replicas
        self.isr = isr


class Uuid:
    """A 128-bit id (a topic's): ``Uuid(most_significant_bits, least_significant_bits)``; ``str()``
    is Kafka's base64 form."""

    __slots__ = ("_msb", "_lsb")

    def __init__(self, most_significant_bits: int, least_significant_bits: int) -> None:
        self._msb = operator.index(most_significant_bits)
        self._lsb = operator.index(least_significant_bits)

    def get_most_significant_bits(self) -> int:
        return self._msb

    def get_least_significant_bits(self) -> int:
        return self._lsb

    def _bytes(self) -> bytes:
        return (self._msb & (2**64 - 1)).to_bytes(8, "big") + (self._lsb & (2**64 - 1)).to_bytes(8, "big")

    def __str__(self) -> str:
        return base64.urlsafe_b64encode(self._bytes()).decode().rstrip("=")

    def __repr__(self) -> str:
        return str(self)

    def __int__(self) -> int:
        return int.from_bytes(self._bytes(), "big")

    def __hash__(self) -> int:
        return hash((self._msb, self._lsb))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Uuid):
            return NotImplemented
        return (self._msb, self._lsb) == (other._msb, other._lsb)


class Messages:
    """A share consumer's batch of messages (share consumers need librdkafka ≥ 2.15)."""

    def __init__(self, messages: Iterable[Message] = ()) -> None:
        self._messages = list(messages)

    def records(self) -> list[Message]:
        return list(self._messages)

    def count(self) -> int:
        return len(self._messages)

    def is_empty(self) -> bool:
        return not self._messages

    def __len__(self) -> int:
        return len(self._messages)

    def __iter__(self) -> Iterator[Message]:
        return iter(self._messages)

    @overload
    def __getitem__(self, index: int) -> Message: ...
    @overload
    def __getitem__(self, index: slice) -> Messages: ...
    def __getitem__(self, index: int | slice) -> Message | Messages:
        if isinstance(index, slice):
            return Messages(self._messages[index])
        return self._messages[index]

    @classmethod
    def _from_list(cls, messages: list[Message]) -> Messages:
        batch = cls()
        batch._messages = messages
        return batch

    def __repr__(self) -> str:
        return f"Messages({self._messages!r})"

    def __bool__(self) -> bool:
        return bool(self._messages)


_SHARE = (
    "share consumers (KIP-932) need librdkafka 2.15 or newer; ferrokafka is built with librdkafka "
    f"{_fk.librdkafka_version}"
)


class ShareConsumer:
    """confluent-kafka's share consumer (KIP-932): not available, creating one raises
    ``NotImplementedError`` (it needs librdkafka ≥ 2.15)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(_SHARE)


class DeserializingShareConsumer(ShareConsumer):
    """confluent-kafka's deserializing share consumer: not available (see :class:`ShareConsumer`)."""


# --- partitioners: the hash functions of librdkafka's partitioners ---------------------------


def _check(key: object, partition_count: object) -> tuple[bytes, int]:
    if not isinstance(key, bytes):
        raise TypeError("key must be bytes")
    if isinstance(partition_count, bool) or not isinstance(partition_count, int):
        raise TypeError("partition_count must be int")
    if partition_count <= 0:
        raise ValueError("partition_count must be > 0")
    return key, partition_count


def _murmur2(data: bytes) -> int:
    """The Java client's 32-bit murmur2 (seed 0x9747b28c)."""
    mask = 0xFFFFFFFF
    m = 0x5BD1E995
    length = len(data)
    h = (0x9747B28C ^ length) & mask
    whole = length - length % 4
    for i in range(0, whole, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * m) & mask
        k ^= k >> 24
        k = (k * m) & mask
        h = (h * m) & mask
        h ^= k
    rest = length % 4
    if rest == 3:
        h ^= data[whole + 2] << 16
    if rest >= 2:
        h ^= data[whole + 1] << 8
    if rest >= 1:
        h ^= data[whole]
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return h


def murmur2(key: bytes, partition_count: int) -> int:
    """The partition librdkafka's ``murmur2`` partitioner (the Java client's) picks for `key`."""
    key, count = _check(key, partition_count)
    return (_murmur2(key) & 0x7FFFFFFF) % count


def consistent(key: bytes, partition_count: int) -> int:
    """The partition librdkafka's ``consistent`` partitioner (CRC32) picks for `key`."""
    key, count = _check(key, partition_count)
    return zlib.crc32(key) % count


def fnv1a(key: bytes, partition_count: int) -> int:
    """The partition librdkafka's ``fnv1a`` partitioner picks for `key`."""
    key, count = _check(key, partition_count)
    h = 0x811C9DC5
    for byte in key:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    signed = h - (1 << 32) if h & 0x80000000 else h
    return abs(signed) % count


for _cls in (
    ConsumerGroupState,
    ConsumerGroupType,
    IsolationLevel,
    ElectionType,
    AcknowledgeType,
    Node,
    ConsumerGroupTopicPartitions,
    TopicCollection,
    TopicPartitionInfo,
    Uuid,
    Messages,
    ShareConsumer,
    DeserializingShareConsumer,
):
    _cls.__module__ = "ferrokafka.confluent"
del _cls
