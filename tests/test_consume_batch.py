"""``Consumer.consume_batch()``: a ``MessageBatch`` of Arrow columns (owned, Arrow PyCapsule interface).

Every check reads real data back from librdkafka's mock cluster (and, through ``backend``, a real
broker): the schema, the batch's rows against ``poll()`` and its Arrow export (pyarrow, polars,
duckdb), the batch owning its memory (after close, across threads, pickled), and offsets: commits
are read back from the group, and the auto-commit rule (a batch counts as done only at the next
call) is checked by SIGKILLing a subprocess while it "processes" a batch. ``produce_batch()`` is
test_produce_batch.py; the bad-input table of both is test_arrow_bad_inputs.py.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import gc
import json
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import pytest

import ferrokafka as fk
from arrow_batch_helpers import (
    HEADER_STRUCT,
    SCHEMA_FIELDS,
    Fields,
    T,
    arrow_fields,
    as_fields,
    by_position,
    filled_topic,
    subscribed,
    take_batches,
)
from conftest import consumer_config, produce_n

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


@pytest.mark.parametrize("compression", ["none", "lz4"])
def test_headers_read_right_at_every_value_length(backend, topic_name, compression):
    """consume_batch() answers "no headers" for a record without reading them through librdkafka when
    it can tell from the record's bytes (native/message.rs, MessageView::no_wire_headers): the check
    must hold for values whose length varint takes 1, 2 or 3 bytes, at each boundary, for empty
    and null values and keys, with and without headers, compressed or not."""
    backend.create_topic(topic_name, 1)
    header_sets: list[list[tuple[str, bytes | None]]] = [[], [("h", b"1")], [("h", None), ("", b"")]]
    sent = []
    with fk.Producer(
        {"bootstrap.servers": backend.bootstrap, "compression.type": compression, "linger.ms": 20}
    ) as producer:
        futures = []
        for length in (None, 0, 1, 63, 64, 65, 8191, 8192, 8193, 70_000):
            for headers in header_sets:
                for key in (None, b"", b"key"):
                    value = None if length is None else bytes(range(256)) * (length // 256) + bytes(length % 256)
                    sent.append((key, value, headers))
                    futures.append(producer.produce(topic_name, value, key=key, headers=headers, partition=0))
        for future in futures:
            future.result(30)
    with subscribed(backend.bootstrap, topic_name, **{"enable.auto.commit": False}) as consumer:
        rows = [f for batch in take_batches(consumer, len(sent)) for f in arrow_fields(batch)]
    assert [(f[5], f[6], f[7]) for f in rows] == sent
