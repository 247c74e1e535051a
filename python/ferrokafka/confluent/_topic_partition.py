"""confluent-kafka's ``TopicPartition``: mutable ``partition`` and ``offset`` (so that a rebalance
callback can set where to start), equal and hashed by topic and partition; and its conversions to
and from ferrokafka's immutable ``TopicPartition``."""

from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import Any

import ferrokafka as _fk

from ._errors import KafkaError, kafka_error_of

OFFSET_INVALID = _fk.OFFSET_INVALID


class TopicPartition:
    """A topic, a partition and an offset (with commit metadata and the leader epoch).

    ``TopicPartition(topic, partition=-1, offset=OFFSET_INVALID, metadata=None, leader_epoch=None)``.
    ``partition`` and ``offset`` may be set; two are equal (and hash alike) when their topic and
    partition are; ``error`` is the partition's error in an answer that had one.
    """

    __slots__ = ("_topic", "partition", "offset", "_metadata", "_leader_epoch", "_error")

    partition: int
    offset: int

    def __init__(
        self,
        topic: str,
        partition: int = -1,
        offset: int = OFFSET_INVALID,
        metadata: str | None = None,
        leader_epoch: int | None = None,
    ) -> None:
        if not isinstance(topic, str):
            raise TypeError(f"argument 1 must be str, not {type(topic).__name__}")
        if metadata is not None and not isinstance(metadata, str):
            raise TypeError(f"metadata must be str, not {type(metadata).__name__}")
        if "\0" in topic or (metadata is not None and "\0" in metadata):
            raise ValueError("embedded null character")  # confluent-kafka's (C strings)
        self._topic = topic
        self.partition = operator.index(partition)
        self.offset = operator.index(offset)
        self._metadata = metadata
        epoch = None if leader_epoch is None else operator.index(leader_epoch)
        self._leader_epoch = epoch if epoch is not None and epoch >= 0 else None
        self._error: KafkaError | None = None

    @property
    def topic(self) -> str:
        return self._topic

    @property
    def metadata(self) -> str | None:
        return self._metadata

    @property
    def leader_epoch(self) -> int | None:
        return self._leader_epoch

    @property
    def error(self) -> KafkaError | None:
        return self._error

    def __str__(self) -> str:
        return (
            f"TopicPartition{{topic={self._topic},partition={self.partition},offset={self.offset},"
            f"leader_epoch={self._leader_epoch},error={self._error}}}"
        )

    __repr__ = __str__

    def __hash__(self) -> int:
        return hash((self._topic, self.partition))

    def _key(self, other: object) -> tuple[str, int]:
        if not isinstance(other, TopicPartition):
            # confluent-kafka's TopicPartition compares only with TopicPartitions.
            raise NotImplementedError
        return (other._topic, other.partition)

    def __eq__(self, other: object) -> bool:
        return (self._topic, self.partition) == self._key(other)

    def __ne__(self, other: object) -> bool:
        return (self._topic, self.partition) != self._key(other)

    def __lt__(self, other: object) -> bool:
        return (self._topic, self.partition) < self._key(other)

    def __le__(self, other: object) -> bool:
        return (self._topic, self.partition) <= self._key(other)

    def __gt__(self, other: object) -> bool:
        return (self._topic, self.partition) > self._key(other)

    def __ge__(self, other: object) -> bool:
        return (self._topic, self.partition) >= self._key(other)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self._topic, self.partition, self.offset, self._metadata, self._leader_epoch, self._error))


TopicPartition.__module__ = "ferrokafka.confluent"


def _rebuild(
    topic: str, partition: int, offset: int, metadata: str | None, leader_epoch: int | None, error: KafkaError | None
) -> TopicPartition:
    tp = TopicPartition(topic, partition, offset, metadata, leader_epoch)
    tp._error = error
    return tp


def to_native(tp: object) -> _fk.TopicPartition:
    """ferrokafka's TopicPartition for one of ours (or one of ferrokafka's, as it is)."""
    if isinstance(tp, TopicPartition):
        if tp._metadata is not None:
            # As confluent-kafka sends it: a C string, its NUL included ('x' is two bytes, '' one),
            # so that metadata either client committed reads back the same in both (and '' as '',
            # where zero bytes read back as None). See docs/migration.md.
            return _fk.TopicPartition._with_c_string_metadata(
                tp._topic, tp.partition, tp.offset, tp._metadata, tp._leader_epoch
            )
        return _fk.TopicPartition(tp._topic, tp.partition, tp.offset, None, tp._leader_epoch)
    if isinstance(tp, _fk.TopicPartition):
        return tp
    raise TypeError(f"expected a TopicPartition, not {type(tp).__name__}")


def list_to_native(partitions: object) -> list[_fk.TopicPartition]:
    if not isinstance(partitions, list | tuple):
        raise TypeError("expected a list of TopicPartition")
    return [to_native(tp) for tp in partitions]


def from_native(tp: _fk.TopicPartition, *, flags: bool = False) -> TopicPartition:
    metadata = tp.metadata
    if metadata is not None:
        # confluent-kafka reads commit metadata as a C string, up to the first NUL; it also
        # commits one after the text, so this is how the metadata it committed reads back
        metadata = metadata.partition("\0")[0]
    ours = TopicPartition(tp.topic, tp.partition, tp.offset, metadata, tp.leader_epoch)
    error = tp.error
    if error is not None:
        ours._error = kafka_error_of(error, flags=flags)
    return ours


def list_from_native(partitions: Iterable[_fk.TopicPartition]) -> list[TopicPartition]:
    return [from_native(tp) for tp in partitions]


def set_error(tp: TopicPartition, error: KafkaError | None) -> None:
    tp._error = error
