# Some checks pass wrong types on purpose.
# mypy: disable-error-code="arg-type, call-arg, list-item, dict-item, misc, call-overload, operator, index"
"""``Producer.produce_batch()``: a list of values / tuples / dicts or an Arrow object sent in one
call, with one future for the whole batch.

Round trips read what was sent back with ``consume_batch()`` and ``poll()`` (values, keys, headers,
timestamps, partitions), on the mock cluster and, through ``backend``, a real broker; then the
batch's future, per-message failures, callbacks, a full queue and Ctrl-C.
"""

from __future__ import annotations

import concurrent.futures
import signal
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any

import polars as pl
import pyarrow as pa
import pytest

import ferrokafka as fk
from arrow_batch_helpers import (
    TS,
    Sent,
    arrow_fields,
    as_fields,
    by_position,
    check_round_trip,
    consumed,
    deliver,
    filled_topic,
)
from conftest import Backend


@pytest.fixture
def producer(backend: Backend) -> Any:
    with fk.Producer({"bootstrap.servers": backend.bootstrap, "linger.ms": 5}) as producer:
        yield producer


@pytest.fixture
def mock_producer(mock_cluster: fk.MockCluster) -> Any:
    with fk.Producer({"bootstrap.servers": mock_cluster.bootstrap_servers, "linger.ms": 5}) as producer:
        yield producer


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


def test_a_mixed_batch_larger_than_the_queue_keeps_every_message_in_order(mock_cluster, topic_name):
    """Messages with headers (sent one by one) between runs of plain ones (sent in runs), 1000 of
    them through a queue of 30: those refused for a full queue are sent again, none twice, none lost."""
    mock_cluster.create_topic(topic_name, 1)
    config = {"bootstrap.servers": mock_cluster.bootstrap_servers, "queue.buffering.max.messages": 30, "linger.ms": 1}
    messages = [(None, b"m%d" % i, [("h", b"%d" % i)]) if i % 7 == 0 else (None, b"m%d" % i) for i in range(1000)]
    with fk.Producer(config) as producer:
        results = deliver(producer, topic_name, messages)
    assert [r.offset for r in results] == list(range(1000)), [
        r for r in results if not isinstance(r, fk.DeliveryReport)
    ][:3]
    values = [f[6] for b in consumed(mock_cluster.bootstrap_servers, topic_name, 1000) for f in arrow_fields(b)]
    assert values == [b"m%d" % i for i in range(1000)]


def test_close_during_a_produce_batch_waiting_for_room_resolves_every_message(topic_name):
    """close() from another thread while produce_batch() waits for queue room (no broker): the call
    returns, and its future resolves with one entry per message, each a KafkaError (those never
    queued: _DESTROY)."""
    producer = fk.Producer(
        {"bootstrap.servers": "127.0.0.1:1", "queue.buffering.max.messages": 10, "message.timeout.ms": 600000}
    )
    closer = threading.Timer(0.5, producer.close, args=(0,))
    closer.start()
    try:
        future = producer.produce_batch(topic_name, [b"x"] * 1000)
    finally:
        closer.join()
    results = future.result(30)
    assert len(results) == 1000
    assert results.delivered == 0
    errors = dict(results.errors)
    assert sorted(errors) == list(range(1000))
    assert sum(e.code() == fk.KafkaError._DESTROY for e in errors.values()) >= 990


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
        why = Counter(f"{error.name()}: {'interrupted' in str(error)}" for _, error in results.errors)
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
