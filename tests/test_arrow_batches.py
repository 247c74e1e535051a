# The bad-input rows pass wrong types on purpose.
# mypy: disable-error-code="arg-type, call-arg, list-item, dict-item, misc, call-overload, operator, index"
"""Arrow batches: ``Consumer.consume_batch()`` returns a ``MessageBatch`` (owned, Arrow PyCapsule
interface), ``Producer.produce_batch()`` sends a list of values / tuples / dicts or an Arrow object in
one call and returns one future for the whole batch.

Every check reads real data back from librdkafka's mock cluster (and, through ``backend``, a real
broker): what was produced comes back exactly (values, keys, headers, timestamps, partitions), the
same through the batch's rows, its Arrow export (pyarrow, polars, duckdb) and ``poll()``. Commits are
read back from the group; the auto-commit rule (a batch counts as done only at the next call) is
checked by SIGKILLing a subprocess while it "processes" a batch. The bad-input table runs in
subprocesses (this file is also their runner: ``python test_arrow_batches.py --bad-input-rows``), so
that a crash or a hang is the failure of one row, not of the test run.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import gc
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import pytest

import ferrokafka as fk
from conftest import Backend, consumer_config, produce_n

T = fk.TopicPartition
INF = float("inf")
NAN = float("nan")
TS = 1_700_000_000_000  # a fixed CreateTime, ms

# The schema every MessageBatch has, in this order (headers checked field by field below: the name
# and nullability of the list's item field are Arrow-library details).
HEADER_STRUCT = pa.struct([pa.field("key", pa.utf8(), nullable=False), pa.field("value", pa.large_binary())])
SCHEMA_FIELDS = [
    pa.field("topic", pa.utf8(), nullable=False),
    pa.field("partition", pa.int32(), nullable=False),
    pa.field("offset", pa.int64(), nullable=False),
    pa.field("timestamp", pa.timestamp("ms", tz="UTC"), nullable=True),
    pa.field("timestamp_type", pa.int8(), nullable=False),
    pa.field("key", pa.large_binary(), nullable=True),
    pa.field("value", pa.large_binary(), nullable=True),
]


# --- helpers ---------------------------------------------------------------------------------------

Fields = tuple[str, int, int, int | None, int, bytes | None, bytes | None, list[tuple[str, bytes | None]]]


def as_fields(m: fk.OwnedMessage | fk.BorrowedMessage) -> Fields:
    """(topic, partition, offset, timestamp, timestamp_type, key, value, headers) of a message."""
    return (
        m.topic,
        m.partition,
        m.offset,
        m.timestamp,
        int(m.timestamp_type),
        None if m.key is None else bytes(m.key),
        None if m.payload is None else bytes(m.payload),
        list(m.headers),
    )


def arrow_fields(obj: Any) -> list[Fields]:
    """The same fields, row by row, read through pyarrow (pa.table takes the batch's stream)."""
    table = pa.table(obj)
    timestamps = table.column("timestamp").cast(pa.int64()).to_pylist()
    rows = table.to_pylist()
    return [
        (
            row["topic"],
            row["partition"],
            row["offset"],
            ts,
            row["timestamp_type"],
            row["key"],
            row["value"],
            [(h["key"], h["value"]) for h in row["headers"]],
        )
        for row, ts in zip(rows, timestamps)
    ]


def by_position(fields: Iterable[Fields]) -> list[Fields]:
    return sorted(fields, key=lambda f: (f[0], f[1], f[2]))


def take_batches(
    consumer: fk.Consumer, n: int, *, max_messages: int = 10_000, deadline_s: float = 30.0
) -> list[fk.MessageBatch]:
    """consume_batch() until n messages have come; then checks that no more come."""
    batches: list[fk.MessageBatch] = []
    total = 0
    deadline = time.monotonic() + deadline_s
    while total < n and time.monotonic() < deadline:
        batch = consumer.consume_batch(max_messages, timeout=0.5)
        assert len(batch) <= max_messages, f"consume_batch({max_messages}) returned {len(batch)} messages"
        if len(batch):
            batches.append(batch)
            total += len(batch)
    assert total == n, f"{total} of {n} messages arrived within {deadline_s} s"
    extra = consumer.consume_batch(100, timeout=0.3)
    assert len(extra) == 0, f"unexpected extra messages: {arrow_fields(extra)[:3]}"
    return batches


def subscribed(bootstrap: str, topic: str, group: str | None = None, **extra: object) -> fk.Consumer:
    consumer = fk.Consumer(consumer_config(bootstrap, group or f"g-{uuid.uuid4().hex[:12]}", **extra))
    consumer.subscribe([topic])
    return consumer


def consumed(bootstrap: str, topic: str, n: int) -> list[fk.MessageBatch]:
    """All n messages of `topic`, read with consume_batch by a new group."""
    with subscribed(bootstrap, topic, **{"enable.auto.commit": False}) as consumer:
        return take_batches(consumer, n)


def polled(bootstrap: str, topic: str, n: int) -> list[fk.OwnedMessage]:
    """All n messages of `topic`, read with poll() by a new group (detached)."""
    out: list[fk.OwnedMessage] = []
    with subscribed(bootstrap, topic, **{"enable.auto.commit": False}) as consumer:
        deadline = time.monotonic() + 30
        while len(out) < n and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None:
                out.append(msg.detach())
                msg.release()
        assert len(out) == n, f"poll(): {len(out)} of {n} messages"
        assert consumer.poll(0.3) is None
    return out


def recent(ts: int | None) -> bool:
    """A timestamp the producer set itself: now, give or take (the mock and the broker keep CreateTime)."""
    now = time.time() * 1000
    return ts is not None and now - 600_000 < ts < now + 60_000


@dataclass
class Sent:
    """What one produced message must come back as; timestamp None: set by the producer (recent)."""

    partition: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)
    timestamp: int | None = None


def check_round_trip(bootstrap: str, topic: str, results: list[Any], sent: list[Sent]) -> list[Fields]:
    """The future's list maps each sent message to where it landed; consume_batch, the batch's Arrow
    export and poll() all return exactly what was sent there. Returns the consumed fields."""
    assert len(results) == len(sent), f"{len(results)} results for {len(sent)} messages"
    for i, result in enumerate(results):
        assert isinstance(result, fk.DeliveryReport), f"message {i}: {result!r}"
    landed = {(r.topic, r.partition, r.offset): s for r, s in zip(results, sent)}
    assert len(landed) == len(sent), "two messages reported at the same offset"
    for r, s in zip(results, sent):
        assert (r.topic, r.partition) == (topic, s.partition), f"{s} landed in {r.topic}/{r.partition}"
    # Per partition, the reports' offsets follow the list's order, with no gap.
    for partition in {s.partition for s in sent}:
        offsets = [r.offset for r, s in zip(results, sent) if s.partition == partition]
        assert offsets == list(range(offsets[0], offsets[0] + len(offsets))), (partition, offsets)

    batches = consumed(bootstrap, topic, len(sent))
    rows = [as_fields(m) for batch in batches for m in batch]
    assert [f for batch in batches for f in arrow_fields(batch)] == rows, "the Arrow export differs from the rows"
    for f in rows:
        s = landed[(f[0], f[1], f[2])]
        assert (f[5], f[6], f[7]) == (s.key, s.value, s.headers), f"offset {f[1]}/{f[2]}: sent {s}, got {f}"
        if s.timestamp is None:
            assert recent(f[3]), f"offset {f[1]}/{f[2]}: timestamp {f[3]} was not set by the producer"
        else:
            assert f[3] == s.timestamp
        assert f[4] == int(fk.TimestampType.CREATE_TIME)
    for partition in {f[1] for f in rows}:
        offsets = [f[2] for f in rows if f[1] == partition]
        assert offsets == sorted(offsets), f"partition {partition} out of order in the batches: {offsets}"
    assert by_position(rows) == by_position(as_fields(m) for m in polled(bootstrap, topic, len(sent)))
    return rows


def deliver(producer: fk.Producer, topic: str, messages: Any, **kwargs: Any) -> list[Any]:
    future = producer.produce_batch(topic, messages, **kwargs)
    assert isinstance(future, concurrent.futures.Future)
    results = future.result(30)
    assert isinstance(results, fk.DeliveryResults)
    entries = list(results)
    assert len(results) == len(entries)
    # The summary agrees with the entries, which are made on demand.
    failed = [(i, e) for i, e in enumerate(entries) if isinstance(e, fk.KafkaError)]
    assert [i for i, _ in results.errors] == [i for i, _ in failed]
    assert [e.code() for _, e in results.errors] == [e.code() for _, e in failed]
    assert results.delivered == len(entries) - len(failed)
    assert results == entries
    if entries:
        assert results[-1] == entries[-1]
        with pytest.raises(IndexError):
            results[len(entries)]
    return entries


@pytest.fixture
def producer(backend: Backend) -> Any:
    with fk.Producer({"bootstrap.servers": backend.bootstrap, "linger.ms": 5}) as producer:
        yield producer


@pytest.fixture
def mock_producer(mock_cluster: fk.MockCluster) -> Any:
    with fk.Producer({"bootstrap.servers": mock_cluster.bootstrap_servers, "linger.ms": 5}) as producer:
        yield producer


def filled_topic(bootstrap: str, topic: str, n: int, partitions: int = 1) -> list[fk.OwnedMessage]:
    """n messages with keys, values, headers and timestamps, round-robin over the partitions, produced
    with produce(); returns them as poll() reads them."""
    with fk.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5}) as producer:
        for i in range(n):
            producer.produce(
                topic,
                None if i % 7 == 3 else b"v%d" % i,
                key=None if i % 5 == 2 else b"k%d" % i,
                partition=i % partitions,
                timestamp=TS + i,
                headers=[] if i % 3 else [("h", b"%d" % i), ("h", None), ("\u00e9", b"")],
            )
        assert producer.flush(30) == 0
    return polled(bootstrap, topic, n)


# --- the schema and the batch as a sequence ---------------------------------------------------------


def _capsule_name(capsule: object) -> bytes:
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype = ctypes.c_char_p
    get_name.argtypes = [ctypes.py_object]
    name = get_name(capsule)
    assert isinstance(name, bytes)
    return name


def check_schema(schema: pa.Schema) -> None:
    assert schema.names == [f.name for f in SCHEMA_FIELDS] + ["headers"]
    for expected in SCHEMA_FIELDS:
        got = schema.field(expected.name)
        assert (got.type, got.nullable) == (expected.type, expected.nullable), f"{expected.name}: {got}"
    headers = schema.field("headers")
    assert not headers.nullable, "headers: not null (an empty list when there are none)"
    assert pa.types.is_list(headers.type), f"headers: {headers.type} is not list<...>"
    item = headers.type.value_type
    assert pa.types.is_struct(item), item
    assert [item.field(i) for i in range(item.num_fields)] == list(HEADER_STRUCT), item
    assert item.field("key").nullable is False and item.field("value").nullable is True


def test_schema_exactly_for_empty_and_full_batches(mock_cluster, topic_name, group_id):
    mock_cluster.create_topic(topic_name, 1)
    with subscribed(mock_cluster.bootstrap_servers, topic_name, group_id) as consumer:
        started = time.monotonic()
        empty = consumer.consume_batch(10, timeout=0.5)
        waited = time.monotonic() - started
        assert isinstance(empty, fk.MessageBatch)
        assert len(empty) == 0 and 0.4 <= waited < 5, f"empty batch after {waited:.2f} s"
        assert list(empty) == [] and empty.next_offsets == []
        with pytest.raises(IndexError):
            empty[0]
        check_schema(pa.schema(empty))
        table = pa.table(empty)
        assert table.num_rows == 0
        check_schema(table.schema)
        check_schema(pa.record_batch(empty).schema)

        filled_topic(mock_cluster.bootstrap_servers, topic_name, 5)
        (full,) = take_batches(consumer, 5)
        assert pa.schema(full) == pa.schema(empty)
        check_schema(pa.table(full).schema)
        check_schema(pa.record_batch(full).schema)

    # The three capsule methods, with and without requested_schema (their own schema: granted).
    for batch in (empty, full):
        assert _capsule_name(batch.__arrow_c_schema__()) == b"arrow_schema"
        schema_capsule, array_capsule = batch.__arrow_c_array__()
        assert (_capsule_name(schema_capsule), _capsule_name(array_capsule)) == (b"arrow_schema", b"arrow_array")
        assert _capsule_name(batch.__arrow_c_stream__()) == b"arrow_array_stream"
        own = pa.schema(batch)
        assert pa.table(batch, schema=own).num_rows == len(batch)
        reader = pa.RecordBatchReader._import_from_c_capsule(batch.__arrow_c_stream__(own.__arrow_c_schema__()))
        assert reader.read_all().num_rows == len(batch)
        rb = pa.RecordBatch._import_from_c_capsule(*batch.__arrow_c_array__(requested_schema=own.__arrow_c_schema__()))
        assert rb.num_rows == len(batch)


def test_batch_rows_match_poll_and_arrow(mock_cluster, topic_name, group_id):
    """Iteration and indexing give OwnedMessages equal to what poll() returns for the same offsets, and
    the Arrow columns hold the same values; next_offsets is each partition's last offset + 1."""
    mock_cluster.create_topic(topic_name, 3)
    expected = filled_topic(mock_cluster.bootstrap_servers, topic_name, 60, partitions=3)
    with subscribed(mock_cluster.bootstrap_servers, topic_name, group_id) as consumer:
        batches = take_batches(consumer, 60)
    messages = [m for batch in batches for m in batch]
    assert all(type(m) is fk.OwnedMessage for m in messages)
    assert sorted(messages, key=lambda m: (m.partition, m.offset)) == sorted(
        expected, key=lambda m: (m.partition, m.offset)
    )
    assert by_position(as_fields(m) for m in messages) == by_position(as_fields(m) for m in expected)
    for batch in batches:
        n = len(batch)
        rows = arrow_fields(batch)
        assert [as_fields(m) for m in batch] == rows
        assert [as_fields(batch[i]) for i in range(n)] == rows
        assert [as_fields(batch[i]) for i in range(-n, 0)] == rows
        assert batch[-1] == batch[n - 1] and batch[-n] == batch[0]
        for bad in (n, -n - 1, 2**40):
            with pytest.raises(IndexError):
                batch[bad]
        for not_int in ("0", 0.0, None, slice(0, 1), b"0"):
            with pytest.raises(TypeError):
                batch[not_int]
        last: dict[tuple[str, int], int] = {}
        for f in rows:
            assert f[2] > last.get((f[0], f[1]), -1), "a partition's offsets go down within a batch"
            last[(f[0], f[1])] = f[2]
        next_offsets = batch.next_offsets
        assert all(isinstance(tp, fk.TopicPartition) for tp in next_offsets)
        assert sorted((tp.topic, tp.partition, tp.offset) for tp in next_offsets) == sorted(
            (t, p, o + 1) for (t, p), o in last.items()
        )
    # The messages without headers, key or value: empty list and nulls, not empty bytes.
    by_offset = {(f[1], f[2]): f for batch in batches for f in arrow_fields(batch)}
    for m in expected:
        f = by_offset[(m.partition, m.offset)]
        assert (f[5] is None) == (m.key is None) and (f[6] is None) == (m.payload is None)
        assert f[7] == m.headers


def test_max_messages_bounds_each_batch_and_nothing_is_skipped(mock_cluster, topic_name, group_id):
    mock_cluster.create_topic(topic_name, 1)
    produce_n(mock_cluster.bootstrap_servers, topic_name, 500)
    offsets: list[int] = []
    sizes: list[int] = []
    with subscribed(mock_cluster.bootstrap_servers, topic_name, group_id) as consumer:
        deadline = time.monotonic() + 30
        while len(offsets) < 500 and time.monotonic() < deadline:
            for size in (1, 7, 64, 3):
                batch = consumer.consume_batch(size, timeout=1.0)
                assert len(batch) <= size
                sizes.append(len(batch))
                offsets += pa.table(batch).column("offset").to_pylist()
    assert offsets == list(range(500))
    assert max(sizes) == 64, f"batch sizes {sizes}: consume_batch(64) never filled up on a full topic"


def test_consume_batch_waits_for_a_first_message(mock_cluster, topic_name, group_id):
    """timeout=None waits for the first message (produced 1 s later); timeout=0 returns at once."""
    mock_cluster.create_topic(topic_name, 1)
    with subscribed(mock_cluster.bootstrap_servers, topic_name, group_id) as consumer:
        started = time.monotonic()
        assert len(consumer.consume_batch(timeout=0)) == 0
        assert time.monotonic() - started < 2
        timer = threading.Timer(1.0, produce_n, (mock_cluster.bootstrap_servers, topic_name, 3))
        timer.start()
        got: list[fk.MessageBatch] = []
        waiter = threading.Thread(target=lambda: got.append(consumer.consume_batch()), daemon=True)
        waiter.start()
        waiter.join(30)
        timer.join()
        assert got, "consume_batch() without a timeout did not return after a message arrived"
        assert 1 <= len(got[0]) <= 3 and got[0][0].offset == 0


# --- produce_batch -> consume_batch round trips -----------------------------------------------------


def test_round_trip_values(backend, producer, topic_name):
    backend.create_topic(topic_name, 1)
    values = [b"bytes", bytearray(b"bytearray"), memoryview(b"memoryview"), "str-\u00e9", None, b"", b"\x00\xff" * 50]
    results = deliver(producer, topic_name, values)
    sent = [
        Sent(0, None, v if v is None else (v.encode() if isinstance(v, str) else bytes(v)))  # type: ignore[arg-type]
        for v in values
    ]
    check_round_trip(backend.bootstrap, topic_name, results, sent)
    assert [r.offset for r in results] == list(range(len(values)))


def test_round_trip_tuples(backend, producer, topic_name):
    backend.create_topic(topic_name, 3)
    messages = [
        (b"k0", b"v0"),
        (None, b"v1", [("h", b"1"), ("h", b"2"), ("n", None)]),
        ("k2", "v2", {"a": b"x", "b": None}, TS + 2),
        (b"k3", None, None, None, 2),
        (b"", b"v4", [], TS + 4, 0),
        (bytearray(b"k5"), memoryview(b"v5"), [(b"bk", b"bv"), ("s", "sv")], None, None),
        (None, None),
    ]
    results = deliver(producer, topic_name, messages, partition=1)
    sent = [
        Sent(1, b"k0", b"v0"),
        Sent(1, None, b"v1", [("h", b"1"), ("h", b"2"), ("n", None)]),
        Sent(1, b"k2", b"v2", [("a", b"x"), ("b", None)], TS + 2),
        Sent(2, b"k3", None),
        Sent(0, b"", b"v4", [], TS + 4),
        Sent(1, b"k5", b"v5", [("bk", b"bv"), ("s", b"sv")]),
        Sent(1, None, None),
    ]
    check_round_trip(backend.bootstrap, topic_name, results, sent)


def test_round_trip_dicts(backend, producer, topic_name):
    """confluent-kafka's produce_batch items, whose headers it drops: ours keeps them."""
    backend.create_topic(topic_name, 2)
    messages = [
        {"value": b"v0"},
        {"value": "v1", "key": "k1", "headers": [("h", b"1"), ("h", None)], "timestamp": TS + 1},
        {"key": b"k2", "partition": 0, "headers": {"x": b""}},
        {"value": memoryview(b"v3"), "key": None, "headers": None, "timestamp": None, "partition": None},
    ]
    results = deliver(producer, topic_name, messages, partition=1)
    sent = [
        Sent(1, None, b"v0"),
        Sent(1, b"k1", b"v1", [("h", b"1"), ("h", None)], TS + 1),
        Sent(0, b"k2", None, [("x", b"")]),
        Sent(1, None, b"v3"),
    ]
    check_round_trip(backend.bootstrap, topic_name, results, sent)


def _headers_array(rows: list[list[tuple[str, bytes | None]]], value_type: pa.DataType) -> pa.Array:
    header_type = pa.list_(pa.struct([("key", pa.string()), ("value", value_type)]))
    return pa.array([[{"key": k, "value": v} for k, v in row] for row in rows], type=header_type)


ARROW_VARIANTS = [
    # (value type, key type, header value type, timestamp type, container)
    (pa.binary(), pa.binary(), pa.binary(), pa.int64(), "table"),
    (pa.large_binary(), pa.string(), pa.large_binary(), pa.timestamp("ms"), "record_batch"),
    (pa.string(), pa.large_string(), pa.binary(), pa.timestamp("ms", tz="UTC"), "table"),
    (pa.large_string(), pa.large_binary(), pa.large_binary(), pa.int64(), "stream_only"),
]


class StreamOnly:
    """An Arrow producer that only has __arrow_c_stream__ (like a duckdb relation or a reader)."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        return self.table.__arrow_c_stream__(requested_schema)


@pytest.mark.parametrize(
    "value_type, key_type, header_type, ts_type, container",
    ARROW_VARIANTS,
    ids=[f"{v[0]}-{v[1]}-{v[3]}-{v[4]}" for v in ARROW_VARIANTS],
)
def test_round_trip_pyarrow(
    mock_cluster, mock_producer, topic_name, value_type, key_type, header_type, ts_type, container
):
    mock_cluster.create_topic(topic_name, 3)
    text = pa.types.is_string(value_type) or pa.types.is_large_string(value_type)
    key_text = pa.types.is_string(key_type) or pa.types.is_large_string(key_type)
    n = 40
    values = [None if i % 9 == 4 else (f"v{i}-\u00e9" if text else b"v%d\x00" % i) for i in range(n)]
    keys = [None if i % 4 == 1 else (f"k{i}" if key_text else b"k%d" % i) for i in range(n)]
    headers: list[list[tuple[str, bytes | None]]] = [
        [] if i % 3 else [("h", b"%d" % i), ("h", None), ("e", b"")] for i in range(n)
    ]
    partitions = [None if i % 5 == 0 else i % 3 for i in range(n)]
    timestamps = [None if i % 6 == 0 else TS + i for i in range(n)]
    table = pa.table(
        {
            "value": pa.array(values, type=value_type),
            "key": pa.array(keys, type=key_type),
            "headers": _headers_array(headers, header_type),
            "partition": pa.array(partitions, type=pa.int32()),
            "timestamp": pa.array(timestamps, type=pa.int64()).cast(ts_type),
        }
    )
    arrow: Any = {
        "table": table,
        "record_batch": table.combine_chunks().to_batches()[0],
        "stream_only": StreamOnly(table),
    }[container]
    results = deliver(mock_producer, topic_name, arrow, partition=2)

    def raw(x: str | bytes | None) -> bytes | None:
        return x.encode() if isinstance(x, str) else x

    sent = [
        Sent(2 if partitions[i] is None else partitions[i], raw(keys[i]), raw(values[i]), headers[i], timestamps[i])  # type: ignore[arg-type]
        for i in range(n)
    ]
    check_round_trip(mock_cluster.bootstrap_servers, topic_name, results, sent)


def test_round_trip_pyarrow_table_on_both_backends(backend, producer, topic_name):
    backend.create_topic(topic_name, 2)
    n = 300
    table = pa.table(
        {
            "key": pa.array([b"k%d" % i for i in range(n)], type=pa.binary()),
            "value": pa.array([b"x" * (i % 50) + b"%d" % i for i in range(n)], type=pa.large_binary()),
            "headers": _headers_array([[("i", b"%d" % i)] for i in range(n)], pa.binary()),
            "partition": pa.array([i % 2 for i in range(n)], type=pa.int32()),
            "timestamp": pa.array([TS + i for i in range(n)], type=pa.timestamp("ms")),
        }
    )
    # Several chunks: the stream is read to its end.
    chunked = pa.concat_tables([table.slice(0, 100), table.slice(100, 150), table.slice(250)])
    assert chunked.column("value").num_chunks == 3
    results = deliver(producer, topic_name, chunked)
    sent = [Sent(i % 2, b"k%d" % i, b"x" * (i % 50) + b"%d" % i, [("i", b"%d" % i)], TS + i) for i in range(n)]
    check_round_trip(backend.bootstrap, topic_name, results, sent)


def test_round_trip_polars_dataframe(mock_cluster, mock_producer, topic_name):
    """polars exports binary_view/string_view columns: a DataFrame is taken as it is."""
    mock_cluster.create_topic(topic_name, 2)
    n = 30
    df = pl.DataFrame(
        {
            "value": pl.Series([None if i == 3 else b"v%d" % i for i in range(n)], dtype=pl.Binary),
            "key": pl.Series([None if i == 4 else f"k{i}" for i in range(n)], dtype=pl.String),
            "partition": pl.Series([i % 2 for i in range(n)], dtype=pl.Int32),
            "timestamp": pl.Series([TS + i for i in range(n)], dtype=pl.Int64).cast(pl.Datetime("ms")),
        }
    )
    results = deliver(mock_producer, topic_name, df)
    sent = [Sent(i % 2, None if i == 4 else b"k%d" % i, None if i == 3 else b"v%d" % i, [], TS + i) for i in range(n)]
    check_round_trip(mock_cluster.bootstrap_servers, topic_name, results, sent)


def test_round_trip_polars_dataframe_with_headers(mock_cluster, mock_producer, topic_name):
    """A polars headers column (exported as large_list<struct<string_view, binary_view>>) is kept too."""
    mock_cluster.create_topic(topic_name, 1)
    df = pl.DataFrame(
        {
            "value": pl.Series([b"a", b"b", b"c"], dtype=pl.Binary),
            "headers": pl.Series(
                [[{"key": "h", "value": b"1"}], [], [{"key": "x", "value": None}, {"key": "y", "value": b""}]],
                dtype=pl.List(pl.Struct({"key": pl.String, "value": pl.Binary})),
            ),
        }
    )
    results = deliver(mock_producer, topic_name, df)
    sent = [Sent(0, None, b"a", [("h", b"1")]), Sent(0, None, b"b"), Sent(0, None, b"c", [("x", None), ("y", b"")])]
    check_round_trip(mock_cluster.bootstrap_servers, topic_name, results, sent)


@pytest.mark.parametrize(
    "array",
    [pa.array([b"a", None, b""], type=pa.binary()), pa.array(["a", None, ""], type=pa.large_string())],
    ids=["binary", "large_string"],
)
def test_a_single_arrow_array_is_the_values(mock_cluster, mock_producer, topic_name, array):
    mock_cluster.create_topic(topic_name, 1)
    results = deliver(mock_producer, topic_name, array)
    check_round_trip(mock_cluster.bootstrap_servers, topic_name, results, [Sent(0, None, v) for v in (b"a", None, b"")])


def test_a_consumed_batch_can_be_produced_again(mock_cluster, mock_producer, topic_name):
    """Mirroring: the batch's own columns (value, key, headers, partition, timestamp[ms, UTC]) are a
    valid produce_batch() input, through pyarrow and as the batch itself (extra columns ignored)."""
    bootstrap = mock_cluster.bootstrap_servers
    mock_cluster.create_topic(topic_name, 3)
    source = filled_topic(bootstrap, topic_name, 45, partitions=3)
    batches = consumed(bootstrap, topic_name, 45)
    expected = by_position(as_fields(m) for m in source)
    for i, make in enumerate(
        [
            lambda b: pa.table(b).select(["key", "value", "headers", "partition", "timestamp"]),
            lambda b: b,
        ]
    ):
        copy = f"{topic_name}-copy{i}"
        mock_cluster.create_topic(copy, 3)
        results: list[Any] = []
        for batch in batches:
            results += deliver(mock_producer, copy, make(batch))
        assert all(isinstance(r, fk.DeliveryReport) for r in results), results
        copied = by_position(f for b in consumed(bootstrap, copy, 45) for f in arrow_fields(b))
        assert [(p, o, ts, tt, k, v, h) for _, p, o, ts, tt, k, v, h in copied] == [
            (p, o, ts, tt, k, v, h) for _, p, o, ts, tt, k, v, h in expected
        ]


# --- produce_batch: the future, per-message failures, callbacks --------------------------------------


def test_empty_batches_give_a_resolved_future(mock_cluster, topic_name):
    calls: list[object] = []
    with fk.Producer(
        {"bootstrap.servers": mock_cluster.bootstrap_servers, "on_delivery": lambda e, r: calls.append(r)}
    ) as producer:
        empties: list[Any] = [
            [],
            (),
            pa.table({"value": pa.array([], type=pa.binary())}),
            pl.DataFrame({"value": pl.Series([], dtype=pl.Binary)}),
        ]
        for empty in empties:
            future = producer.produce_batch(topic_name, empty, on_delivery=lambda e, r: calls.append(r))
            assert isinstance(future, concurrent.futures.Future)
            assert future.done(), f"{type(empty).__name__}: the future of an empty batch is not resolved"
            assert future.result(0) == []
        assert len(producer) == 0
        assert producer.flush(5) == 0
    time.sleep(0.2)
    assert calls == []


def test_per_message_failures_are_entries_of_the_list(mock_cluster, topic_name):
    """A message over message.max.bytes and one for a partition that does not exist fail alone: the
    future resolves (it does not raise) to their KafkaErrors, the others are delivered in order."""
    mock_cluster.create_topic(topic_name, 2)
    bootstrap = mock_cluster.bootstrap_servers
    reports: list[tuple[Any, Any]] = []
    with fk.Producer({"bootstrap.servers": bootstrap, "message.max.bytes": 1000, "linger.ms": 5}) as producer:
        messages = [
            (b"k0", b"ok0"),
            (b"k1", b"x" * 5000),
            (b"k2", b"ok2", None, None, 99),
            (b"k3", b"ok3"),
        ]
        future = producer.produce_batch(
            topic_name, messages, partition=0, on_delivery=lambda e, r: reports.append((r, e))
        )
        results = future.result(30)
    assert future.exception(0) is None
    assert len(results) == 4
    ok0, too_large, no_partition, ok3 = results
    assert isinstance(ok0, fk.DeliveryReport) and isinstance(ok3, fk.DeliveryReport)
    assert (ok0.partition, ok0.offset, ok3.partition, ok3.offset) == (0, 0, 0, 1)
    assert isinstance(too_large, fk.KafkaError) and too_large.name() == "MSG_SIZE_TOO_LARGE", too_large
    assert isinstance(no_partition, fk.KafkaError) and no_partition.name() == "_UNKNOWN_PARTITION", no_partition
    deadline = time.monotonic() + 10
    while len(reports) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(reports) == 4, f"on_delivery ran {len(reports)} times for 4 messages"
    assert sorted((r.offset for r, e in reports if e is None)) == [0, 1]
    assert sorted(e.name() for r, e in reports if e is not None) == ["MSG_SIZE_TOO_LARGE", "_UNKNOWN_PARTITION"]
    assert all(r is None for r, e in reports if e is not None)
    got = [f[6] for b in consumed(bootstrap, topic_name, 2) for f in arrow_fields(b)]
    assert got == [b"ok0", b"ok3"]


def test_undeliverable_messages_resolve_the_future_with_their_errors(topic_name):
    producer = fk.Producer({"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 500})
    try:
        future = producer.produce_batch(topic_name, [b"a", (b"k", b"b")])
        results = future.result(30)
    finally:
        producer.close(5)
    assert [type(r) for r in results] == [fk.KafkaError, fk.KafkaError]
    assert [r.name() for r in results] == ["_MSG_TIMED_OUT"] * 2


@pytest.mark.parametrize("where", ["argument", "config"])
def test_on_delivery_runs_once_per_message(mock_cluster, topic_name, where):
    mock_cluster.create_topic(topic_name, 3)
    calls: list[tuple[Any, Any]] = []
    lock = threading.Lock()

    def on_delivery(error: Any, report: Any) -> None:
        with lock:
            calls.append((report, error))

    config: dict[str, Any] = {"bootstrap.servers": mock_cluster.bootstrap_servers, "linger.ms": 5}
    kwargs: dict[str, Any] = {}
    if where == "config":
        config["on_delivery"] = on_delivery
    else:
        kwargs["on_delivery"] = on_delivery
    n = 250
    with fk.Producer(config) as producer:
        first = producer.produce_batch(topic_name, [b"v%d" % i for i in range(n)], **kwargs)
        second = producer.produce_batch(topic_name, pa.table({"value": [b"a%d" % i for i in range(n)]}), **kwargs)
        results = list(first.result(30)) + list(second.result(30))
        assert producer.flush(30) == 0
    deadline = time.monotonic() + 10
    while len(calls) < 2 * n and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    assert len(calls) == 2 * n, f"on_delivery ran {len(calls)} times for {2 * n} messages"
    assert all(e is None and isinstance(r, fk.DeliveryReport) for r, e in calls)

    def key(r: fk.DeliveryReport) -> tuple[int, int]:
        return (r.partition, r.offset)

    assert sorted(map(key, (r for r, _ in calls))) == sorted(map(key, results))
    assert len(set(map(key, results))) == 2 * n


def test_a_batch_larger_than_the_queue_waits_for_room(mock_cluster, topic_name):
    """queue.buffering.max.messages=50, 2000 messages in one call: produce_batch waits for room
    (no _QUEUE_FULL), and every message is delivered, in order."""
    mock_cluster.create_topic(topic_name, 1)
    config = {"bootstrap.servers": mock_cluster.bootstrap_servers, "queue.buffering.max.messages": 50, "linger.ms": 1}
    with fk.Producer(config) as producer:
        results = deliver(producer, topic_name, [b"m%d" % i for i in range(2000)])
    assert all(isinstance(r, fk.DeliveryReport) for r in results), [
        r for r in results if not isinstance(r, fk.DeliveryReport)
    ][:3]
    assert [r.offset for r in results] == list(range(2000))
    values = [f[6] for b in consumed(mock_cluster.bootstrap_servers, topic_name, 2000) for f in arrow_fields(b)]
    assert values == [b"m%d" % i for i in range(2000)]


CTRL_C_PRODUCER = textwrap.dedent("""
    import sys, time
    import ferrokafka as fk
    producer = fk.Producer({"bootstrap.servers": "127.0.0.1:1", "queue.buffering.max.messages": 10,
                            "message.timeout.ms": 600000})
    print("producing", flush=True)
    started = time.monotonic()
    try:
        producer.produce_batch(sys.argv[1], [b"x"] * 1000)
        print("returned", flush=True)
    except KeyboardInterrupt:
        print(f"interrupted after {time.monotonic() - started:.1f}", flush=True)
    except BaseException as err:
        print(f"raised {type(err).__name__}: {err}", flush=True)
    producer.close(0)
    print("closed", flush=True)
""")


def test_ctrl_c_interrupts_a_produce_batch_waiting_for_queue_room(topic_name):
    proc = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_PRODUCER, topic_name], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "producing\n"
        time.sleep(1.5)
        assert proc.poll() is None, "produce_batch returned although the queue had room for 10 of 1000"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    lines = out.splitlines()
    assert lines and lines[0].startswith("interrupted"), f"stdout {out!r}, stderr {err[-2000:]!r}"
    assert lines[-1] == "closed" and proc.returncode == 0, (out, err[-2000:])


CTRL_C_RESULTS = textwrap.dedent("""
    import sys
    from collections import Counter
    import ferrokafka as fk
    producer = fk.Producer({"bootstrap.servers": "127.0.0.1:1", "queue.buffering.max.messages": 10,
                            "message.timeout.ms": 600000})
    print("producing", flush=True)
    try:
        producer.produce_batch(sys.argv[1], [b"x"] * 1000)
        print("returned", flush=True)
    except KeyboardInterrupt as interrupted:
        future = interrupted.future
        producer.close(0)  # what librdkafka still holds fails (purged): the batch resolves
        results = future.result(10)
        why = Counter(f"{error.name}: {'interrupted' in str(error)}" for _, error in results.errors)
        print(len(results), results.delivered, sorted(why.items()), flush=True)
""")


def test_ctrl_c_during_produce_batch_leaves_its_results_reachable(topic_name):
    """The KeyboardInterrupt out of an interrupted produce_batch() carries the batch's future, as
    the call would have returned it: every message is in its results, those never handed to
    librdkafka failed with _DESTROY, those handed over resolve on their own (here: purged)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_RESULTS, topic_name], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "producing\n"
        time.sleep(1.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    expected = "1000 0 [('_DESTROY: True', 990), ('_PURGE_QUEUE: False', 10)]\n"
    assert (out, proc.returncode) == (expected, 0), err[-2000:]


def test_a_bad_item_sends_nothing(mock_cluster, mock_producer, topic_name):
    """Validation comes first: a call with a bad last item or a bad Arrow column raises and leaves no
    message behind; the topic holds only what the good calls sent."""
    mock_cluster.create_topic(topic_name, 1)
    with pytest.raises(TypeError):
        mock_producer.produce_batch(topic_name, [b"a", (b"k", b"b"), {"value": b"c"}, 5])
    with pytest.raises((TypeError, ValueError)):
        mock_producer.produce_batch(topic_name, [b"a"] * 100 + [(b"k", b"v", None, None, "0")])
    with pytest.raises((TypeError, ValueError)):
        mock_producer.produce_batch(topic_name, pa.table({"value": [b"a", b"b"], "partition": ["0", "1"]}))
    with pytest.raises((TypeError, ValueError)):
        mock_producer.produce_batch(topic_name, pa.table({"value": [b"a", b"b"], "key": [1, 2]}))
    assert len(mock_producer) == 0
    assert deliver(mock_producer, topic_name, [b"good"])[0].offset == 0
    assert [f[6] for b in consumed(mock_cluster.bootstrap_servers, topic_name, 1) for f in arrow_fields(b)] == [b"good"]


def test_closed_producer_raises_like_produce(mock_cluster, topic_name):
    producer = fk.Producer({"bootstrap.servers": mock_cluster.bootstrap_servers})
    producer.close()
    with pytest.raises(fk.Error, match="closed"):
        producer.produce(topic_name, b"x")
    for messages in ([b"x"], pa.table({"value": [b"x"]})):
        with pytest.raises(fk.Error, match="closed"):
            producer.produce_batch(topic_name, messages)


# --- the batch owns its memory: zero-copy export, after close, across threads -------------------------


def test_zero_copy_export_into_pyarrow_and_polars(mock_cluster, topic_name, group_id):
    """Two exports of one batch share its buffers (pyarrow imports without copying; polars too, for
    its fixed-width columns), and what was imported stays valid after the batch is gone and the
    consumer closed."""
    mock_cluster.create_topic(topic_name, 1)
    expected = filled_topic(mock_cluster.bootstrap_servers, topic_name, 50)
    consumer = subscribed(mock_cluster.bootstrap_servers, topic_name, group_id)
    (batch,) = take_batches(consumer, 50)
    first = pa.record_batch(batch)
    second = pa.record_batch(batch)
    table = pa.table(batch)
    assert table.column("value").num_chunks == 1
    for column in ("value", "key", "offset", "topic", "timestamp"):
        addresses = {
            first.column(column).buffers()[-1].address,
            second.column(column).buffers()[-1].address,
            table.column(column).chunks[0].buffers()[-1].address,
        }
        assert len(addresses) == 1, f"{column}: the exports do not share the batch's buffer: {addresses}"
    # polars keeps fixed-width columns as they are (its binary columns become binary_view: a copy).
    frame = pl.DataFrame(batch)
    for column in ("offset", "partition", "timestamp", "timestamp_type"):
        got = frame[column].to_arrow().buffers()[-1].address
        assert got == first.column(column).buffers()[-1].address, f"polars copied the {column} column"
    del batch
    gc.collect()
    consumer.close()
    gc.collect()
    want = [as_fields(m) for m in expected]
    assert arrow_fields(first) == want and arrow_fields(second) == want and arrow_fields(table) == want
    assert frame["offset"].to_list() == [m.offset for m in expected]
    assert frame["value"].to_list() == [None if m.payload is None else bytes(m.payload) for m in expected]


def test_each_export_makes_new_capsules_and_a_capsule_is_consumed_once(mock_cluster, topic_name, group_id):
    """In a subprocess (a double import of one capsule could crash): capsules from two calls both
    import; importing a consumed capsule again raises (its release was moved out); capsules never
    imported are freed with the batch."""
    mock_cluster.create_topic(topic_name, 1)
    produce_n(mock_cluster.bootstrap_servers, topic_name, 10)
    script = textwrap.dedent("""
        import gc, sys
        import pyarrow as pa
        import ferrokafka as fk
        bootstrap, group, topic = sys.argv[1:4]
        consumer = fk.Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"})
        consumer.subscribe([topic])
        batch = consumer.consume_batch(10, timeout=30)
        assert len(batch) >= 1, "no message within 30 s"
        consumer.close()
        n = len(batch)
        a1, a2 = batch.__arrow_c_array__(), batch.__arrow_c_array__()
        assert a1[0] is not a2[0] and a1[1] is not a2[1]
        rb1 = pa.RecordBatch._import_from_c_capsule(*a1)
        rb2 = pa.RecordBatch._import_from_c_capsule(*a2)
        assert rb1.equals(rb2) and rb1.num_rows == n
        try:
            pa.RecordBatch._import_from_c_capsule(*a1)
        except Exception as err:
            print("array twice:", type(err).__name__)
        else:
            print("array twice: imported")
        s1, s2 = batch.__arrow_c_stream__(), batch.__arrow_c_stream__()
        assert s1 is not s2
        t1 = pa.RecordBatchReader._import_from_c_capsule(s1).read_all()
        t2 = pa.RecordBatchReader._import_from_c_capsule(s2).read_all()
        assert t1.equals(t2) and t1.num_rows == n
        try:
            pa.RecordBatchReader._import_from_c_capsule(s1).read_all()
        except Exception as err:
            print("stream twice:", type(err).__name__)
        else:
            print("stream twice: imported")
        sc = batch.__arrow_c_schema__()
        assert pa.Schema._import_from_c_capsule(sc) == pa.schema(batch)
        for _ in range(200):  # never imported: dropped with their destructors
            batch.__arrow_c_array__(); batch.__arrow_c_stream__(); batch.__arrow_c_schema__()
        del batch
        gc.collect()
        assert rb1.column("offset").to_pylist() == list(range(n))
        print("done", n)
    """)
    proc = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", script, mock_cluster.bootstrap_servers, group_id, topic_name],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stdout}\n{proc.stderr[-3000:]}"
    lines = proc.stdout.splitlines()
    assert lines[0] in ("array twice: ArrowInvalid", "array twice: ValueError"), lines
    assert lines[1] in ("stream twice: ArrowInvalid", "stream twice: ValueError"), lines
    assert lines[-1].startswith("done ") and int(lines[-1].split()[1]) >= 1


def test_polars_and_duckdb_read_the_batch(mock_cluster, topic_name, group_id):
    mock_cluster.create_topic(topic_name, 2)
    expected = filled_topic(mock_cluster.bootstrap_servers, topic_name, 40, partitions=2)
    with subscribed(mock_cluster.bootstrap_servers, topic_name, group_id) as consumer:
        batches = take_batches(consumer, 40)
    want = by_position(as_fields(m) for m in expected)

    # polars, straight from the capsule and through pyarrow
    frames = [pl.DataFrame(b) for b in batches]
    assert frames[0].schema == pl.Schema(
        {
            "topic": pl.String,
            "partition": pl.Int32,
            "offset": pl.Int64,
            "timestamp": pl.Datetime("ms", "UTC"),
            "timestamp_type": pl.Int8,
            "key": pl.Binary,
            "value": pl.Binary,
            "headers": pl.List(pl.Struct({"key": pl.String, "value": pl.Binary})),
        }
    )
    df = pl.concat(frames)
    assert df.equals(pl.concat([pl.from_arrow(pa.table(b)) for b in batches]))  # type: ignore[list-item]
    got = [
        (r["topic"], r["partition"], r["offset"], r["ts"], r["timestamp_type"], r["key"], r["value"],
         [(h["key"], h["value"]) for h in r["headers"]])
        for r in df.with_columns(pl.col("timestamp").dt.epoch("ms").alias("ts")).iter_rows(named=True)
    ]  # fmt: skip
    assert by_position(got) == want

    # duckdb, by the variable's name (replacement scan of the PyCapsule stream) and through pyarrow
    def duck(rows: list[tuple[Any, ...]]) -> list[Fields]:
        return by_position(
            (t, p, o, ts, tt, None if k is None else bytes(k), None if v is None else bytes(v),
             [(h["key"], None if h["value"] is None else bytes(h["value"])) for h in hs])
            for t, p, o, ts, tt, k, v, hs in rows
        )  # fmt: skip

    query = 'select topic, "partition", "offset", epoch_ms("timestamp"), timestamp_type, key, value, headers from batch'
    direct: list[tuple[Any, ...]] = []
    via_arrow: list[tuple[Any, ...]] = []
    for batch in batches:
        direct += duckdb.sql(query).fetchall()
        batch = pa.table(batch)  # the same name (duckdb finds it by name), now a pyarrow table
        via_arrow += duckdb.sql(query).fetchall()
    assert duck(direct) == want
    assert duck(via_arrow) == want
    total = batches[0]
    (count,) = duckdb.sql("select count(*), sum(len(headers)) from total").fetchall()
    assert count == (len(total), sum(len(m.headers) for m in total))


def test_batches_outlive_the_consumer_and_cross_threads(mock_cluster, topic_name, group_id):
    mock_cluster.create_topic(topic_name, 2)
    expected = filled_topic(mock_cluster.bootstrap_servers, topic_name, 80, partitions=2)
    consumer = subscribed(mock_cluster.bootstrap_servers, topic_name, group_id)
    batches = take_batches(consumer, 80, max_messages=15)
    assert len(batches) >= 6
    # The batch holds no message of librdkafka's: the consumer's count stays where it was.
    assert consumer.live_message_count == 0
    consumer.close()
    del consumer
    gc.collect()
    deadline = time.monotonic() + 10
    while fk._native._live_native_messages() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fk._native._live_native_messages() == 0, "a closed consumer's batches pin native messages"
    want = by_position(as_fields(m) for m in expected)
    assert by_position(as_fields(m) for b in batches for m in b) == want

    def read(batch: fk.MessageBatch) -> tuple[list[Fields], list[Fields], list[int]]:
        return (
            arrow_fields(batch),
            [as_fields(m) for m in batch],
            pl.DataFrame(batch)["offset"].to_list(),
        )

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(read, batches * 8))
    for batch, (arrow_rows, message_rows, offsets) in zip(batches * 8, results):
        assert arrow_rows == message_rows == [as_fields(m) for m in batch]
        assert offsets == [m.offset for m in batch]

    # Made on another thread, used on this one.
    def make() -> fk.MessageBatch:
        with subscribed(mock_cluster.bootstrap_servers, topic_name, **{"enable.auto.commit": False}) as c:
            return take_batches(c, 80)[0]

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        other = pool.submit(make).result(60)
    assert len(other) >= 1 and arrow_fields(other) == [as_fields(m) for m in other]


def test_a_batch_does_not_count_as_live_messages(mock_cluster, topic_name, group_id):
    mock_cluster.create_topic(topic_name, 1)
    produce_n(mock_cluster.bootstrap_servers, topic_name, 200)
    with subscribed(mock_cluster.bootstrap_servers, topic_name, group_id) as consumer:
        batches = take_batches(consumer, 200)
        assert consumer.live_message_count == 0
        held = [m for b in batches for m in b]
        assert len(held) == 200 and consumer.live_message_count == 0


# --- offsets: commit(batch), store_offsets(batch), auto-commit -----------------------------------------


def group_committed(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    """The group's committed offsets (OFFSET_INVALID where none), read without joining it."""
    with fk.Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False}) as reader:
        tps = reader.committed([T(topic, p) for p in range(partitions)], timeout=30)
    return {tp.partition: tp.offset for tp in tps}


def next_of(*batches: fk.MessageBatch, partitions: int) -> dict[int, int]:
    """Per partition, the offset after the last message of `batches` (OFFSET_INVALID if none)."""
    out = {p: fk.OFFSET_INVALID for p in range(partitions)}
    for batch in batches:
        for tp in batch.next_offsets:
            out[tp.partition] = max(out[tp.partition], tp.offset)
    return out


def first_batches(consumer: fk.Consumer, count: int, size: int) -> list[fk.MessageBatch]:
    out: list[fk.MessageBatch] = []
    deadline = time.monotonic() + 30
    while len(out) < count and time.monotonic() < deadline:
        batch = consumer.consume_batch(size, timeout=0.5)
        if len(batch):
            out.append(batch)
    assert len(out) == count, "not enough batches"
    return out


def test_commit_batch_and_committed(backend, topic_name, group_id):
    backend.create_topic(topic_name, 2)
    produce_n(backend.bootstrap, topic_name, 2000, partition=None)
    with subscribed(backend.bootstrap, topic_name, group_id, **{"enable.auto.commit": False}) as consumer:
        one, two = first_batches(consumer, 2, 30)
        consumer.commit(one, asynchronous=False)
        committed = {tp.partition: tp.offset for tp in consumer.committed([T(topic_name, 0), T(topic_name, 1)], 30)}
        assert committed == next_of(one, partitions=2)
        assert group_committed(backend.bootstrap, group_id, topic_name, 2) == next_of(one, partitions=2)
        consumer.commit(two, asynchronous=False)
        assert group_committed(backend.bootstrap, group_id, topic_name, 2) == next_of(one, two, partitions=2)
        three = first_batches(consumer, 1, 30)[0]
        consumer.commit(asynchronous=False)  # without arguments: through the last batch handed out
        assert group_committed(backend.bootstrap, group_id, topic_name, 2) == next_of(one, two, three, partitions=2)
    # A new member of the group goes on right after the committed batches.
    with subscribed(backend.bootstrap, topic_name, group_id, **{"enable.auto.commit": False}) as consumer:
        (nxt,) = first_batches(consumer, 1, 10)
    resume = next_of(one, two, three, partitions=2)
    firsts: dict[int, int] = {}
    for m in nxt:
        firsts.setdefault(m.partition, m.offset)
    for p, o in firsts.items():
        assert o == max(resume[p], 0), f"partition {p}: the group's next member starts at {o}, committed {resume[p]}"


def test_store_offsets_batch(mock_cluster, topic_name, group_id):
    """enable.auto.offset.store=false: only what store_offsets(batch) stored is committed at close."""
    bootstrap = mock_cluster.bootstrap_servers
    mock_cluster.create_topic(topic_name, 2)
    produce_n(bootstrap, topic_name, 1000)
    config = {"enable.auto.offset.store": False, "auto.commit.interval.ms": 50}
    with subscribed(bootstrap, topic_name, group_id, **config) as consumer:
        one, two = first_batches(consumer, 2, 20)
        consumer.store_offsets(one)
        time.sleep(0.3)
    assert group_committed(bootstrap, group_id, topic_name, 2) == next_of(one, partitions=2)


def test_auto_commit_counts_a_batch_at_the_next_call(mock_cluster, topic_name, group_id):
    """Auto-commit every 50 ms: a batch is not committed while the application holds it, is at the
    next consume_batch(), and the last one at close()."""
    bootstrap = mock_cluster.bootstrap_servers
    mock_cluster.create_topic(topic_name, 2)
    produce_n(bootstrap, topic_name, 1000)
    consumer = subscribed(bootstrap, topic_name, group_id, **{"auto.commit.interval.ms": 50})
    try:
        (one,) = first_batches(consumer, 1, 25)
        time.sleep(0.8)
        nothing = {p: fk.OFFSET_INVALID for p in range(2)}
        assert group_committed(bootstrap, group_id, topic_name, 2) == nothing, "a batch still held was committed"
        (two,) = first_batches(consumer, 1, 25)
        # Auto-commit runs on librdkafka's timer: wait for it (bounded), not a guessed while.
        deadline = time.monotonic() + 10
        while (committed := group_committed(bootstrap, group_id, topic_name, 2)) != next_of(one, partitions=2):
            assert time.monotonic() < deadline, f"{committed} after the next call, not {next_of(one, partitions=2)}"
            time.sleep(0.1)
        (three,) = first_batches(consumer, 1, 25)
        time.sleep(0.3)
    finally:
        consumer.close()
    assert group_committed(bootstrap, group_id, topic_name, 2) == next_of(one, two, three, partitions=2)


SIGKILL_BATCH_CONSUMER = textwrap.dedent("""
    import json, os, sys, time
    import ferrokafka as fk
    bootstrap, group, topic = sys.argv[1:4]
    consumer = fk.Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                            "enable.auto.commit": True, "auto.commit.interval.ms": 50,
                            "session.timeout.ms": 6000, "heartbeat.interval.ms": 500})
    consumer.subscribe([topic])
    out = os.fdopen(1, "w", buffering=1)
    batches = 0
    while True:
        batch = consumer.consume_batch(40, timeout=1.0)
        if len(batch) == 0:
            continue
        batches += 1
        out.write(json.dumps([[m.partition, m.offset] for m in batch]) + "\\n")
        if batches == 4:
            out.write("processing\\n")
            time.sleep(600)  # SIGKILLed here, holding the fourth batch
        time.sleep(0.5)  # processing: ten auto-commit intervals
""")


def test_sigkill_while_processing_a_batch_loses_nothing(backend, topic_name, group_id):
    """Auto-commit on: a process killed while it holds its fourth batch has committed exactly the
    three before it, and the group's next consumer gets the fourth batch again."""
    backend.create_topic(topic_name, 2)
    produce_n(backend.bootstrap, topic_name, 2000)
    proc = subprocess.Popen(
        [sys.executable, "-c", SIGKILL_BATCH_CONSUMER, backend.bootstrap, group_id, topic_name],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line or line == "processing\n":
                break
            lines.append(line)
        assert len(lines) == 4, f"the consumer did not get four batches: {lines}"
        time.sleep(1.5)  # thirty auto-commit intervals while the fourth batch is held
    finally:
        proc.kill()
        proc.communicate(timeout=10)
    done = [json.loads(line) for line in lines[:3]]
    held = json.loads(lines[3])
    expected = {p: fk.OFFSET_INVALID for p in range(2)}
    for batch in done:
        for p, o in batch:
            expected[p] = max(expected[p], o + 1)
    committed = group_committed(backend.bootstrap, group_id, topic_name, 2)
    held_first: dict[int, int] = {}
    for p, o in held:
        held_first.setdefault(p, o)
    for p, first in held_first.items():
        resume = committed[p] if committed[p] >= 0 else 0
        assert resume <= first, f"partition {p}: committed {committed[p]}, past the held batch's first offset {first}"
    assert committed == expected, f"committed {committed}, the three processed batches end at {expected}"
    # The group's next consumer reads the held batch again.
    want = {(p, o) for p, o in held}
    got: set[tuple[int, int]] = set()
    with subscribed(backend.bootstrap, topic_name, group_id, **{"enable.auto.commit": False}) as consumer:
        deadline = time.monotonic() + 30
        while not want <= got and time.monotonic() < deadline:
            for m in consumer.consume_batch(100, timeout=0.5):
                got.add((m.partition, m.offset))
    assert want <= got, f"never delivered again: {sorted(want - got)[:10]}"
    for p in range(2):
        offsets = sorted(o for q, o in got if q == p)
        if offsets:
            assert offsets[0] == (committed[p] if committed[p] >= 0 else 0)


# --- mixing poll(), the iterator, consume() and consume_batch() -----------------------------------------


def test_mixing_poll_and_consume_batch_loses_nothing(backend, topic_name, group_id):
    backend.create_topic(topic_name, 1)
    n = 700  # more than poll()'s read-ahead (256)
    produce_n(backend.bootstrap, topic_name, n)
    offsets: list[int] = []
    with subscribed(backend.bootstrap, topic_name, group_id) as consumer:
        deadline = time.monotonic() + 5
        msg = None
        while msg is None and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
        assert msg is not None
        offsets.append(msg.offset)
        first = consumer.consume_batch(10, timeout=10)
        assert len(first) >= 1 and first[0].offset == 1, "consume_batch overtook messages fetched for poll()"
        offsets += [m.offset for m in first]
        deadline = time.monotonic() + 30
        step = 0
        while len(offsets) < n and time.monotonic() < deadline:
            step += 1
            kind = step % 4
            if kind == 0:
                msg = consumer.poll(0.2)
                if msg is not None:
                    offsets.append(msg.offset)
            elif kind == 1:
                offsets += pa.table(consumer.consume_batch(37, timeout=0.2)).column("offset").to_pylist()
            elif kind == 2:
                for i, msg in enumerate(consumer):
                    offsets.append(msg.offset)
                    if i == 4 or len(offsets) == n:
                        break
            else:
                offsets += [m.offset for m in consumer.consume(11, timeout=0.2)]
        assert len(consumer.consume_batch(10, timeout=0.3)) == 0
    assert offsets == list(range(n))


def test_mixing_keeps_order_per_partition(mock_cluster, topic_name, group_id):
    mock_cluster.create_topic(topic_name, 3)
    produce_n(mock_cluster.bootstrap_servers, topic_name, 900, partition=None)
    seen: dict[int, list[int]] = {0: [], 1: [], 2: []}
    total = 0
    with subscribed(mock_cluster.bootstrap_servers, topic_name, group_id) as consumer:
        deadline = time.monotonic() + 30
        turn = 0
        while total < 900 and time.monotonic() < deadline:
            turn += 1
            if turn % 2:
                msg = consumer.poll(0.2)
                got = [] if msg is None else [(msg.partition, msg.offset)]
            else:
                got = [(m.partition, m.offset) for m in consumer.consume_batch(50, timeout=0.2)]
            for p, o in got:
                seen[p].append(o)
            total += len(got)
    assert total == 900
    for p, offsets in seen.items():
        assert offsets == list(range(len(offsets))), f"partition {p}: {offsets[:20]}..."
    assert sum(len(o) for o in seen.values()) == 900


# --- the bad-input table (run in subprocesses) ------------------------------------------------------


class Boom(Exception):
    """Raised by the Arrow objects of the 'raising export' rows."""


DATA = "data"  # 3 partitions, 10 messages each
ROW_LIMIT = 20.0  # seconds a row may take
STARTUP_LIMIT = 60.0  # seconds the runner may take to import and fill its mock cluster


class RowEnv:
    """Fresh clients for one row; `queued()` counts what the row's producers hold (it must be 0 after a
    rejected call: nothing may be sent before everything is validated)."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.consumers: list[fk.Consumer] = []
        self.producers: list[fk.Producer] = []

    def consumer(self) -> fk.Consumer:
        consumer = fk.Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": f"bad-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        self.consumers.append(consumer)
        consumer.assign([T(DATA, p, 0) for p in range(3)])
        return consumer

    def producer(self) -> fk.Producer:
        # linger.ms: anything a rejected call produced would still be queued when checked.
        producer = fk.Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 60_000})
        self.producers.append(producer)
        return producer

    def batch(self) -> fk.MessageBatch:
        consumer = self.consumer()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            batch = consumer.consume_batch(5, timeout=0.5)
            if len(batch):
                return batch
        raise AssertionError("setup: no batch")

    def queued(self) -> int:
        return sum(len(p) for p in self.producers if not p.closed)

    def close(self) -> None:
        for consumer in self.consumers:
            consumer.close()
        for producer in self.producers:
            producer.close(0)


@dataclass(frozen=True)
class BadInput:
    id: str
    call: str  # as a reader would write it
    expected: tuple[type[BaseException], ...] | None  # None: must succeed (the row checks the result)
    fn: Callable[[RowEnv], object]


BAD_INPUTS: list[BadInput] = []
VALUE_OR_TYPE = (TypeError, ValueError)
OUT_OF_RANGE = (ValueError, OverflowError)


def bad(id: str, call: str, expected: tuple[type[BaseException], ...] | None, fn: Callable[[RowEnv], object]) -> None:
    assert all(row.id != id for row in BAD_INPUTS), id
    BAD_INPUTS.append(BadInput(id, call, expected, fn))


def _returns_data(batch: object) -> None:
    assert isinstance(batch, fk.MessageBatch), f"returned {batch!r}"
    assert len(batch) >= 1, "returned an empty batch although data was there"


def _zero_max_messages(e: RowEnv) -> None:
    """max_messages=0: ValueError, or an empty batch that takes (and loses) nothing."""
    consumer = e.consumer()
    try:
        batch = consumer.consume_batch(0, timeout=1)
    except ValueError:
        return
    assert isinstance(batch, fk.MessageBatch) and len(batch) == 0, f"consume_batch(0) returned {batch!r}"
    after = consumer.consume_batch(30, timeout=5)
    firsts: dict[int, int] = {}
    for m in after:
        firsts.setdefault(m.partition, m.offset)
    assert firsts and all(o == 0 for o in firsts.values()), f"messages lost by consume_batch(0): {firsts}"


for _id, _call, _exp, _args in [
    ("max_messages_negative", "consume_batch(-1)", OUT_OF_RANGE, (-1,)),
    ("max_messages_min_int", "consume_batch(-2**63)", OUT_OF_RANGE, (-(2**63),)),
    ("max_messages_2p64", "consume_batch(2**64)", OUT_OF_RANGE, (2**64,)),
    ("max_messages_1e30", "consume_batch(10**30)", OUT_OF_RANGE, (10**30,)),
    ("max_messages_float", "consume_batch(1.5)", (TypeError,), (1.5,)),
    ("max_messages_float_integral", "consume_batch(10.0)", (TypeError,), (10.0,)),
    ("max_messages_str", 'consume_batch("10")', (TypeError,), ("10",)),
    ("max_messages_bytes", 'consume_batch(b"10")', (TypeError,), (b"10",)),
    ("max_messages_none", "consume_batch(None)", (TypeError,), (None,)),
    ("max_messages_list", "consume_batch([10])", (TypeError,), ([10],)),
    ("timeout_negative", "consume_batch(10, -1)", (ValueError,), (10, -1)),
    ("timeout_negative_small", "consume_batch(10, -0.001)", (ValueError,), (10, -0.001)),
    ("timeout_minus_inf", "consume_batch(10, -inf)", (ValueError,), (10, -INF)),
    ("timeout_nan", "consume_batch(10, nan)", (ValueError,), (10, NAN)),
    ("timeout_str", 'consume_batch(10, "1")', (TypeError,), (10, "1")),
    ("timeout_bytes", 'consume_batch(10, b"1")', (TypeError,), (10, b"1")),
    ("timeout_list", "consume_batch(10, [1])", (TypeError,), (10, [1])),
    ("timeout_complex", "consume_batch(10, 1j)", (TypeError,), (10, 1j)),
]:
    bad(f"consume_batch.{_id}", _call, _exp, lambda e, a=_args: e.consumer().consume_batch(*a))

bad("consume_batch.max_messages_0", "consume_batch(0)  # ValueError or an empty batch", None, _zero_max_messages)
bad(
    "consume_batch.max_messages_2p31",
    "consume_batch(2**31, 5)  # data there: returns it",
    None,
    lambda e: _returns_data(e.consumer().consume_batch(2**31, 5)),
)
bad(
    "consume_batch.timeout_inf",
    "consume_batch(10, inf)  # inf means forever; data there: returns it",
    None,
    lambda e: _returns_data(e.consumer().consume_batch(10, INF)),
)
bad(
    "consume_batch.timeout_huge",
    "consume_batch(10, 1e300)  # saturates; data there: returns it",
    None,
    lambda e: _returns_data(e.consumer().consume_batch(10, 1e300)),
)
bad(
    "consume_batch.keywords",
    "consume_batch(max_messages=10, timeout=5)",
    None,
    lambda e: _returns_data(e.consumer().consume_batch(max_messages=10, timeout=5)),
)
bad(
    "consume_batch.unknown_keyword",
    "consume_batch(10, bogus=1)",
    (TypeError,),
    lambda e: e.consumer().consume_batch(10, bogus=1),
)
bad(
    "consume_batch.too_many_args",
    "consume_batch(10, 1, 2)",
    (TypeError,),
    lambda e: e.consumer().consume_batch(10, 1, 2),
)


def _closed_consumer(e: RowEnv) -> object:
    consumer = e.consumer()
    consumer.close()
    return consumer.consume_batch(10, 0)


bad("consume_batch.closed", "consumer.close(); consume_batch(10, 0)", (fk.Error,), _closed_consumer)

# The batch as a sequence and an Arrow exporter
for _id, _call, _exp, _index in [
    ("index_len", "batch[len(batch)]", (IndexError,), "len"),
    ("index_minus_len_minus_1", "batch[-len(batch) - 1]", (IndexError,), "-len-1"),
    ("index_2p63", "batch[2**63]", (IndexError, OverflowError), 2**63),
    ("index_minus_2p70", "batch[-2**70]", (IndexError, OverflowError), -(2**70)),
    ("index_str", 'batch["0"]', (TypeError,), "0"),
    ("index_float", "batch[0.0]", (TypeError,), 0.0),
    ("index_none", "batch[None]", (TypeError,), None),
    ("index_slice", "batch[0:2]", (TypeError,), slice(0, 2)),
    ("index_tuple", "batch[0, 1]", (TypeError,), (0, 1)),
]:

    def _index_row(e: RowEnv, index: object = _index) -> object:
        batch = e.batch()
        if index == "len":
            index = len(batch)
        elif index == "-len-1":
            index = -len(batch) - 1
        return batch[index]

    bad(f"batch.{_id}", _call, _exp, _index_row)


def _import_array(capsules: object) -> pa.RecordBatch:
    assert isinstance(capsules, tuple) and len(capsules) == 2, capsules
    return pa.RecordBatch._import_from_c_capsule(*capsules)


for _id, _call, _requested in [
    ("int", "(requested_schema=5)", lambda: 5),
    ("str", '(requested_schema="x")', lambda: "x"),
    ("array_capsule", "(requested_schema=<an arrow_array capsule>)", lambda: pa.array([1]).__arrow_c_array__()[1]),
    (
        "stream_capsule",
        "(requested_schema=<an arrow_array_stream capsule>)",
        lambda: pa.table({"x": [1]}).__arrow_c_stream__(),
    ),
]:

    def _requested_row(e: RowEnv, requested: Any = _requested) -> None:
        """Not a schema capsule: TypeError/ValueError, or ignored (the batch's own data)."""
        batch = e.batch()
        try:
            rb = _import_array(batch.__arrow_c_array__(requested_schema=requested()))
        except (TypeError, ValueError):
            return
        assert rb.schema == pa.schema(batch) and rb.num_rows == len(batch)

    def _requested_stream_row(e: RowEnv, requested: Any = _requested) -> None:
        batch = e.batch()
        try:
            capsule = batch.__arrow_c_stream__(requested_schema=requested())
        except (TypeError, ValueError):
            return
        table = pa.RecordBatchReader._import_from_c_capsule(capsule).read_all()
        assert table.schema == pa.schema(batch) and table.num_rows == len(batch)

    bad(f"batch.requested_schema_{_id}", f"batch.__arrow_c_array__{_call}  # raise or ignore", None, _requested_row)
    bad(
        f"batch.stream_requested_schema_{_id}",
        f"batch.__arrow_c_stream__{_call}  # raise or ignore",
        None,
        _requested_stream_row,
    )


def _other_requested_schema(e: RowEnv) -> None:
    """A schema the batch cannot give: refused (ValueError, TypeError, NotImplementedError) or ignored
    (the PyCapsule protocol allows returning the batch's own schema)."""
    batch = e.batch()
    other = pa.schema([("x", pa.int64())])
    try:
        rb = _import_array(batch.__arrow_c_array__(requested_schema=other.__arrow_c_schema__()))
    except (ValueError, TypeError, NotImplementedError):
        return
    assert rb.schema == pa.schema(batch) and rb.num_rows == len(batch)


bad(
    "batch.requested_schema_other",
    "batch.__arrow_c_array__(requested_schema=<int64 schema>)",
    None,
    _other_requested_schema,
)
bad(
    "batch.commit_other_type",
    "consumer.commit(5)  # still TypeError with batches",
    (TypeError,),
    lambda e: e.consumer().commit(5),
)

# produce_batch: the call
PRODUCE_ROWS: list[tuple[str, str, tuple[type[BaseException], ...], Callable[[fk.Producer], object]]] = [
    ("topic_int", "produce_batch(5, [b'v'])", (TypeError,), lambda p: p.produce_batch(5, [b"v"])),
    ("topic_none", "produce_batch(None, [b'v'])", (TypeError,), lambda p: p.produce_batch(None, [b"v"])),
    ("topic_bytes", "produce_batch(b'data', [b'v'])", (TypeError,), lambda p: p.produce_batch(b"data", [b"v"])),
    ("messages_int", "produce_batch(t, 5)", (TypeError,), lambda p: p.produce_batch(DATA, 5)),
    ("messages_none", "produce_batch(t, None)", (TypeError,), lambda p: p.produce_batch(DATA, None)),
    ("messages_bytes", "produce_batch(t, b'abc')", (TypeError,), lambda p: p.produce_batch(DATA, b"abc")),
    ("messages_str", "produce_batch(t, 'abc')", (TypeError,), lambda p: p.produce_batch(DATA, "abc")),
    ("messages_dict", "produce_batch(t, {'value': b'v'})", (TypeError,), lambda p: p.produce_batch(DATA, {"value": b"v"})),
    ("messages_set", "produce_batch(t, {b'v'})", (TypeError,), lambda p: p.produce_batch(DATA, {b"v"})),
    ("messages_generator", "produce_batch(t, (v for v in [b'v']))", (TypeError,), lambda p: p.produce_batch(DATA, (v for v in [b"v"]))),
    ("messages_missing", "produce_batch(t)", (TypeError,), lambda p: p.produce_batch(DATA)),
    ("partition_2p31", "produce_batch(t, [b'v'], partition=2**31)", OUT_OF_RANGE, lambda p: p.produce_batch(DATA, [b"v"], partition=2**31)),
    ("partition_minus_2p31_minus_1", "produce_batch(t, [b'v'], partition=-2**31-1)", OUT_OF_RANGE, lambda p: p.produce_batch(DATA, [b"v"], partition=-(2**31) - 1)),
    ("partition_2p64", "produce_batch(t, [b'v'], partition=2**64)", OUT_OF_RANGE, lambda p: p.produce_batch(DATA, [b"v"], partition=2**64)),
    ("partition_str", "produce_batch(t, [b'v'], partition='1')", (TypeError,), lambda p: p.produce_batch(DATA, [b"v"], partition="1")),
    ("partition_float", "produce_batch(t, [b'v'], partition=1.0)", (TypeError,), lambda p: p.produce_batch(DATA, [b"v"], partition=1.0)),
    ("partition_positional", "produce_batch(t, [b'v'], 1)", (TypeError,), lambda p: p.produce_batch(DATA, [b"v"], 1)),
    ("on_delivery_int", "produce_batch(t, [b'v'], on_delivery=5)", (TypeError,), lambda p: p.produce_batch(DATA, [b"v"], on_delivery=5)),
    ("on_delivery_str", "produce_batch(t, [b'v'], on_delivery='x')", (TypeError,), lambda p: p.produce_batch(DATA, [b"v"], on_delivery="x")),
    ("unknown_keyword", "produce_batch(t, [b'v'], bogus=1)", (TypeError,), lambda p: p.produce_batch(DATA, [b"v"], bogus=1)),
    # items of a list
    ("item_int", "produce_batch(t, [5])", (TypeError,), lambda p: p.produce_batch(DATA, [5])),
    ("item_float", "produce_batch(t, [1.5])", (TypeError,), lambda p: p.produce_batch(DATA, [1.5])),
    ("item_object", "produce_batch(t, [object()])", (TypeError,), lambda p: p.produce_batch(DATA, [object()])),
    ("item_bad_last", "produce_batch(t, [b'ok'] * 50 + [5])", (TypeError,), lambda p: p.produce_batch(DATA, [b"ok"] * 50 + [5])),
    ("item_bad_in_tuple_list", "produce_batch(t, ([b'ok'], 5))", (TypeError,), lambda p: p.produce_batch(DATA, (b"ok", 5))),
    ("tuple_empty", "produce_batch(t, [()])", VALUE_OR_TYPE, lambda p: p.produce_batch(DATA, [()])),
    ("tuple_one", "produce_batch(t, [(b'k',)])", VALUE_OR_TYPE, lambda p: p.produce_batch(DATA, [(b"k",)])),
    ("tuple_six", "produce_batch(t, [(b'k', b'v', None, None, None, None)])", VALUE_OR_TYPE, lambda p: p.produce_batch(DATA, [(b"k", b"v", None, None, None, None)])),
    ("tuple_key_int", "produce_batch(t, [(5, b'v')])", (TypeError,), lambda p: p.produce_batch(DATA, [(5, b"v")])),
    ("tuple_value_int", "produce_batch(t, [(b'k', 5)])", (TypeError,), lambda p: p.produce_batch(DATA, [(b"k", 5)])),
    ("tuple_headers_str", "produce_batch(t, [(b'k', b'v', 'headers')])", (TypeError,), lambda p: p.produce_batch(DATA, [(b"k", b"v", "headers")])),
    ("tuple_headers_int", "produce_batch(t, [(b'k', b'v', 5)])", (TypeError,), lambda p: p.produce_batch(DATA, [(b"k", b"v", 5)])),
    ("tuple_header_key_int", "produce_batch(t, [(b'k', b'v', [(1, b'x')])])", (TypeError,), lambda p: p.produce_batch(DATA, [(b"k", b"v", [(1, b"x")])])),
    ("tuple_header_value_int", "produce_batch(t, [(b'k', b'v', [('h', 5)])])", (TypeError,), lambda p: p.produce_batch(DATA, [(b"k", b"v", [("h", 5)])])),
    ("tuple_header_pair_short", "produce_batch(t, [(b'k', b'v', [('h',)])])", VALUE_OR_TYPE, lambda p: p.produce_batch(DATA, [(b"k", b"v", [("h",)])])),
    ("tuple_timestamp_str", "produce_batch(t, [(b'k', b'v', None, 'now')])", (TypeError,), lambda p: p.produce_batch(DATA, [(b"k", b"v", None, "now")])),
    ("tuple_timestamp_float", "produce_batch(t, [(b'k', b'v', None, 1.5)])", (TypeError,), lambda p: p.produce_batch(DATA, [(b"k", b"v", None, 1.5)])),
    ("tuple_timestamp_2p64", "produce_batch(t, [(b'k', b'v', None, 2**64)])", OUT_OF_RANGE, lambda p: p.produce_batch(DATA, [(b"k", b"v", None, 2**64)])),
    ("tuple_partition_str", "produce_batch(t, [(b'k', b'v', None, None, '0')])", (TypeError,), lambda p: p.produce_batch(DATA, [(b"k", b"v", None, None, "0")])),
    ("tuple_partition_2p31", "produce_batch(t, [(b'k', b'v', None, None, 2**31)])", OUT_OF_RANGE, lambda p: p.produce_batch(DATA, [(b"k", b"v", None, None, 2**31)])),
    ("dict_value_int", "produce_batch(t, [{'value': 5}])", (TypeError,), lambda p: p.produce_batch(DATA, [{"value": 5}])),
    ("dict_key_int", "produce_batch(t, [{'value': b'v', 'key': 5}])", (TypeError,), lambda p: p.produce_batch(DATA, [{"value": b"v", "key": 5}])),
    ("dict_headers_int", "produce_batch(t, [{'value': b'v', 'headers': 5}])", (TypeError,), lambda p: p.produce_batch(DATA, [{"value": b"v", "headers": 5}])),
    ("dict_timestamp_str", "produce_batch(t, [{'value': b'v', 'timestamp': 'x'}])", (TypeError,), lambda p: p.produce_batch(DATA, [{"value": b"v", "timestamp": "x"}])),
    ("dict_partition_2p31", "produce_batch(t, [{'value': b'v', 'partition': 2**31}])", OUT_OF_RANGE, lambda p: p.produce_batch(DATA, [{"value": b"v", "partition": 2**31}])),
    ("dict_partition_str", "produce_batch(t, [{'value': b'v', 'partition': '0'}])", (TypeError,), lambda p: p.produce_batch(DATA, [{"value": b"v", "partition": "0"}])),
]  # fmt: skip


def _table(**columns: Any) -> pa.Table:
    return pa.table(columns)


class FakeArrowStream:
    def __init__(self, stream: Callable[[], object]) -> None:
        self._stream = stream

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        return self._stream()


class FakeArrowArray:
    def __init__(self, array: Callable[[], object]) -> None:
        self._array = array

    def __arrow_c_array__(self, requested_schema: object = None) -> object:
        return self._array()


def _raise_boom() -> object:
    raise Boom("export failed")


_BIN = [b"a", b"b"]
ARROW_ROWS: list[tuple[str, str, tuple[type[BaseException], ...], Callable[[], object]]] = [
    ("no_value_column", "pa.table({key: binary})", VALUE_OR_TYPE, lambda: _table(key=_BIN)),
    ("no_columns", "pa.table({x: int64})", VALUE_OR_TYPE, lambda: _table(x=[1, 2])),
    ("value_int64", "pa.table({value: int64})", VALUE_OR_TYPE, lambda: _table(value=[1, 2])),
    ("value_float", "pa.table({value: float64})", VALUE_OR_TYPE, lambda: _table(value=[1.5, 2.5])),
    ("value_list", "pa.table({value: list<int8>})", VALUE_OR_TYPE, lambda: _table(value=pa.array([[1], [2]], pa.list_(pa.int8())))),
    ("value_struct", "pa.table({value: struct<a: binary>})", VALUE_OR_TYPE, lambda: _table(value=pa.array([{"a": b"x"}], pa.struct([("a", pa.binary())])))),
    ("key_int64", "pa.table({value: binary, key: int64})", VALUE_OR_TYPE, lambda: _table(value=_BIN, key=[1, 2])),
    ("headers_list_of_str", "pa.table({value, headers: list<string>})", VALUE_OR_TYPE, lambda: _table(value=_BIN, headers=[["a"], ["b"]])),
    ("headers_str", "pa.table({value, headers: string})", VALUE_OR_TYPE, lambda: _table(value=_BIN, headers=["a", "b"])),
    ("headers_struct_no_value", "pa.table({value, headers: list<struct<key: string>>})", VALUE_OR_TYPE, lambda: _table(value=_BIN, headers=[[{"key": "a"}], []])),
    ("headers_value_int", "pa.table({value, headers: list<struct<key: string, value: int64>>})", VALUE_OR_TYPE, lambda: _table(value=_BIN, headers=[[{"key": "a", "value": 1}], []])),
    ("headers_key_int", "pa.table({value, headers: list<struct<key: int64, value: binary>>})", VALUE_OR_TYPE, lambda: _table(value=_BIN, headers=[[{"key": 1, "value": b"x"}], []])),
    ("partition_str", "pa.table({value, partition: string})", VALUE_OR_TYPE, lambda: _table(value=_BIN, partition=["0", "1"])),
    ("partition_float", "pa.table({value, partition: float64})", VALUE_OR_TYPE, lambda: _table(value=_BIN, partition=[0.0, 1.0])),
    ("timestamp_str", "pa.table({value, timestamp: string})", VALUE_OR_TYPE, lambda: _table(value=_BIN, timestamp=["now", "then"])),
    ("timestamp_float", "pa.table({value, timestamp: float64})", VALUE_OR_TYPE, lambda: _table(value=_BIN, timestamp=[1.5, 2.5])),
    ("array_int64", "pa.array([1, 2])", VALUE_OR_TYPE, lambda: pa.array([1, 2])),
    ("array_struct", "pa.array([{value: b'a'}])  # a struct array is not a binary array", VALUE_OR_TYPE, lambda: pa.array([{"x": 1}])),
    ("polars_value_int", "pl.DataFrame({value: Int64})", VALUE_OR_TYPE, lambda: pl.DataFrame({"value": [1, 2]})),
    ("stream_raises", "<__arrow_c_stream__ raises Boom>", (Boom, TypeError, ValueError), lambda: FakeArrowStream(_raise_boom)),
    ("stream_returns_int", "<__arrow_c_stream__ returns 5>", VALUE_OR_TYPE, lambda: FakeArrowStream(lambda: 5)),
    ("stream_returns_schema_capsule", "<__arrow_c_stream__ returns a schema capsule>", VALUE_OR_TYPE, lambda: FakeArrowStream(lambda: pa.schema([("value", pa.binary())]).__arrow_c_schema__())),
    ("array_raises", "<__arrow_c_array__ raises Boom>", (Boom, TypeError, ValueError), lambda: FakeArrowArray(_raise_boom)),
    ("array_returns_int", "<__arrow_c_array__ returns 5>", VALUE_OR_TYPE, lambda: FakeArrowArray(lambda: 5)),
    ("array_returns_triple", "<__arrow_c_array__ returns a 3-tuple>", VALUE_OR_TYPE, lambda: FakeArrowArray(lambda: (*pa.array(_BIN).__arrow_c_array__(), None))),
    ("array_returns_swapped", "<__arrow_c_array__ returns (array, schema) capsules>", VALUE_OR_TYPE, lambda: FakeArrowArray(lambda: pa.array(_BIN).__arrow_c_array__()[::-1])),
    ("array_returns_two_schemas", "<__arrow_c_array__ returns (schema, schema) capsules>", VALUE_OR_TYPE, lambda: FakeArrowArray(lambda: (pa.array(_BIN).__arrow_c_array__()[0],) * 2)),
    ("stream_int_value", "<a stream of {value: int64}>", VALUE_OR_TYPE, lambda: FakeArrowStream(lambda: _table(value=[1, 2]).__arrow_c_stream__())),
]  # fmt: skip

for _pid, _pcall, _pexc, _pfn in PRODUCE_ROWS:
    bad(f"produce_batch.{_pid}", _pcall, _pexc, lambda e, fn=_pfn: fn(e.producer()))
for _aid, _acall, _aexc, _amake in ARROW_ROWS:
    bad(
        f"produce_batch.arrow_{_aid}",
        f"produce_batch(t, {_acall})",
        _aexc,
        lambda e, make=_amake: e.producer().produce_batch(DATA, make()),
    )


def _closed_producer(e: RowEnv) -> object:
    producer = e.producer()
    producer.close()
    return producer.produce_batch(DATA, [b"v"])


bad("produce_batch.closed", "producer.close(); produce_batch(t, [b'v'])", (fk.Error,), _closed_producer)


def _row_outcome(row: BadInput, bootstrap: str) -> tuple[str, str]:
    env = RowEnv(bootstrap)
    outcome: tuple[str, str]
    try:
        row.fn(env)
    except BaseException as err:  # noqa: B036 - a panic is a BaseException: judged here
        observed = f"{type(err).__module__}.{type(err).__qualname__}: {err}"[:600]
        if "PanicException" in type(err).__name__:
            outcome = ("panic", observed)
        elif row.expected is not None and isinstance(err, row.expected):
            queued = env.queued()
            outcome = ("ok", observed) if queued == 0 else ("wrong", f"{observed}, but {queued} message(s) were queued")
        else:
            outcome = ("wrong", observed)
    else:
        outcome = ("ok", "succeeded") if row.expected is None else ("wrong", "no exception")
    try:
        env.close()
    except BaseException as err:  # noqa: B036
        outcome = ("wrong", f"{outcome[1]}; then closing the clients raised {type(err).__name__}: {err}")
    return outcome


def _bad_input_runner() -> None:
    """The subprocess: reads row ids on stdin, writes a JSON line per row on stdout."""
    ids = json.loads(sys.stdin.read())
    by_id = {row.id: row for row in BAD_INPUTS}
    out = sys.stdout
    with fk.MockCluster(num_brokers=1) as cluster:
        cluster.create_topic(DATA, 3)
        with fk.Producer({"bootstrap.servers": cluster.bootstrap_servers}) as producer:
            for i in range(30):
                producer.produce(DATA, b"v%d" % i, key=b"k%d" % i, partition=i % 3, headers=[("h", b"x")])
            assert producer.flush(30) == 0
        for row_id in ids:
            out.write(json.dumps({"event": "start", "id": row_id}) + "\n")
            out.flush()
            sys.stderr.write(f"@@ROW {row_id}\n")
            sys.stderr.flush()
            outcome, observed = _row_outcome(by_id[row_id], cluster.bootstrap_servers)
            out.write(json.dumps({"event": "result", "id": row_id, "outcome": outcome, "observed": observed}) + "\n")
            out.flush()
    out.write(json.dumps({"event": "done"}) + "\n")
    out.flush()


def _panics_by_row(stderr_text: str) -> dict[str, str]:
    """'panicked at ...' lines on the runner's stderr, by the row that was running."""
    found: dict[str, str] = {}
    current = "<startup>"
    for line in stderr_text.splitlines():
        if line.startswith("@@ROW "):
            current = line[len("@@ROW ") :].strip()
        elif " panicked at " in line and current not in found:
            found[current] = line.strip()[:300]
    return found


def _run_bad_inputs(ids: list[str]) -> dict[str, tuple[str, str]]:
    """Runs the rows in runner subprocesses; a crash or a hang fails its row and a new runner goes on
    with the rest."""
    results: dict[str, tuple[str, str]] = {}
    pending = list(ids)
    while pending:
        with tempfile.TemporaryFile() as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-X", "faulthandler", str(Path(__file__)), "--bad-input-rows"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                cwd=str(Path(__file__).parent),
                env={**os.environ, "RUST_BACKTRACE": "0"},
                text=True,
                start_new_session=True,
            )
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(json.dumps(pending))
            proc.stdin.close()
            lines: queue.Queue[str | None] = queue.Queue()

            def pump(stdout: Any = proc.stdout) -> None:
                for line in stdout:
                    lines.put(line)
                lines.put(None)

            threading.Thread(target=pump, daemon=True).start()
            current: str | None = None
            started = False
            ended = "eof"
            while True:
                try:
                    line = lines.get(timeout=ROW_LIMIT if started else STARTUP_LIMIT)
                except queue.Empty:
                    ended = "timeout"
                    break
                if line is None:
                    break
                event = json.loads(line)
                if event["event"] == "start":
                    current, started = event["id"], True
                elif event["event"] == "result":
                    results[event["id"]] = (event["outcome"], event["observed"])
                    current = None
                elif event["event"] == "done":
                    ended = "done"
            if proc.poll() is None:
                if ended != "done":
                    os.killpg(proc.pid, signal.SIGKILL)
            returncode = proc.wait(30)
            stderr.seek(0)
            text = stderr.read().decode("utf-8", "replace")
        progress = any(row_id in results for row_id in pending)
        for row_id, panic in _panics_by_row(text).items():
            if row_id in results and results[row_id][0] in ("ok", "wrong"):
                results[row_id] = ("panic", f"{results[row_id][1]} [{panic}]")
        if current is not None:
            tail = " | ".join(text.strip().splitlines()[-4:])[-800:]
            if ended == "timeout":
                results[current] = ("hang", f"no result within {ROW_LIMIT:.0f} s (runner killed); stderr: {tail}")
            else:
                results[current] = ("crash", f"the runner died (exit {returncode}); stderr: {tail}")
        elif not progress:
            tail = " | ".join(text.strip().splitlines()[-8:])[-1500:]
            for row_id in pending:
                results[row_id] = ("crash", f"the runner stopped without a result (exit {returncode}): {tail}")
        pending = [row_id for row_id in pending if row_id not in results]
    return results


_bad_results: dict[str, tuple[str, str]] = {}


@pytest.fixture(scope="module")
def bad_input_results(request: pytest.FixtureRequest) -> dict[str, tuple[str, str]]:
    if not _bad_results:
        selected = [
            item.callspec.params["row_id"]
            for item in request.session.items
            if getattr(item, "originalname", None) == "test_batch_bad_input"
            and hasattr(item, "callspec")
            and item.path == Path(__file__)
        ]
        _bad_results.update(_run_bad_inputs(selected or [row.id for row in BAD_INPUTS]))
    return _bad_results


@pytest.mark.parametrize("row_id", [row.id for row in BAD_INPUTS])
def test_batch_bad_input(row_id: str, bad_input_results: dict[str, tuple[str, str]]) -> None:
    """Each bad input raises its proper exception (nothing queued), or succeeds where the row says so;
    never a panic, a crash or a hang."""
    row = next(r for r in BAD_INPUTS if r.id == row_id)
    outcome, observed = bad_input_results[row_id]
    expected = "success" if row.expected is None else " or ".join(c.__name__ for c in row.expected)
    assert outcome == "ok", f"[{outcome}] {row.call}: expected {expected}, observed {observed}"


def test_clients_still_work_after_bad_inputs(mock_cluster, topic_name, group_id):
    """In this process: after a run of rejected calls, the same consumer and producer carry on."""
    mock_cluster.create_topic(topic_name, 1)
    with fk.Producer({"bootstrap.servers": mock_cluster.bootstrap_servers, "linger.ms": 5}) as producer:
        for messages in ([5], [(b"k",)], pa.table({"value": [1]}), None, "abc"):
            with pytest.raises((TypeError, ValueError)):
                producer.produce_batch(topic_name, messages)
        assert len(producer) == 0
        results = deliver(producer, topic_name, [b"a", b"b"])
    assert [r.offset for r in results] == [0, 1]
    with subscribed(mock_cluster.bootstrap_servers, topic_name, group_id) as consumer:
        for args in ((-1,), (10, NAN), ("10",), (10, -1)):
            with pytest.raises((TypeError, ValueError)):
                consumer.consume_batch(*args)
        (batch,) = take_batches(consumer, 2)
    assert [m.payload for m in batch] == [b"a", b"b"]


if __name__ == "__main__" and "--bad-input-rows" in sys.argv:
    _bad_input_runner()


def test_a_message_batch_pickles_as_the_owned_data_it_is(mock_cluster, topic_name, group_id):
    """A MessageBatch owns its memory: it pickles (to another process, a cache) with every column,
    its rows and the offsets commit(batch) would commit."""
    import pickle

    bootstrap = mock_cluster.bootstrap_servers
    mock_cluster.create_topic(topic_name, 2)
    filled_topic(bootstrap, topic_name, 6, partitions=2)
    with fk.Consumer(consumer_config(bootstrap, group_id)) as consumer:
        consumer.subscribe([topic_name])
        batches = take_batches(consumer, 6)
    with fk.Producer({"bootstrap.servers": bootstrap}) as producer:
        producer.produce(topic_name, None, partition=0).result(10)  # a NULL value, no headers
    with fk.Consumer(consumer_config(bootstrap, group_id)) as consumer:
        consumer.subscribe([topic_name])
        batches += take_batches(consumer, 1)
    empty = fk.Consumer(consumer_config(bootstrap, group_id))
    try:
        batches.append(empty.consume_batch(10, timeout=0))
    finally:
        empty.close()
    for batch in batches:
        clone = pickle.loads(pickle.dumps(batch))
        assert type(clone) is fk.MessageBatch and len(clone) == len(batch)
        assert pa.table(clone).equals(pa.table(batch))
        assert list(clone) == list(batch)
        assert clone.next_offsets == batch.next_offsets


@pytest.mark.parametrize(
    ("message", "what"),
    [
        ((None, b"v", None, None, -7), "partition"),
        ((None, b"v", None, None, 2**40), "partition"),
        ((None, b"v", None, -5), "timestamp"),
        ({"value": b"v", "partition": -2}, "partition"),
        ({"value": b"v", "timestamp": -1}, "timestamp"),
    ],
)
def test_produce_batch_checks_partition_and_timestamp_as_produce_does(mock_producer, topic_name, message, what):
    """One rule for a message's partition (-1, the partitioner, or 0 to 2**31-1) and timestamp (ms
    since the epoch, >= 0): produce() and produce_batch() refuse the same values, up front, with a
    ValueError naming the field (produce_batch: and the message's index)."""
    kwargs = (
        message
        if isinstance(message, dict)
        else dict(zip(("key", "value", "headers", "timestamp", "partition"), message))
    )
    kwargs = {k: v for k, v in kwargs.items() if k in ("partition", "timestamp") and v is not None}
    with pytest.raises(ValueError, match=rf"^{what} must be .*, not {list(kwargs.values())[0]}$"):
        mock_producer.produce(topic_name, b"v", **kwargs)
    with pytest.raises(ValueError, match=rf"^messages\[1\]: {what} must be .*, not {list(kwargs.values())[0]}$"):
        mock_producer.produce_batch(topic_name, [b"ok", message])
    if what == "partition":
        with pytest.raises(ValueError, match=rf"^partition must be .*, not {kwargs['partition']}$"):
            mock_producer.produce_batch(topic_name, [b"ok"], partition=kwargs["partition"])
    assert len(mock_producer) == 0, "nothing is sent when a message is refused"


@pytest.mark.parametrize("column", ["partition", "timestamp"])
def test_produce_batch_checks_arrow_partitions_and_timestamps(mock_producer, topic_name, column):
    values = {"partition": pa.array([0, -3], pa.int32()), "timestamp": pa.array([0, -3], pa.int64())}
    table = pa.table({"value": [b"a", b"b"], column: values[column]})
    with pytest.raises(ValueError, match=rf"^messages\[1\]: {column} must be .*, not -3$"):
        mock_producer.produce_batch(topic_name, table)
    assert len(mock_producer) == 0
