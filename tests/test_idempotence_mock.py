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


INIT_PRODUCER_ID_API_KEY = 22


def _fatal_error_seen(lib: object, bootstrap: str, topic: str) -> list[object]:
    """How an idempotent producer whose InitProducerId the cluster refuses with an authorization
    error (fatal for librdkafka) reports it: what error_cb hears and what poll() raises."""
    heard: list[object] = []
    producer = lib.Producer(  # type: ignore[attr-defined]
        {"bootstrap.servers": bootstrap, "enable.idempotence": True, "error_cb": heard.append}
    )
    producer.produce(topic, b"x")
    raised = None
    deadline = time.monotonic() + 20
    while not heard and raised is None and time.monotonic() < deadline:
        try:
            producer.poll(0.1)
        except lib.KafkaException as exception:  # type: ignore[attr-defined]
            raised = exception.args[0]
    try:
        producer.purge()  # confluent-kafka's raises the fatal error here too
    except lib.KafkaException:  # type: ignore[attr-defined]
        pass
    if hasattr(producer, "close"):
        producer.close()
    del producer
    return [
        [(error.code(), error.fatal()) for error in heard],  # type: ignore[attr-defined]
        None if raised is None else (raised.code(), raised.fatal()),
    ]


def test_a_fatal_producer_error_is_raised_by_poll_as_confluent_kafka_does(mock_cluster, topic_name):
    """confluent-kafka gives a fatal error not to error_cb but raises it from poll() (its
    underlying code, fatal() true); the drop-in does the same."""
    import pytest

    ck = pytest.importorskip("confluent_kafka")
    from ferrokafka import confluent as fc

    mock_cluster.create_topic(topic_name)
    seen = []
    for lib in (ck, fc):
        mock_cluster.inject_request_errors(INIT_PRODUCER_ID_API_KEY, [fk.KafkaError.CLUSTER_AUTHORIZATION_FAILED])
        seen.append(_fatal_error_seen(lib, mock_cluster.bootstrap_servers, topic_name))
        mock_cluster.clear_request_errors(INIT_PRODUCER_ID_API_KEY)
    assert seen[0] == [[], (ck.KafkaError.CLUSTER_AUTHORIZATION_FAILED, True)]
    assert seen[1] == seen[0]
