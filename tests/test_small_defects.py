"""Regression tests for the smaller defects that have no natural home elsewhere (the
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


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda p: p.produce("t", b"v", headers=[(b"a\0b", b"x")]), r"header key b'a\x00b' contains a NUL byte"),
        (lambda p: p.produce("t", b"v", headers={"a\0b": b"x"}), r"header key 'a\x00b' contains a NUL byte"),
        (
            lambda p: p.produce_batch("t", [b"ok", (None, b"v", [(b"a\0b", b"x")])]),
            r"messages[1]: header key b'a\x00b' contains a NUL byte",
        ),
        (
            lambda p: p.produce_batch("t", [{"value": b"v", "bogus": 1}]),
            "messages[0]: a message dict has keys 'key', 'value', 'headers', 'timestamp', 'partition', not 'bogus'",
        ),
        (
            lambda p: p.produce_batch("t", [{"value": b"v", 7: 1}]),
            "messages[0]: a message dict has keys 'key', 'value', 'headers', 'timestamp', 'partition', not 7",
        ),
    ],
)
def test_error_messages_show_python_values_not_rust_debug_text(call, expected):
    """What the caller passed is shown as Python shows it (repr), never as Rust's debug text
    (`Some("bogus")`, `[97, 0, 98]`)."""
    with fk.Producer({"bootstrap.servers": "127.0.0.1:1"}) as producer:
        with pytest.raises((ValueError, TypeError)) as raised:
            call(producer)
        producer.purge()
        producer.close(0)
    assert str(raised.value) == expected


def test_a_connection_reset_on_a_plaintext_listener_is_not_called_a_tls_listener():
    """A listener that resets the connection at the first request is not a TLS listener (that one
    closes it): no "probably expects TLS" hint in the logs or errors."""
    import logging
    import socket
    import struct
    import time

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    stop = threading.Event()

    def reset_everyone() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.settimeout(5)
            try:
                conn.recv(4096)  # the ApiVersion request
            except OSError:
                pass
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()  # RST

    records: list[str] = []
    errors: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    logger = logging.getLogger("test-reset-listener")
    logger.addHandler(Collect())
    logger.setLevel(logging.DEBUG)
    thread = threading.Thread(target=reset_everyone, daemon=True)
    thread.start()
    producer = fk.Producer(
        {"bootstrap.servers": f"127.0.0.1:{port}", "logger": logger, "error_cb": lambda e: errors.append(str(e))}
    )
    try:
        deadline = time.monotonic() + 10
        while not any("reset by peer" in text for text in records + errors) and time.monotonic() < deadline:
            producer.poll(0.2)
    finally:
        producer.close(0)
        stop.set()
        thread.join()
        server.close()
    assert any("reset by peer" in text for text in records + errors), (records, errors)
    assert not [text for text in records + errors if "TLS" in text], (records, errors)
