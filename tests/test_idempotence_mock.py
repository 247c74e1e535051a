"""Idempotent producer on the mock cluster under injected faults: exactly once, in order."""

from __future__ import annotations

import time

import ferrokafka as fk
from conftest import consumer_config

PRODUCE_API_KEY = 0


def test_idempotent_producer_survives_request_errors_and_broker_outage(topic_name, group_id):
    with fk.MockCluster(num_brokers=3) as cluster:
        cluster.create_topic(topic_name, partitions=2, replication_factor=3)
        bootstrap = cluster.bootstrap_servers
        errors = [
            fk.KafkaError.NOT_LEADER_FOR_PARTITION,
            fk.KafkaError.REQUEST_TIMED_OUT,
            fk.KafkaError.NOT_ENOUGH_REPLICAS,
            fk.KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        ]
        config = {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "linger.ms": 5,
            "message.timeout.ms": 60000,
            "retry.backoff.ms": 50,
        }
        total = 2000
        with fk.Producer(config) as producer:
            futures = []
            for i in range(total):
                if i == 500:
                    cluster.inject_request_errors(PRODUCE_API_KEY, errors * 3)
                if i == 1000:
                    for broker in (1, 2, 3):
                        cluster.broker_down(broker)
                if i == 1200:
                    time.sleep(1.0)
                    for broker in (1, 2, 3):
                        cluster.broker_up(broker)
                futures.append(producer.produce(topic_name, b"%d" % i, key=b"%d" % (i % 2), partition=i % 2))
            assert producer.flush(60) == 0
        reports = [f.result(0) for f in futures]  # raises if any message failed
        for partition in (0, 1):
            offsets = [r.offset for r in reports if r.partition == partition]
            assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)

        seen: dict[int, list[int]] = {0: [], 1: []}
        with fk.Consumer(consumer_config(bootstrap, group_id)) as consumer:
            consumer.subscribe([topic_name])
            deadline = time.monotonic() + 60
            while sum(map(len, seen.values())) < total and time.monotonic() < deadline:
                for msg in consumer.consume(1000, timeout=1):
                    seen[msg.partition].append(int(bytes(msg.payload)))
        for partition in (0, 1):
            expected = list(range(partition, total, 2))
            assert seen[partition] == expected, f"partition {partition}: duplicates, gaps or reordering"
