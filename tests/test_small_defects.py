"""Regression tests for the smaller defects of issue 8 that have no natural home elsewhere (the
consumer calls that keep librdkafka's error codes are rows of the bad-input table)."""

from __future__ import annotations

import gc
import sys
import threading
from typing import Any

import pytest

import ferrokafka as fk
from conftest import consumer_config, produce_n
from ferrokafka import _delivery


def test_key_export_is_not_switched_by_a_gc_callback_reading_the_payload():
    """CPython's memoryview export allocates (and may collect) between the key getter's request and
    the message's __getbuffer__: a gc callback reading the payload of the same message in between
    must not make `key` hand out the payload."""
    msg = fk.OwnedMessage("t", payload=b"PAYLOAD", key=b"key")
    reads: list[bytes] = []

    def meddle(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            reads.append(bytes(msg.payload))  # type: ignore[arg-type]

    threshold = gc.get_threshold()
    gc.callbacks.append(meddle)
    gc.set_threshold(1)
    try:
        keys = [bytes(msg.key) for _ in range(2_000)]  # type: ignore[arg-type]
    finally:
        gc.set_threshold(*threshold)
        gc.callbacks.remove(meddle)
    assert reads, "the garbage collector ran during the exports"
    assert set(keys) == {b"key"}
    assert set(reads) == {b"PAYLOAD"}


def test_on_delivery_runs_even_if_waking_the_future_fails(mock_cluster, topic_name, monkeypatch):
    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)

    def broken(self: object) -> None:
        raise RuntimeError("waking failed")

    monkeypatch.setattr(_delivery.DeliveryFuture, "_delivered", broken)
    delivered = threading.Event()
    producer = fk.Producer({"bootstrap.servers": mock_cluster.bootstrap_servers, "linger.ms": 50})
    future = producer.produce(topic_name, b"x", on_delivery=lambda error, report: delivered.set())
    future.done()  # watched: the delivery thread will call _delivered
    assert delivered.wait(10), "on_delivery was skipped"
    producer.close(10)
    assert any("waking failed" in str(u.exc_value) for u in unraisable)


def test_pause_reports_per_partition_errors(mock_cluster, topic_name, group_id):
    produce_n(mock_cluster.bootstrap_servers, topic_name, 1)
    with fk.Consumer(consumer_config(mock_cluster.bootstrap_servers, group_id)) as consumer:
        consumer.assign([fk.TopicPartition(topic_name, 0, 0)])
        consumer.pause([fk.TopicPartition(topic_name, 0)])  # assigned: fine
        with pytest.raises(fk.KafkaError) as raised:
            consumer.pause([fk.TopicPartition(topic_name + "-never-seen", 0)])  # unknown partition
        assert raised.value.code() != getattr(fk.KafkaError, "_FAIL"), raised.value
