"""Data fidelity on a real Apache Kafka broker: compression codecs, big messages, size limits, binary data.

Every check reads the data back with ferrokafka and compares it exactly (bytes, keys, headers, order).
"""

from __future__ import annotations

import hashlib
import os
import time

import pytest

import ferrokafka as fk
from conftest import consumer_config

MiB = 1024 * 1024


def create_topic(bootstrap: str, topic: str, partitions: int = 1, **config: str) -> None:
    with fk.AdminClient({"bootstrap.servers": bootstrap}) as admin:
        admin.create_topics([fk.NewTopic(topic, partitions, 1, config)]).result(30)


def read_back(config: dict[str, object], topic: str, n: int, *, deadline_s: float = 30.0) -> list[fk.OwnedMessage]:
    """Consumes exactly n messages of `topic` with ferrokafka (detached), then checks nothing more arrives."""
    out: list[fk.OwnedMessage] = []
    with fk.Consumer(config) as consumer:
        consumer.subscribe([topic])
        deadline = time.monotonic() + deadline_s
        while len(out) < n and time.monotonic() < deadline:
            batch = consumer.consume(max(n - len(out), 1), timeout=1.0)
            for msg in batch:
                out.append(msg.detach())
                msg.release()
        assert len(out) == n, f"only {len(out)} of {n} messages arrived within {deadline_s} s"
        extra = consumer.poll(0.5)
        assert extra is None, f"unexpected extra message at offset {extra.offset}"
        assert consumer.live_message_count == 0
    return out


# --- (a) compression codecs ---------------------------------------------------------------------

N_SMALL = 200
# One record this big is rejected by a topic whose max.message.bytes is TOPIC_LIMIT unless the producer
# really compressed it (the broker checks the compressed batch): this proves the codec was applied.
BIG_COMPRESSIBLE = b"0123456789abcdef" * (800 * 1024 // 16)  # 800 KiB, highly compressible
TOPIC_LIMIT = "100000"


def _small_messages(codec: str) -> list[tuple[bytes, bytes, list[tuple[str, bytes | None]]]]:
    msgs = []
    for i in range(N_SMALL):
        key = b"key-%05d" % i
        value = (b"compressible value %05d | " % i) * 40  # ~1 KB, repetitive
        headers: list[tuple[str, bytes | None]] = [("idx", b"%d" % i), ("codec", codec.encode()), ("n", None)]
        msgs.append((key, value, headers))
    return msgs


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_compression_round_trip(backend, topic_name, group_id, codec):
    backend.create_topic(topic_name, 1, **{"max.message.bytes": TOPIC_LIMIT})
    sent = _small_messages(codec)
    producer_config = {
        "bootstrap.servers": backend.bootstrap,
        "compression.type": codec,
        "linger.ms": 20,
        "message.max.bytes": 2 * MiB,
    }
    with fk.Producer(producer_config) as producer:
        futures = [producer.produce(topic_name, v, key=k, partition=0, headers=h) for k, v, h in sent]
        big_future = producer.produce(
            topic_name, BIG_COMPRESSIBLE, key=b"big", partition=0, headers=[("codec", codec.encode())]
        )
        assert producer.flush(30) == 0
        reports = [f.result(0) for f in futures]
        big_report = big_future.result(0)  # a KafkaError here means the codec was not applied
    assert [r.offset for r in reports] == list(range(N_SMALL))
    assert big_report.offset == N_SMALL

    got = read_back(consumer_config(backend.bootstrap, group_id), topic_name, N_SMALL + 1)
    assert [m.offset for m in got] == list(range(N_SMALL + 1))
    for (key, value, headers), msg in zip(sent, got):
        assert msg.key is not None and msg.payload is not None
        assert (bytes(msg.key), bytes(msg.payload), msg.headers) == (key, value, headers)
        assert msg.timestamp_type == fk.TimestampType.CREATE_TIME
    big = got[-1]
    assert bytes(big.key) == b"big" and big.headers == [("codec", codec.encode())]
    assert big.payload is not None and big.payload == BIG_COMPRESSIBLE


@pytest.mark.broker
def test_uncompressed_control_is_rejected_by_the_topic_limit(kafka_bootstrap, topic_name):
    """The control for the check above: without compression the same record exceeds the topic limit."""
    create_topic(kafka_bootstrap, topic_name, 1, **{"max.message.bytes": TOPIC_LIMIT})
    with fk.Producer(
        {"bootstrap.servers": kafka_bootstrap, "compression.type": "none", "message.max.bytes": 2 * MiB}
    ) as producer:
        future = producer.produce(topic_name, BIG_COMPRESSIBLE, key=b"big", partition=0)
        with pytest.raises(fk.KafkaError) as info:
            future.result(30)
    assert info.value.name() == "MSG_SIZE_TOO_LARGE", info.value


# --- (b) a 5 MB message -------------------------------------------------------------------------


@pytest.mark.broker
def test_five_megabyte_message_round_trip(kafka_bootstrap, topic_name, group_id):
    payload = os.urandom(5 * MiB)
    digest = hashlib.sha256(payload).digest()
    with fk.Producer({"bootstrap.servers": kafka_bootstrap, "message.max.bytes": 10 * MiB}) as producer:
        future = producer.produce(topic_name, payload, key=b"five-mb", headers=[("sha256", digest)])
        small = producer.produce(topic_name, b"after", key=b"small")
        report = future.result(30)
        small.result(30)
    assert report.offset == 0
    del payload

    config = consumer_config(
        kafka_bootstrap,
        group_id,
        **{
            "fetch.max.bytes": 11 * MiB,
            "max.partition.fetch.bytes": 11 * MiB,
            "receive.message.max.bytes": 12 * MiB,
        },
    )
    with fk.Consumer(config) as consumer:
        consumer.subscribe([topic_name])
        msg = consumer.poll(30)
        assert msg is not None, "the 5 MB message did not arrive"
        view = msg.payload
        assert view is not None and view.readonly and view.nbytes == 5 * MiB
        # hashlib reads the memoryview through the buffer protocol: no copy of the 5 MB.
        assert hashlib.sha256(view).digest() == digest
        assert bytes(msg.key) == b"five-mb" and msg.headers == [("sha256", digest)]
        msg.release()
        # The view taken while the message was valid stays readable after release().
        assert hashlib.sha256(view).digest() == digest
        del view
        nxt = consumer.poll(10)
        assert nxt is not None and bytes(nxt.payload) == b"after" and nxt.offset == 1


# --- (c) over the producer's message.max.bytes --------------------------------------------------


@pytest.mark.broker
def test_message_over_producer_limit_fails_its_future(kafka_bootstrap, topic_name, group_id):
    limit = 1 * MiB
    with fk.Producer({"bootstrap.servers": kafka_bootstrap, "message.max.bytes": limit}) as producer:
        too_big = producer.produce(topic_name, b"x" * (limit + 1), key=b"too-big")
        with pytest.raises(fk.KafkaError) as info:
            too_big.result(10)
        err = info.value
        # librdkafka rejects it locally with RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE (code 10).
        assert err.name() == "MSG_SIZE_TOO_LARGE" and err.code() == 10, (err.name(), err.code(), str(err))
        assert not err.retriable() and not err.fatal()
        assert "MSG_SIZE_TOO_LARGE" in str(err)
        # The producer is still usable and nothing of the rejected message reached the topic.
        ok = producer.produce(topic_name, b"fits", key=b"ok")
        assert producer.flush(30) == 0
        assert ok.result(0).offset == 0
    (only,) = read_back(consumer_config(kafka_bootstrap, group_id), topic_name, 1)
    assert bytes(only.payload) == b"fits"


@pytest.mark.broker
def test_message_over_broker_limit_fails_its_future(kafka_bootstrap, topic_name):
    """Under the producer's limit (20 MB) but over the broker's (12 MB): the broker's rejection arrives."""
    with fk.Producer({"bootstrap.servers": kafka_bootstrap, "message.max.bytes": 20 * MiB}) as producer:
        future = producer.produce(topic_name, os.urandom(13 * MiB), partition=0)
        with pytest.raises(fk.KafkaError) as info:
            future.result(30)
        assert info.value.name() == "MSG_SIZE_TOO_LARGE", info.value
        assert producer.produce(topic_name, b"fits", partition=0).result(30).offset == 0


# --- (d) empty, null and binary data ------------------------------------------------------------

ALL_BYTES = bytes(range(256))
NON_UTF8_KEY = b"\xff\xfe-raw-\x80"

BINARY_CASES: list[dict[str, object]] = [
    # value, key, headers as produced; expected headers as read back
    dict(value=None, key=None, headers=None, expect_headers=[]),
    dict(value=b"", key=b"", headers=[], expect_headers=[]),
    dict(value=b"", key=None, headers=[("empty", b"")], expect_headers=[("empty", b"")]),
    dict(value=None, key=b"", headers=[("null", None)], expect_headers=[("null", None)]),
    dict(
        value=ALL_BYTES,
        key=ALL_BYTES[::-1],
        headers=[
            ("all", ALL_BYTES),
            ("null", None),
            ("dup", b"1"),
            ("empty", b""),
            ("dup", b"2"),
            ("dup", None),
            (NON_UTF8_KEY, ALL_BYTES[:3]),
            ("unicod\u00e9-\u2713", "v\u00e4lue"),
            ("", b"empty name"),
        ],
        expect_headers=[
            ("all", ALL_BYTES),
            ("null", None),
            ("dup", b"1"),
            ("empty", b""),
            ("dup", b"2"),
            ("dup", None),
            (NON_UTF8_KEY.decode("utf-8", "surrogateescape"), b"\x00\x01\x02"),
            ("unicod\u00e9-\u2713", "v\u00e4lue".encode()),
            ("", b"empty name"),
        ],
    ),
    dict(value=b"\x00" * 1000, key=b"\x00", headers=[("zero", b"\x00")], expect_headers=[("zero", b"\x00")]),
    dict(
        value=bytearray(ALL_BYTES),
        key=memoryview(ALL_BYTES)[128:],
        headers={"map": ALL_BYTES[:128]},
        expect_headers=[("map", ALL_BYTES[:128])],
    ),
]


def _as_bytes(value: object) -> bytes | None:
    return None if value is None else bytes(value)  # type: ignore[call-overload]


def test_empty_null_and_binary_round_trip(backend, topic_name, group_id):
    with fk.Producer({"bootstrap.servers": backend.bootstrap}) as producer:
        futures = [
            producer.produce(topic_name, c["value"], key=c["key"], partition=0, headers=c["headers"])
            for c in BINARY_CASES
        ]
        assert producer.flush(30) == 0
        assert [f.result(0).offset for f in futures] == list(range(len(BINARY_CASES)))

    got = read_back(consumer_config(backend.bootstrap, group_id), topic_name, len(BINARY_CASES))
    for case, msg in zip(BINARY_CASES, got):
        where = f"offset {msg.offset}"
        assert _as_bytes(msg.payload) == _as_bytes(case["value"]), where
        assert _as_bytes(msg.key) == _as_bytes(case["key"]), where
        # None stays None, b"" stays an empty view: the two are distinguishable.
        assert (msg.payload is None) == (case["value"] is None), where
        assert (msg.key is None) == (case["key"] is None), where
        assert msg.headers == case["expect_headers"], where

    headers = got[4].headers
    raw_key = headers[6][0]
    assert isinstance(raw_key, str)
    assert raw_key.encode("utf-8", "surrogateescape") == NON_UTF8_KEY
    # The surrogateescape'd key can be produced again as a str or as bytes and stays the same key.
    with fk.Producer({"bootstrap.servers": backend.bootstrap}) as producer:
        producer.produce(topic_name, b"again", partition=0, headers=headers).result(30)
    again = read_back(consumer_config(backend.bootstrap, group_id + "-again"), topic_name, len(BINARY_CASES) + 1)[-1]
    assert again.headers == headers


def test_a_years_old_create_time_stays_readable(kafka_bootstrap, topic_name):
    """Replays produce old CreateTimes, and so do these tests (a fixed 2023 timestamp). A broker with a
    time retention would delete them at its next retention check, whenever that falls; the harness's
    broker keeps them (log.retention.ms=-1), so no test depends on when that check runs."""
    create_topic(kafka_bootstrap, topic_name)
    with fk.AdminClient({"bootstrap.servers": kafka_bootstrap}) as admin:
        broker_id = str(next(iter(admin.list_topics(timeout=10)["brokers"])))
        assert admin.describe_configs("broker", broker_id).result(30)["log.retention.ms"] == "-1"
    old = 1_700_000_000_000
    with fk.Producer({"bootstrap.servers": kafka_bootstrap}) as producer:
        producer.produce(topic_name, b"replayed", timestamp=old)
        assert producer.flush(30) == 0
    (msg,) = read_back(consumer_config(kafka_bootstrap, f"g-{topic_name}"), topic_name, 1)
    assert (bytes(msg.payload or b""), msg.timestamp, msg.timestamp_type) == (
        b"replayed",
        old,
        fk.TimestampType.CREATE_TIME,
    )
