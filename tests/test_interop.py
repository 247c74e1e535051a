"""Interoperability with real peers, both directions: confluent-kafka (Python) and kcat (the CLI).

Each test writes with one client and reads with another, then compares key, value, headers, partition,
offset, timestamp and timestamp type exactly.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import time

import pytest

import ferrokafka as fk
from conftest import consumer_config

pytestmark = pytest.mark.broker

ck = pytest.importorskip("confluent_kafka")

ALL_BYTES = bytes(range(256))
# Explicit timestamps one hour in the past: distinct from the producers' clocks, yet inside the test
# broker's retention (log.retention.hours=24, checked 1 s after start, then every minute). Records
# stamped in 2020 are deleted by time retention while a test runs (partitions whose records are all
# that old had their log start offset moved to the end), and Kafka rejects timestamps more than one
# hour in the future (log.message.timestamp.after.max.ms).
BASE_TS = (int(time.time()) - 3600) * 1000

Headers = list[tuple[str, bytes | None]]


def create_topic(bootstrap: str, topic: str, partitions: int, **config: str) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(topic, partitions, 1, config=config)], operation_timeout=20)
    for future in futures.values():
        future.result(30)


def sample_messages(n: int = 30, partitions: int = 3) -> list[dict[str, object]]:
    """Keys, values and headers of every shape (binary, empty, null, repeated header keys)."""
    keys = [lambda i: b"k%d" % i, lambda i: None, lambda i: b"", lambda i: bytes([i, 0, 255, 10])]
    values = [
        lambda i: b"value-%d" % i,
        lambda i: ALL_BYTES,
        lambda i: b"",
        lambda i: None,
        lambda i: f"text-{i}-\u00e9\u2713\U0001f600".encode(),
    ]
    headers: list[Headers] = [
        [("h", b"1")],
        [],
        [("dup", b"a"), ("dup", b"b"), ("null", None), ("empty", b""), ("dup", None)],
        [("bin", ALL_BYTES), ("unicod\u00e9", "\u2713".encode())],
    ]
    out = []
    for i in range(n):
        out.append(
            dict(
                key=keys[i % len(keys)](i),
                value=values[i % len(values)](i),
                headers=headers[i % len(headers)],
                timestamp=None if i % 6 == 0 else BASE_TS + i * 1000,  # some take the producer's clock
                partition=i % partitions,
            )
        )
    return out


def ferro_read(bootstrap: str, topic: str, group: str, n: int, deadline_s: float = 30.0) -> list[fk.OwnedMessage]:
    out: list[fk.OwnedMessage] = []
    with fk.Consumer(consumer_config(bootstrap, group)) as consumer:
        consumer.subscribe([topic])
        deadline = time.monotonic() + deadline_s
        while len(out) < n and time.monotonic() < deadline:
            for msg in consumer.consume(n - len(out), timeout=1.0):
                out.append(msg.detach())
                msg.release()
        assert len(out) == n, f"ferrokafka read {len(out)} of {n} messages"
        assert consumer.poll(0.5) is None
    return sorted(out, key=lambda m: (m.partition, m.offset))


def confluent_read(bootstrap: str, topic: str, group: str, n: int, deadline_s: float = 30.0) -> list:
    consumer = ck.Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    out = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + deadline_s
        while len(out) < n and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            out.append(msg)
        assert len(out) == n, f"confluent-kafka read {len(out)} of {n} messages"
        assert consumer.poll(0.5) is None
    finally:
        consumer.close()
    return sorted(out, key=lambda m: (m.partition(), m.offset()))


def _b(view: object) -> bytes | None:
    return None if view is None else bytes(view)  # type: ignore[call-overload]


# --- (a) ferrokafka -> confluent-kafka ----------------------------------------------------------


@pytest.mark.parametrize("ts_type", ["CreateTime", "LogAppendTime"])
def test_ferrokafka_to_confluent_kafka(kafka_bootstrap, topic_name, group_id, ts_type):
    create_topic(kafka_bootstrap, topic_name, 3, **{"message.timestamp.type": ts_type})
    sent = sample_messages()
    with fk.Producer({"bootstrap.servers": kafka_bootstrap, "linger.ms": 5}) as producer:
        futures = [
            producer.produce(
                topic_name,
                m["value"],
                key=m["key"],
                partition=m["partition"],
                timestamp=m["timestamp"],
                headers=m["headers"],
            )
            for m in sent
        ]
        assert producer.flush(30) == 0
        reports = [f.result(0) for f in futures]
    expected = {(r.partition, r.offset): (m, r) for m, r in zip(sent, reports)}
    assert len(expected) == len(sent)

    got = confluent_read(kafka_bootstrap, topic_name, group_id, len(sent))
    assert [(m.partition(), m.offset()) for m in got] == sorted(expected)
    for msg in got:
        m, report = expected[(msg.partition(), msg.offset())]
        where = f"p{msg.partition()}@{msg.offset()}"
        assert msg.topic() == topic_name
        assert msg.key() == m["key"], where
        assert msg.value() == m["value"], where
        assert (msg.headers() or []) == m["headers"], where
        if ts_type == "CreateTime":
            want_ts = m["timestamp"] if m["timestamp"] is not None else report.timestamp
            assert msg.timestamp() == (ck.TIMESTAMP_CREATE_TIME, want_ts), where
            assert report.timestamp == want_ts, where
        else:
            # The broker stamps the batch; ferrokafka's delivery report carries the broker's time.
            assert msg.timestamp() == (ck.TIMESTAMP_LOG_APPEND_TIME, report.timestamp), where
            assert report.timestamp != m["timestamp"], where


# --- (b) confluent-kafka -> ferrokafka ----------------------------------------------------------


@pytest.mark.parametrize("ts_type,codec", [("CreateTime", "none"), ("LogAppendTime", "zstd")])
def test_confluent_kafka_to_ferrokafka(kafka_bootstrap, topic_name, group_id, ts_type, codec):
    create_topic(kafka_bootstrap, topic_name, 3, **{"message.timestamp.type": ts_type})
    sent = sample_messages()
    reports: dict[int, tuple[int, int, tuple[int, int]]] = {}
    errors: list[object] = []

    def on_delivery(index):  # type: ignore[no-untyped-def]
        def callback(err, msg):  # type: ignore[no-untyped-def]
            if err is not None:
                errors.append(err)
            else:
                reports[index] = (msg.partition(), msg.offset(), msg.timestamp())

        return callback

    producer = ck.Producer({"bootstrap.servers": kafka_bootstrap, "linger.ms": 5, "compression.type": codec})
    before_ms = int(time.time() * 1000)
    for i, m in enumerate(sent):
        kwargs = {"timestamp": m["timestamp"]} if m["timestamp"] is not None else {}
        producer.produce(
            topic_name,
            value=m["value"],
            key=m["key"],
            partition=m["partition"],
            headers=m["headers"],
            on_delivery=on_delivery(i),
            **kwargs,
        )
    assert producer.flush(30) == 0
    after_ms = int(time.time() * 1000)
    assert errors == [] and len(reports) == len(sent)
    expected = {(p, o): (sent[i], ts) for i, (p, o, ts) in reports.items()}

    got = ferro_read(kafka_bootstrap, topic_name, group_id, len(sent))
    assert [(m.partition, m.offset) for m in got] == sorted(expected)
    for msg in got:
        m, (dr_type, dr_ts) = expected[(msg.partition, msg.offset)]
        where = f"p{msg.partition}@{msg.offset}"
        assert msg.topic == topic_name
        assert _b(msg.key) == m["key"], where
        assert _b(msg.payload) == m["value"], where
        assert msg.headers == m["headers"], where
        if ts_type == "CreateTime":
            assert msg.timestamp_type == fk.TimestampType.CREATE_TIME, where
            if m["timestamp"] is not None:
                assert msg.timestamp == m["timestamp"], where
            else:
                assert before_ms - 1000 <= msg.timestamp <= after_ms + 1000, where
            assert msg.timestamp == dr_ts, where
        else:
            assert msg.timestamp_type == fk.TimestampType.LOG_APPEND_TIME, where
            assert int(msg.timestamp_type) == ck.TIMESTAMP_LOG_APPEND_TIME
            assert before_ms - 1000 <= msg.timestamp <= after_ms + 1000, where


# --- kcat ---------------------------------------------------------------------------------------


@pytest.fixture
def kcat() -> str:
    path = shutil.which("kcat")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("kcat is not installed (apt-get install kcat); it is required in CI", pytrace=False)
        pytest.skip("kcat is not installed (apt-get install kcat): the kcat interop tests need it")
    return path


def run_kcat(argv: list[str], stdin: bytes | None = None, timeout: float = 30) -> bytes:
    proc = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout)
    assert proc.returncode == 0, f"{argv} exited {proc.returncode}: {proc.stderr.decode(errors='replace')}"
    return proc.stdout


# Text that is valid UTF-8 and exercises JSON escaping (quotes, backslash, control characters,
# non-ASCII, astral plane) — kcat -J prints keys and payloads as JSON strings, which is exact for
# valid UTF-8 only (it replaces invalid bytes with U+FFFD).
TEXT_SAMPLES = [
    "plain",
    'quote " backslash \\ slash / braces {}[]',
    "newline\n tab\t cr\r formfeed\f",
    "control \x01\x1f del \x7f",
    "unicode \u00e9\u00df \u2713 \u4e2d \U0001f600",
    "",
]
# Binary samples: checked through a length-prefixed binary output format (-f) instead of JSON.
BINARY_SAMPLES = [ALL_BYTES, b"\x00", b"\xff\xfe\x00trailing-nul\x00", os.urandom(2048)]


def _text(value: object) -> str | None:
    return None if value is None else bytes(value).decode("utf-8")  # type: ignore[call-overload]


def _parse_kcat_binary(out: bytes) -> list[tuple[int, int, int, bytes | None, bytes | None]]:
    """Parses records printed by  -f '%p:%o:%T:%K:%k%R%s'.

    %p, %o, %T and %K (key length, -1 for a null key) are decimal text ending at ':', then %k is
    exactly that many key bytes, %R is the payload length as a 4-byte big-endian integer
    (0xffffffff for a null payload) and %s that many payload bytes: binary-safe framing.
    """
    records = []
    pos = 0

    def text_field() -> int:
        nonlocal pos
        end = out.index(b":", pos)
        value = int(out[pos:end])
        pos = end + 1
        return value

    while pos < len(out):
        partition, offset, ts, key_len = text_field(), text_field(), text_field(), text_field()
        key = None
        if key_len >= 0:
            key = out[pos : pos + key_len]
            pos += key_len
        (payload_len,) = struct.unpack(">i", out[pos : pos + 4])
        pos += 4
        payload = None
        if payload_len >= 0:
            payload = out[pos : pos + payload_len]
            pos += payload_len
        records.append((partition, offset, ts, key, payload))
    return records


# --- (c) ferrokafka -> kcat ---------------------------------------------------------------------


def test_ferrokafka_to_kcat(kafka_bootstrap, topic_name, kcat):
    """Two reads of the same topic by kcat: -J (JSON) checks metadata, headers and text exactly;
    a binary-framed -f format checks every key and payload byte for byte, binary ones included."""
    create_topic(kafka_bootstrap, topic_name, 2)
    sent: list[dict[str, object]] = []
    for i, text in enumerate(TEXT_SAMPLES):
        sent.append(dict(key=f"key {i}: {text}".encode(), value=text.encode(), text=True))
    sent.append(dict(key=None, value=None, text=True))
    sent.append(dict(key=b"", value=None, text=True))
    sent.append(dict(key=None, value=b"", text=True))
    for blob in BINARY_SAMPLES:
        sent.append(dict(key=blob[::-1][:64], value=blob, text=False))
    for i, m in enumerate(sent):
        m["partition"] = i % 2
        m["timestamp"] = BASE_TS + i
        m["headers"] = (
            []
            if i % 3 == 0
            else [
                ("trace", b"t-%d" % i),
                ("dup", b"x"),
                ("dup", b"y"),
                ("nullh", None),
                ("empty", b""),
                ("\u00fcnicode", '\u2713 "q"'.encode()),
            ]
        )

    with fk.Producer({"bootstrap.servers": kafka_bootstrap}) as producer:
        futures = [
            producer.produce(
                topic_name,
                m["value"],
                key=m["key"],
                partition=m["partition"],
                timestamp=m["timestamp"],
                headers=m["headers"],
            )
            for m in sent
        ]
        assert producer.flush(30) == 0
        reports = [f.result(0) for f in futures]
    expected = {(r.partition, r.offset): m for m, r in zip(sent, reports)}

    base = [kcat, "-C", "-b", kafka_bootstrap, "-t", topic_name, "-o", "beginning", "-e", "-q"]

    # kcat copies invalid UTF-8 through raw: surrogateescape keeps the line parseable; only the text
    # messages' key/payload are compared from the JSON.
    lines = run_kcat(base + ["-J"]).decode("utf-8", "surrogateescape").splitlines()
    records = [json.loads(line) for line in lines]
    assert sorted((r["partition"], r["offset"]) for r in records) == sorted(expected)
    for rec in records:
        m = expected[(rec["partition"], rec["offset"])]
        where = f"p{rec['partition']}@{rec['offset']}"
        assert rec["topic"] == topic_name
        assert (rec["tstype"], rec["ts"]) == ("create", m["timestamp"]), where
        flat: list[str | None] = []
        for name, value in m["headers"]:  # type: ignore[attr-defined]
            flat += [name, None if value is None else value.decode("utf-8")]
        assert rec.get("headers", []) == flat, where
        if m["text"]:
            assert rec["key"] == _text(m["key"]), where
            assert rec["payload"] == _text(m["value"]), where

    binary = _parse_kcat_binary(run_kcat(base + ["-f", "%p:%o:%T:%K:%k%R%s"]))
    assert sorted((p, o) for p, o, _, _, _ in binary) == sorted(expected)
    for partition, offset, ts, key, payload in binary:
        m = expected[(partition, offset)]
        assert (ts, key, payload) == (m["timestamp"], m["key"], m["value"]), f"p{partition}@{offset}"


# --- (d) kcat -> ferrokafka ---------------------------------------------------------------------


def test_kcat_to_ferrokafka(kafka_bootstrap, topic_name, group_id, kcat):
    create_topic(kafka_bootstrap, topic_name, 1)
    produce = [kcat, "-P", "-b", kafka_bootstrap, "-t", topic_name, "-p", "0", "-K:"]
    header_args = [
        "-H",
        "h1=one",
        "-H",
        "dup=a",
        "-H",
        "dup=b",
        "-H",
        "eq=a=b",
        "-H",
        "empty=",
        "-H",
        "\u00fcnicode=\u2713",
    ]
    headers: Headers = [
        ("h1", b"one"),
        ("dup", b"a"),
        ("dup", b"b"),
        ("eq", b"a=b"),
        ("empty", b""),
        ("\u00fcnicode", "\u2713".encode()),
    ]
    before_ms = int(time.time() * 1000)
    # 1. newline-delimited text, key and value split at the first ':'.
    text_lines = "k1:v1\nk2:v:with:colons\n:empty key\nk4:\nk\u00fc:v\u00e4lue \u2713\n"
    run_kcat(produce + header_args, stdin=text_lines.encode())
    expected: list[tuple[bytes | None, bytes | None, Headers]] = [
        (b"k1", b"v1", headers),
        (b"k2", b"v:with:colons", headers),
        (b"", b"empty key", headers),
        (b"k4", b"", headers),
        ("k\u00fc".encode(), "v\u00e4lue \u2713".encode(), headers),
    ]
    # 2. -Z: empty key / value are sent as NULL; "-H name" without '=' is a null-valued header (kcat 1.7).
    run_kcat(produce + ["-Z", "-H", "nullh"], stdin=b"k6:\n:v7\n:\n")
    expected += [(b"k6", None, [("nullh", None)]), (None, b"v7", [("nullh", None)]), (None, None, [("nullh", None)])]
    # 3. binary records separated by '|' (-D): any byte but the delimiters.
    bin_key = b"\x00\x01\xfe\xff\n"
    bin_value = bytes(b for b in range(256) if b != ord("|"))  # includes ':' after the first one
    run_kcat(produce + ["-D", "|"], stdin=bin_key + b":" + bin_value + b"|nul\x00key:\x00\x00")
    expected += [(bin_key, bin_value, []), (b"nul\x00key", b"\x00\x00", [])]
    after_ms = int(time.time() * 1000)

    got = ferro_read(kafka_bootstrap, topic_name, group_id, len(expected))
    assert [m.offset for m in got] == list(range(len(expected)))
    for (key, value, hdrs), msg in zip(expected, got):
        where = f"offset {msg.offset}"
        assert (_b(msg.key), _b(msg.payload), msg.headers) == (key, value, hdrs), where
        assert msg.timestamp_type == fk.TimestampType.CREATE_TIME, where
        assert before_ms - 1000 <= msg.timestamp <= after_ms + 1000, where
