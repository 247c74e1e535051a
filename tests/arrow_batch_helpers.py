"""Helpers shared by the Arrow batch tests (test_consume_batch.py, test_produce_batch.py,
test_arrow_bad_inputs.py): reading messages and batches back as comparable fields, and checking
that what ``produce_batch()`` sent is what comes back."""

from __future__ import annotations

import concurrent.futures
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pytest

import ferrokafka as fk
from conftest import consumer_config

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
