"""The consumer API: round trips, rebalance callbacks, commits, offsets, metadata, callbacks.

Tests take `backend` where the mock cluster and the real broker both implement what they check,
and `kafka_bootstrap` (marked `broker`) where only a real broker does (cooperative rebalancing,
offsets for times, statistics of real connections).
"""

from __future__ import annotations

import gc
import json
import logging
import threading
import time

import pytest

import ferrokafka as fk
from conftest import consumer_config, produce_n


def wait_for_assignment(consumer: fk.Consumer, timeout: float = 20) -> list[fk.TopicPartition]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = consumer.poll(0.2)
        if msg is not None:
            msg.release()
        if consumer.assignment():
            return consumer.assignment()
    raise AssertionError("no partitions were assigned")


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    with fk.AdminClient({"bootstrap.servers": bootstrap}) as admin:
        admin.create_topics([fk.NewTopic(topic, partitions, 1)]).result(30)


def test_rebalance_callbacks_fire_in_order_and_may_commit(backend, topic_name, group_id):
    backend.create_topic(topic_name, 2)
    produce_n(backend.bootstrap, topic_name, 10)
    events: list[tuple[str, list[int]]] = []
    config = consumer_config(backend.bootstrap, group_id, **{"enable.auto.commit": False})

    def on_assign(consumer: fk.Consumer, partitions: list[fk.TopicPartition]) -> None:
        assert isinstance(consumer, fk.Consumer)
        events.append(("assign", sorted(p.partition for p in partitions)))

    def on_revoke(consumer: fk.Consumer, partitions: list[fk.TopicPartition]) -> None:
        events.append(("revoke", sorted(p.partition for p in partitions)))
        consumer.commit(asynchronous=False)  # committing what was processed, before the partitions go

    consumer = fk.Consumer(config)
    consumer.subscribe([topic_name], on_assign=on_assign, on_revoke=on_revoke)
    got = 0
    while got < 10:
        got += len(consumer.consume(10, timeout=10))
    consumer.close()
    assert events == [("assign", [0, 1]), ("revoke", [0, 1])]
    with fk.Consumer(config) as check:
        committed = check.committed([fk.TopicPartition(topic_name, 0), fk.TopicPartition(topic_name, 1)], timeout=10)
    assert sum(tp.offset for tp in committed) == 10


def test_exception_in_rebalance_callback_propagates_from_poll(backend, topic_name, group_id):
    produce_n(backend.bootstrap, topic_name, 1)

    def on_assign(consumer, partitions):
        raise RuntimeError("boom in on_assign")

    with fk.Consumer(consumer_config(backend.bootstrap, group_id)) as consumer:
        consumer.subscribe([topic_name], on_assign=on_assign)
        with pytest.raises(RuntimeError, match="boom in on_assign"):
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                consumer.poll(0.5)


@pytest.mark.broker
def test_cooperative_sticky_assigns_incrementally(kafka_bootstrap, topic_name, group_id):
    create_topic(kafka_bootstrap, topic_name, 4)
    config = consumer_config(kafka_bootstrap, group_id, **{"partition.assignment.strategy": "cooperative-sticky"})
    first_events: list[tuple[str, list[int]]] = []
    first = fk.Consumer(config)
    first.subscribe(
        [topic_name],
        on_assign=lambda c, p: first_events.append(("assign", sorted(x.partition for x in p))),
        on_revoke=lambda c, p: first_events.append(("revoke", sorted(x.partition for x in p))),
    )
    assert sorted(tp.partition for tp in wait_for_assignment(first)) == [0, 1, 2, 3]
    second = fk.Consumer(config)
    second.subscribe([topic_name])
    stop = threading.Event()

    def keep_second_polling() -> None:
        while not stop.is_set():
            m = second.poll(0.1)
            if m is not None:
                m.release()

    thread = threading.Thread(target=keep_second_polling)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(first.assignment()) != 2:
            m = first.poll(0.1)
            if m is not None:
                m.release()
        assert len(first.assignment()) == 2
        # Cooperative: only the two partitions that moved were revoked; the others were never taken away.
        revoked = [p for kind, ps in first_events if kind == "revoke" for p in ps]
        assert len(revoked) == 2 and first_events[0] == ("assign", [0, 1, 2, 3])
    finally:
        stop.set()
        thread.join()
        second.close()
        first.close()


@pytest.mark.broker
def test_offsets_positions_seek_pause_and_metadata(kafka_bootstrap, topic_name, group_id):
    create_topic(kafka_bootstrap, topic_name, 1)
    # Recent timestamps: the test broker's retention would delete records stamped long ago.
    base = int(time.time() * 1000) - 3_600_000
    with fk.Producer({"bootstrap.servers": kafka_bootstrap}) as producer:
        for i in range(10):
            producer.produce(topic_name, b"%d" % i, timestamp=base + i * 1000)
        assert producer.flush(30) == 0
    tp0 = fk.TopicPartition(topic_name, 0)
    config = consumer_config(
        kafka_bootstrap, group_id, **{"enable.auto.commit": False, "enable.auto.offset.store": False}
    )
    with fk.Consumer(config) as consumer:
        consumer.assign([fk.TopicPartition(topic_name, 0, fk.OFFSET_BEGINNING)])
        assert consumer.get_watermark_offsets(tp0, timeout=10) == (0, 10)
        msgs = []
        while len(msgs) < 5:
            msgs += [m.detach() for m in consumer.consume(5 - len(msgs), timeout=10)]
        assert consumer.position() == [fk.TopicPartition(topic_name, 0, 5)]
        consumer.store_offsets(msgs[2])
        consumer.commit(asynchronous=False)  # positions: 5
        assert consumer.committed([tp0], timeout=10)[0].offset == 5
        consumer.commit(offsets=[fk.TopicPartition(topic_name, 0, 3)], asynchronous=False)
        assert consumer.committed(timeout=10)[0].offset == 3
        found = consumer.offsets_for_times([fk.TopicPartition(topic_name, 0, base + 7000)], timeout=10)
        assert found[0].offset == 7
        consumer.seek(fk.TopicPartition(topic_name, 0, 8))
        msg = consumer.poll(10)
        assert msg is not None and msg.offset == 8
        msg.release()
        consumer.pause([tp0])
        assert consumer.poll(0.5) is None  # paused: nothing arrives
        consumer.resume([tp0])
        msg = consumer.poll(10)
        assert msg is not None and msg.offset == 9
        msg.release()
        metadata = consumer.list_topics(topic_name, timeout=10)
        assert list(metadata["topics"][topic_name]) == [0]
        assert metadata["topics"][topic_name][0]["leader"] in metadata["brokers"]
        assert isinstance(consumer.consumer_group_metadata(), fk.ConsumerGroupMetadata)


def test_async_commit_reports_to_on_commit(backend, topic_name, group_id):
    produce_n(backend.bootstrap, topic_name, 3)
    results: list[tuple[object, list[fk.TopicPartition]]] = []
    config = consumer_config(
        backend.bootstrap,
        group_id,
        **{"enable.auto.commit": False, "on_commit": lambda err, offsets: results.append((err, offsets))},
    )
    with fk.Consumer(config) as consumer:
        consumer.subscribe([topic_name])
        msg = consumer.poll(15)
        assert msg is not None
        consumer.commit(msg, asynchronous=True)
        deadline = time.monotonic() + 10
        while not results and time.monotonic() < deadline:
            consumer.poll(0.1)
    assert results, "on_commit was not called"
    error, offsets = results[0]
    assert error is None
    assert [(tp.topic, tp.offset) for tp in offsets] == [(topic_name, offsets[0].offset)] and offsets[0].offset >= 1


@pytest.mark.broker
def test_stats_error_and_log_callbacks(kafka_bootstrap, topic_name, group_id, caplog):
    stats: list[str] = []
    errors: list[fk.KafkaError] = []
    logger = logging.getLogger("ferrokafka.test")
    config = consumer_config(
        kafka_bootstrap,
        group_id,
        **{"statistics.interval.ms": 100, "stats_cb": stats.append, "debug": "consumer", "logger": logger},
    )
    with caplog.at_level(logging.DEBUG, logger="ferrokafka.test"):
        with fk.Consumer(config) as consumer:
            consumer.subscribe([topic_name])
            deadline = time.monotonic() + 5
            while not stats and time.monotonic() < deadline:
                consumer.poll(0.1)
    assert stats and isinstance(stats[0], str), "stats_cb gets librdkafka's JSON text, as in confluent-kafka"
    first = json.loads(stats[0])
    assert first["type"] == "consumer" and "brokers" in first
    assert any("librdkafka" in r.getMessage() for r in caplog.records)
    # A producer pointed at nothing reports a global error to error_cb.
    with fk.Producer(
        {"bootstrap.servers": "127.0.0.1:1", "error_cb": errors.append, "message.timeout.ms": 1000}
    ) as producer:
        producer.produce(topic_name, b"x")
        producer.flush(5)
        deadline = time.monotonic() + 5
        while not errors and time.monotonic() < deadline:
            producer.poll(0.1)
    assert errors and all(isinstance(e, fk.KafkaError) for e in errors)
    assert errors[0].name() in {"_TRANSPORT", "_ALL_BROKERS_DOWN"}


def test_callback_keys_are_checked():
    with pytest.raises(fk.ConfigError, match="on_delivery"):
        fk.Consumer({"group.id": "g", "on_delivery": print})
    with pytest.raises(fk.ConfigError, match="must be callable"):
        fk.Producer({"error_cb": 3})


def test_round_trip_zero_copy_and_commit(backend, topic_name, group_id):
    produce_n(backend.bootstrap, topic_name, 100, headers=[("h", b"v")])
    config = consumer_config(backend.bootstrap, group_id, **{"enable.auto.commit": False})
    with fk.Consumer(config) as consumer:
        consumer.subscribe([topic_name])
        seen = []
        for msg in consumer:
            assert msg.topic == topic_name and msg.headers == [("h", b"v")]
            assert msg.timestamp_type == fk.TimestampType.CREATE_TIME and msg.timestamp
            seen.append((bytes(msg.key), bytes(msg.payload)))
            if len(seen) == 100:
                consumer.commit(msg, asynchronous=False)
                break
        assert sorted(seen) == sorted((b"k%d" % i, b"v%d" % i) for i in range(100))
        msg.release()
        gc.collect()
        assert consumer.live_message_count == 0


@pytest.mark.broker
def test_delivery_reports_carry_real_offsets_and_timestamps(kafka_bootstrap, topic_name):
    # Real broker only: the mock's produce responses carry a fixed timestamp (1234).
    with fk.Producer({"bootstrap.servers": kafka_bootstrap}) as producer:
        reports = [
            producer.produce(topic_name, b"x", partition=0, timestamp=1_600_000_000_000 + i).result(30)
            for i in range(3)
        ]
    assert [r.offset for r in reports] == [0, 1, 2]
    assert [r.timestamp for r in reports] == [1_600_000_000_000 + i for i in range(3)]
