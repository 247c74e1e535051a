"""confluent-kafka's cluster metadata classes (``list_topics()``, ``list_groups()``), filled from
ferrokafka's plain dicts."""

from __future__ import annotations

from typing import Any

import ferrokafka as _fk

from ._errors import KafkaError, KafkaException, reraise


class ClusterMetadata:
    """What ``list_topics()`` returns: ``brokers`` ``{id: BrokerMetadata}``, ``topics``
    ``{name: TopicMetadata}``, ``cluster_id``, ``controller_id`` (-1 when unknown)."""

    def __init__(self) -> None:
        self.cluster_id: str | None = None
        self.controller_id = -1
        self.brokers: dict[int, BrokerMetadata] = {}
        self.topics: dict[str, TopicMetadata] = {}
        self.orig_broker_id = -1
        self.orig_broker_name: str | None = None

    def __repr__(self) -> str:
        return f"ClusterMetadata({self.cluster_id})"

    def __str__(self) -> str:
        return str(self.cluster_id)


class BrokerMetadata:
    """A broker: ``id``, ``host``, ``port``."""

    def __init__(self) -> None:
        self.id = -1
        self.host: str | None = None
        self.port = -1

    def __repr__(self) -> str:
        return f"BrokerMetadata({self.id}, {self.host}:{self.port})"

    def __str__(self) -> str:
        return f"{self.host}:{self.port}/{self.id}"


class TopicMetadata:
    """A topic: ``topic``, ``partitions`` ``{id: PartitionMetadata}``, ``error`` (a KafkaError or None)."""

    def __init__(self) -> None:
        self.topic: str | None = None
        self.partitions: dict[int, PartitionMetadata] = {}
        self.error: KafkaError | None = None

    def __repr__(self) -> str:
        if self.error is not None:
            return f"TopicMetadata({self.topic}, {len(self.partitions)} partitions, {self.error})"
        return f"TopicMetadata({self.topic}, {len(self.partitions)} partitions)"

    def __str__(self) -> str:
        return str(self.topic)


class PartitionMetadata:
    """A partition: ``id``, ``leader`` (-1 without one), ``replicas``, ``isrs``, ``error``."""

    def __init__(self) -> None:
        self.id = -1
        self.leader = -1
        self.replicas: list[int] = []
        self.isrs: list[int] = []
        self.error: KafkaError | None = None

    def __repr__(self) -> str:
        if self.error is not None:
            return f"PartitionMetadata({self.id}, {self.error})"
        return f"PartitionMetadata({self.id})"

    def __str__(self) -> str:
        return f"{self.id}"


class GroupMember:
    """A member of a group in ``list_groups()``."""

    def __init__(self) -> None:
        self.id: str | None = None
        self.client_id: str | None = None
        self.client_host: str | None = None
        self.metadata: bytes | None = None
        self.assignment: bytes | None = None


class GroupMetadata:
    """A group in ``list_groups()``: ``id``, ``state``, ``protocol_type``, ``protocol``, ``members``."""

    def __init__(self) -> None:
        self.broker: BrokerMetadata | None = None
        self.id: str | None = None
        self.error: KafkaError | None = None
        self.state: str | None = None
        self.protocol_type: str | None = None
        self.protocol: str | None = None
        self.members: list[GroupMember] = []

    def __repr__(self) -> str:
        if self.error is not None:
            return f"GroupMetadata({self.id}, {self.error})"
        return f"GroupMetadata({self.id})"

    def __str__(self) -> str:
        return str(self.id)


for _cls in (ClusterMetadata, BrokerMetadata, TopicMetadata, PartitionMetadata, GroupMember, GroupMetadata):
    _cls.__module__ = "ferrokafka.confluent.admin"
del _cls


def from_dict(metadata: Any, cluster_id: str | None) -> ClusterMetadata:
    """A ClusterMetadata for ferrokafka's ``{"brokers": ..., "topics": ...}``."""
    cluster = ClusterMetadata()
    cluster.cluster_id = cluster_id
    for broker_id, address in sorted(metadata["brokers"].items()):
        broker = BrokerMetadata()
        broker.id = broker_id
        host, _, port = str(address).rpartition(":")
        broker.host = host
        broker.port = int(port) if port.isdigit() else -1
        cluster.brokers[broker_id] = broker
    for name, partitions in metadata["topics"].items():
        topic = TopicMetadata()
        topic.topic = name
        error = partitions.get("error") if isinstance(partitions, dict) else None
        for partition_id, info in partitions.items():
            if not isinstance(partition_id, int):
                continue
            partition = PartitionMetadata()
            partition.id = partition_id
            partition.leader = info.get("leader", -1)
            partition.replicas = list(info.get("replicas", []))
            partition.isrs = list(info.get("isrs", []))
            partition.error = None
            topic.partitions[partition_id] = partition
        topic.error = error if isinstance(error, KafkaError) else None
        cluster.topics[name] = topic
    return cluster


def cluster_metadata(client: Any, topic: str | None, timeout: float | None) -> ClusterMetadata:
    """``list_topics()`` of a ferrokafka client, as confluent-kafka's ClusterMetadata. A topic
    the cluster does not have is listed with the error ``UNKNOWN_TOPIC_OR_PART``."""
    if topic is not None and not isinstance(topic, str):
        raise TypeError(f"topic must be str, not {type(topic).__name__}")
    try:
        metadata = client.list_topics(topic, timeout)
    except _fk.KafkaError as error:
        reraise(error)
    try:
        cluster_id = client.cluster_id(0)
    except _fk.Error:
        cluster_id = None
    cluster = from_dict(metadata, cluster_id)
    if topic is not None and topic not in cluster.topics:
        missing = TopicMetadata()
        missing.topic = topic
        missing.error = KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART)
        cluster.topics[topic] = missing
    return cluster


__all__ = [
    "BrokerMetadata",
    "ClusterMetadata",
    "GroupMember",
    "GroupMetadata",
    "KafkaException",
    "PartitionMetadata",
    "TopicMetadata",
]
