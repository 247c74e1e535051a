"""confluent-kafka's ``NewTopic`` and ``NewPartitions``: what ``create_topics()`` and
``create_partitions()`` take."""

from __future__ import annotations

import operator
from typing import Any


def _str_dict(config: Any) -> dict[str, str] | None:
    if config is None:
        return None
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise TypeError("config must be a dict of strings")
    return {key: str(value) for key, value in config.items()}


def checked_assignment(
    replica_assignment: Any, least: int, most: int, outer_size: str, default_count: bool = False
) -> list[list[int]]:
    """A replica assignment as ``create_topics()``/``create_partitions()`` take it, checked as
    confluent-kafka checks it when the request is made: a list of `least` to `most` non-empty
    lists of broker ids. `default_count`: the topic's partition count is the broker's default,
    which librdkafka does not combine with an assignment."""
    wrong = ValueError(f"replica_assignment must be a list of int lists with an outer size of {outer_size}")
    if not isinstance(replica_assignment, list) or not least <= len(replica_assignment) <= most:
        raise wrong
    checked: list[list[int]] = []
    for replicas in replica_assignment:
        if not isinstance(replicas, list) or not replicas or not all(isinstance(b, int) for b in replicas):
            raise wrong
        if default_count:
            raise ValueError("Specifying a default partition count and a replica assignment are mutually exclusive")
        if not all(-(2**31) <= b < 2**31 for b in replicas):
            raise wrong
        checked.append([int(b) for b in replicas])
    return checked


class _Ordered:
    def _key(self) -> tuple[Any, ...]:
        raise NotImplementedError

    def _other(self, other: object) -> tuple[Any, ...]:
        if not isinstance(other, type(self)):
            raise NotImplementedError
        return other._key()

    def __hash__(self) -> int:
        return hash(self._key()[0])

    def __eq__(self, other: object) -> bool:
        return self._key() == self._other(other)

    def __ne__(self, other: object) -> bool:
        return self._key() != self._other(other)

    def __lt__(self, other: object) -> bool:
        return self._key() < self._other(other)

    def __le__(self, other: object) -> bool:
        return self._key() <= self._other(other)

    def __gt__(self, other: object) -> bool:
        return self._key() > self._other(other)

    def __ge__(self, other: object) -> bool:
        return self._key() >= self._other(other)


class NewTopic(_Ordered):
    """A topic to create: ``NewTopic(topic, num_partitions=-1, replication_factor=-1,
    replica_assignment=None, config=None)``; -1 takes the broker's default."""

    def __init__(
        self,
        topic: str,
        num_partitions: int = -1,
        replication_factor: int = -1,
        replica_assignment: Any = None,
        config: dict[str, str] | None = None,
    ) -> None:
        if not isinstance(topic, str):
            raise TypeError(f"argument 1 must be str, not {type(topic).__name__}")
        self.topic = topic
        self.num_partitions = operator.index(num_partitions)
        self.replication_factor = operator.index(replication_factor)
        self.replica_assignment = replica_assignment  # as given; checked by the request
        self.config = _str_dict(config)

    def _key(self) -> tuple[Any, ...]:
        return (self.topic, self.num_partitions)

    def __str__(self) -> str:
        if self.num_partitions == -1:
            return f"NewTopic(topic={self.topic})"
        return f"NewTopic(topic={self.topic},num_partitions={self.num_partitions})"

    __repr__ = __str__


class NewPartitions(_Ordered):
    """Grows a topic to ``new_total_count`` partitions: ``NewPartitions(topic, new_total_count,
    replica_assignment=None)``."""

    def __init__(self, topic: str, new_total_count: int, replica_assignment: Any = None) -> None:
        if not isinstance(topic, str):
            raise TypeError(f"argument 1 must be str, not {type(topic).__name__}")
        self.topic = topic
        self.new_total_count = operator.index(new_total_count)
        self.replica_assignment = replica_assignment  # as given; checked by the request

    def _key(self) -> tuple[Any, ...]:
        return (self.topic, self.new_total_count)

    def __str__(self) -> str:
        return f"NewPartitions(topic={self.topic},new_total_count={self.new_total_count})"

    __repr__ = __str__


for _cls in (NewTopic, NewPartitions):
    _cls.__module__ = "ferrokafka.confluent.admin"
del _cls
