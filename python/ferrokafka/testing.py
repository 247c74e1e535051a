"""ferrokafka's pytest plugin: an embedded Kafka cluster for your own tests.

Installed with ferrokafka (entry point ``pytest11``), so the fixtures are simply there::

    def test_round_trip(kafka_cluster):
        kafka_cluster.create_topic("orders", partitions=3)
        kafka_cluster.produce("orders", [b"a", b"b"])
        assert [m.payload for m in kafka_cluster.read("orders", 2)] == [b"a", b"b"]

``kafka_cluster`` is a fresh librdkafka mock cluster per test (in-process: no Docker, no JVM,
milliseconds to start), closed with every client made through it when the test ends: a suite of
thousands of tests keeps its file descriptors. Faults: ``broker_down()``/``broker_up()`` and
``inject_request_errors()``. What a real broker decides (group coordination details, ACLs, exact
transaction semantics) needs a real broker.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pytest

from ferrokafka._native import (
    OFFSET_BEGINNING,
    Consumer,
    DeliveryReport,
    MockCluster,
    OwnedMessage,
    Producer,
    TopicPartition,
)

__all__ = ["KafkaCluster", "kafka_cluster"]

_groups = itertools.count()

# A message for produce(): a value, or (key, value), or (key, value, headers).
_Message = bytes | str | None | tuple[Any, ...]


class KafkaCluster:
    """An embedded Kafka cluster (librdkafka's mock cluster) with client factories that close what
    they made, helpers to produce and read back, and fault injection."""

    def __init__(self, num_brokers: int = 1) -> None:
        self._mock = MockCluster(num_brokers)
        self._clients: list[Producer | Consumer] = []
        self._partitions: dict[str, int] = {}

    @property
    def bootstrap_servers(self) -> str:
        """The ``bootstrap.servers`` value for clients of this cluster."""
        return self._mock.bootstrap_servers

    @property
    def mock(self) -> MockCluster:
        """The underlying ``ferrokafka.MockCluster``."""
        return self._mock

    def create_topic(self, name: str, partitions: int = 1, replication_factor: int = 1) -> None:
        """Creates a topic. (The mock cluster also auto-creates a topic a client uses, with its own
        partition count: create the topics a test relies on.)"""
        self._mock.create_topic(name, partitions, replication_factor)
        self._partitions[name] = partitions

    def config(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A client config for this cluster: ``bootstrap.servers``, plus ``extra``."""
        return {"bootstrap.servers": self.bootstrap_servers, **(extra or {})}

    def producer(self, config: Mapping[str, Any] | None = None) -> Producer:
        """A ``Producer`` for this cluster (``config`` adds to or overrides the defaults), closed when
        the test ends."""
        producer = Producer(self.config(config))
        self._clients.append(producer)
        return producer

    def consumer(
        self,
        topics: str | Iterable[str] | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> Consumer:
        """A ``Consumer`` for this cluster in a group of its own reading from the beginning, subscribed
        to ``topics`` if given; closed when the test ends."""
        defaults = {"group.id": f"ferrokafka-testing-{next(_groups)}", "auto.offset.reset": "earliest"}
        consumer = Consumer(self.config({**defaults, **(config or {})}))
        self._clients.append(consumer)
        if topics is not None:
            consumer.subscribe([topics] if isinstance(topics, str) else list(topics))
        return consumer

    def produce(
        self,
        topic: str,
        messages: Iterable[_Message],
        *,
        partition: int | None = None,
        timeout: float = 10.0,
    ) -> list[DeliveryReport]:
        """Produces ``messages`` (values, ``(key, value)`` or ``(key, value, headers)`` tuples) and
        waits until each is delivered; returns their reports (raises the first delivery error)."""
        producer = self.producer({"linger.ms": 0})
        futures = []
        for message in messages:
            key: Any = None
            headers: Any = None
            value: Any = message
            if isinstance(message, tuple):
                key, value, *rest = message
                headers = rest[0] if rest else None
            futures.append(producer.produce(topic, value, key, partition=partition, headers=headers))
        return [future.result(timeout) for future in futures]

    def read(self, topic: str, count: int, *, timeout: float = 10.0) -> list[OwnedMessage]:
        """Reads ``count`` messages of ``topic`` from the beginning of every partition (no group
        offsets are used or committed); raises ``TimeoutError`` with what arrived if fewer come."""
        consumer = self.consumer(config={"enable.auto.commit": False})
        partitions = self._partitions.get(topic)
        if partitions is None:
            metadata = consumer.list_topics(topic, timeout=timeout)
            partitions = len(metadata["topics"].get(topic, {})) or 1
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        got: list[OwnedMessage] = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"read {len(got)} of {count} messages of {topic!r} in {timeout} s: {got!r}")
            got.extend(message.detach() for message in consumer.consume(count - len(got), min(left, 0.5)))
        consumer.close()
        return got

    def broker_down(self, broker_id: int = 1) -> None:
        """Takes a broker down: its connections close and new ones are refused."""
        self._mock.broker_down(broker_id)

    def broker_up(self, broker_id: int = 1) -> None:
        self._mock.broker_up(broker_id)

    def inject_request_errors(self, api_key: int, errors: list[int]) -> None:
        """Fails the next requests with Kafka API key ``api_key`` (0 Produce, 1 Fetch, 8 OffsetCommit,
        ...), one per entry of ``errors`` (``KafkaError`` codes)."""
        self._mock.inject_request_errors(api_key, errors)

    def clear_request_errors(self, api_key: int) -> None:
        self._mock.clear_request_errors(api_key)

    def close(self) -> None:
        """Closes every client made through this cluster, then the cluster. Idempotent."""
        clients, self._clients = self._clients, []
        for client in reversed(clients):
            if not client.closed:
                client.close(5.0)
        self._mock.close()

    def __enter__(self) -> KafkaCluster:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<KafkaCluster {self.bootstrap_servers}>"


@pytest.fixture
def kafka_cluster() -> Iterator[KafkaCluster]:
    """A fresh embedded Kafka cluster (one broker) for this test, closed afterwards with every
    client made through it."""
    with KafkaCluster() as cluster:
        yield cluster
