"""Transactions on a real broker: read_committed isolation and exactly-once consume-transform-produce."""

from __future__ import annotations

import time
import uuid

import pytest

import ferrokafka as fk
from conftest import consumer_config, produce_n

pytestmark = pytest.mark.broker


def read_all(bootstrap: str, topic: str, isolation: str, expect_at_least: int, settle: float = 2.0) -> list[bytes]:
    config = consumer_config(bootstrap, f"read-{uuid.uuid4().hex[:8]}", **{"isolation.level": isolation})
    values: list[bytes] = []
    with fk.Consumer(config) as consumer:
        consumer.subscribe([topic])
        deadline = time.monotonic() + 30
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            batch = consumer.consume(500, timeout=0.3)
            if batch:
                values += [bytes(m.payload) for m in batch]
                quiet_since = time.monotonic()
            elif len(values) >= expect_at_least and time.monotonic() - quiet_since > settle:
                break
    return values


def transactional_producer(bootstrap: str) -> fk.Producer:
    producer = fk.Producer({"bootstrap.servers": bootstrap, "transactional.id": f"tx-{uuid.uuid4().hex[:8]}"})
    producer.init_transactions(30)
    return producer


def test_read_committed_sees_committed_never_aborted(kafka_bootstrap, topic_name):
    with transactional_producer(kafka_bootstrap) as producer:
        producer.begin_transaction()
        for i in range(5):
            producer.produce(topic_name, b"committed-%d" % i)
        producer.commit_transaction()
        producer.begin_transaction()
        for i in range(5):
            producer.produce(topic_name, b"aborted-%d" % i)
        assert producer.flush(30) == 0
        producer.abort_transaction()
        producer.begin_transaction()
        producer.produce(topic_name, b"committed-last")
        producer.commit_transaction()
    committed = read_all(kafka_bootstrap, topic_name, "read_committed", 6)
    assert sorted(committed) == sorted([b"committed-%d" % i for i in range(5)] + [b"committed-last"])
    uncommitted = read_all(kafka_bootstrap, topic_name, "read_uncommitted", 11)
    assert len(uncommitted) == 11 and b"aborted-0" in uncommitted


def test_consume_transform_produce_exactly_once(kafka_bootstrap, topic_name, group_id):
    source, sink = topic_name, topic_name + "-out"
    produce_n(kafka_bootstrap, source, 50)
    config = consumer_config(
        kafka_bootstrap, group_id, **{"enable.auto.commit": False, "isolation.level": "read_committed"}
    )

    def run(limit_batches: int | None, abort_last: bool) -> int:
        """Processes batches transactionally; returns how many messages were committed."""
        done = 0
        batches = 0
        with fk.Consumer(config) as consumer, transactional_producer(kafka_bootstrap) as producer:
            consumer.subscribe([source])
            idle_since = time.monotonic()
            while limit_batches is None or batches < limit_batches:
                batch = consumer.consume(10, timeout=0.5)
                if not batch:
                    if time.monotonic() - idle_since > 3:
                        break
                    continue
                idle_since = time.monotonic()
                producer.begin_transaction()
                for msg in batch:
                    producer.produce(sink, bytes(msg.payload).upper(), key=msg.key)
                offsets = consumer.position()
                producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata())
                batches += 1
                if abort_last and batches == limit_batches:
                    producer.abort_transaction()  # as if we crashed: neither output nor offsets count
                    # Rewind to the committed offsets, as a restarted consumer would.
                    for tp in consumer.committed(timeout=10):
                        consumer.seek(
                            fk.TopicPartition(
                                tp.topic, tp.partition, tp.offset if tp.offset >= 0 else fk.OFFSET_BEGINNING
                            )
                        )
                else:
                    producer.commit_transaction()
                    done += len(batch)
        return done

    first = run(limit_batches=2, abort_last=True)
    rest = run(limit_batches=None, abort_last=False)
    assert first + rest == 50
    out = read_all(kafka_bootstrap, sink, "read_committed", 50)
    assert sorted(out) == sorted(b"V%d" % i for i in range(50)), "each input must appear exactly once"


def test_transaction_errors_are_kafka_errors(kafka_bootstrap):
    producer = fk.Producer({"bootstrap.servers": kafka_bootstrap})
    with pytest.raises(fk.KafkaError) as info:
        producer.begin_transaction()  # not a transactional producer
    assert info.value.code() != 0 and isinstance(info.value.txn_requires_abort(), bool)
    producer.close()
