"""The core behaviour on a real Apache Kafka broker (started by tests/realkafka)."""

from __future__ import annotations

import gc

import pytest

import ferrokafka as fk
from conftest import consumer_config, produce_n

pytestmark = pytest.mark.broker


def test_round_trip_zero_copy_and_commit(kafka_bootstrap, topic_name, group_id):
    produce_n(kafka_bootstrap, topic_name, 100, headers=[("h", b"v")])
    config = consumer_config(kafka_bootstrap, group_id, **{"enable.auto.commit": False})
    with fk.Consumer(config) as consumer:
        consumer.subscribe([topic_name])
        seen = []
        for msg in consumer:
            assert msg.topic == topic_name and msg.headers == [("h", b"v")]
            assert msg.timestamp_type == fk.TimestampType.CREATE_TIME and msg.timestamp
            seen.append((bytes(msg.key), bytes(msg.payload)))
            if len(seen) == 100:
                consumer.commit(msg)
                break
        assert sorted(seen) == sorted((b"k%d" % i, b"v%d" % i) for i in range(100))
        msg.release()
        gc.collect()
        assert consumer.live_message_count == 0


def test_delivery_reports_carry_real_offsets_and_timestamps(kafka_bootstrap, topic_name):
    with fk.Producer({"bootstrap.servers": kafka_bootstrap}) as producer:
        reports = [
            producer.produce(topic_name, b"x", partition=0, timestamp=1_600_000_000_000 + i).result(30)
            for i in range(3)
        ]
    assert [r.offset for r in reports] == [0, 1, 2]
    assert [r.timestamp for r in reports] == [1_600_000_000_000 + i for i in range(3)]
