"""One benchmark run per process: ``python benches/workers.py KIND --json-args '{...}'``.

run.py (and smoke.py) start this script once per contender run, so every run has its own
interpreter, its own librdkafka handle and its own peak RSS. The last line on stdout is one JSON
object with the result.

Every consume contender does the same work per message: read the offset, the key and the
payload's length (and, in ``checksum`` mode, zlib.crc32 of the payload). Timing starts when the
first message arrives (group join excluded) and stops at the last expected message.

The Arrow ingest contenders (kind ``arrow``) instead end with one pyarrow Table holding every
message (ARROW_SCHEMA); the produce_batch contenders (kind ``produce-batch``) produce in batches of
``batch`` messages per call. The asyncio contenders (the ``aio`` section) are consume and produce
contenders like the others; kind ``latency`` measures produce -> consume latency of one asyncio
client, producer and consumer on one event loop.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import time
import zlib

DEADLINE_SECONDS = 300.0


def peak_rss_kb() -> int:
    """Peak RSS of this process in KiB: VmHWM (per address space). ru_maxrss is not used because
    Linux carries the parent's peak over a fork + exec, so a child would report its parent's."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def current_rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _result(count, nbytes, crc, t_first, t_end, t_setup_start, key_bytes=0, base=(0, 0)) -> dict:
    # The clock starts once the first receive call (one message, or one batch) has been processed:
    # that first call also absorbs the wait for the first fetch, so it is not counted in the rate.
    return {
        "timed_count": count - base[0],
        "timed_bytes": nbytes - base[1],
        "count": count,
        "bytes": nbytes,
        "checksum": crc,
        "key_bytes": key_bytes,
        "seconds": (t_end - t_first) if t_first is not None else 0.0,
        "setup_seconds": (t_first - t_setup_start) if t_first is not None else 0.0,
        "maxrss_kb": peak_rss_kb(),
    }


class Timeout(Exception):
    pass


# ----------------------------------------------------------------------------- consume contenders
# Each function consumes exactly `expected` messages from `topic` (subscribed, fresh group) and
# returns the result dict. They are written out one by one, without shared helpers in the hot
# loop, so each measures only its client's own per-message cost.


def consume_ferro_poll(config, topic, expected, checksum, batch=1):
    import ferrokafka as fk

    t_setup = time.perf_counter()
    c = fk.Consumer(config)
    c.subscribe([topic])
    count = nbytes = crc = key_bytes = 0
    t_first = None
    base = (0, 0)
    deadline = time.monotonic() + DEADLINE_SECONDS
    poll = c.poll
    while count < expected:
        msg = poll(1.0)
        if msg is None:
            if time.monotonic() > deadline:
                raise Timeout(count)
            continue
        offset = msg.offset
        key = msg.key
        payload = msg.payload
        nbytes += len(payload)
        if key is not None:
            key_bytes += len(key)
        if checksum:
            crc ^= zlib.crc32(payload)
        count += 1
        if t_first is None:
            t_first, base = time.perf_counter(), (count, nbytes)
    t_end = time.perf_counter()
    del msg, key, payload, offset
    return _result(count, nbytes, crc, t_first, t_end, t_setup, key_bytes, base)


def consume_ferro_iter(config, topic, expected, checksum, batch=1):
    import ferrokafka as fk

    t_setup = time.perf_counter()
    c = fk.Consumer(config)
    c.subscribe([topic])
    count = nbytes = crc = key_bytes = 0
    t_first = None
    base = (0, 0)
    # The lending iterator blocks without a timeout; run.py's subprocess timeout is the deadline.
    for msg in c:
        offset = msg.offset
        key = msg.key
        payload = msg.payload
        nbytes += len(payload)
        if key is not None:
            key_bytes += len(key)
        if checksum:
            crc ^= zlib.crc32(payload)
        count += 1
        if t_first is None:
            t_first, base = time.perf_counter(), (count, nbytes)
        if count >= expected:
            break
    t_end = time.perf_counter()
    return _result(count, nbytes, crc, t_first, t_end, t_setup, key_bytes, base)


def consume_ferro_consume(config, topic, expected, checksum, batch):
    import ferrokafka as fk

    t_setup = time.perf_counter()
    c = fk.Consumer(config)
    c.subscribe([topic])
    count = nbytes = crc = key_bytes = 0
    t_first = None
    base = (0, 0)
    deadline = time.monotonic() + DEADLINE_SECONDS
    consume = c.consume
    while count < expected:
        msgs = consume(min(batch, expected - count), 1.0)
        if not msgs:
            if time.monotonic() > deadline:
                raise Timeout(count)
            continue
        for msg in msgs:
            offset = msg.offset
            key = msg.key
            payload = msg.payload
            nbytes += len(payload)
            if key is not None:
                key_bytes += len(key)
            if checksum:
                crc ^= zlib.crc32(payload)
        count += len(msgs)
        if t_first is None:
            t_first, base = time.perf_counter(), (count, nbytes)
    t_end = time.perf_counter()
    return _result(count, nbytes, crc, t_first, t_end, t_setup, key_bytes, base)


def consume_ferro_detach(config, topic, expected, checksum, batch):
    import ferrokafka as fk

    t_setup = time.perf_counter()
    c = fk.Consumer(config)
    c.subscribe([topic])
    count = nbytes = crc = key_bytes = 0
    t_first = None
    base = (0, 0)
    deadline = time.monotonic() + DEADLINE_SECONDS
    consume = c.consume
    while count < expected:
        msgs = consume(min(batch, expected - count), 1.0)
        if not msgs:
            if time.monotonic() > deadline:
                raise Timeout(count)
            continue
        for borrowed in msgs:
            msg = borrowed.detach()
            offset = msg.offset
            key = msg.key
            payload = msg.payload
            nbytes += len(payload)
            if key is not None:
                key_bytes += len(key)
            if checksum:
                crc ^= zlib.crc32(payload)
        count += len(msgs)
        if t_first is None:
            t_first, base = time.perf_counter(), (count, nbytes)
    t_end = time.perf_counter()
    return _result(count, nbytes, crc, t_first, t_end, t_setup, key_bytes, base)


def consume_confluent_poll(config, topic, expected, checksum, batch=1, module="confluent_kafka"):
    ck = importlib.import_module(module)

    t_setup = time.perf_counter()
    c = ck.Consumer(config)
    c.subscribe([topic])
    count = nbytes = crc = key_bytes = 0
    t_first = None
    base = (0, 0)
    deadline = time.monotonic() + DEADLINE_SECONDS
    poll = c.poll
    while count < expected:
        msg = poll(1.0)
        if msg is None:
            if time.monotonic() > deadline:
                raise Timeout(count)
            continue
        if msg.error():
            continue
        offset = msg.offset()
        key = msg.key()
        payload = msg.value()
        nbytes += len(payload)
        if key is not None:
            key_bytes += len(key)
        if checksum:
            crc ^= zlib.crc32(payload)
        count += 1
        if t_first is None:
            t_first, base = time.perf_counter(), (count, nbytes)
    t_end = time.perf_counter()
    return _result(count, nbytes, crc, t_first, t_end, t_setup, key_bytes, base)


def consume_dropin_poll(config, topic, expected, checksum, batch=1):
    """confluent-poll's loop on ferrokafka's confluent-kafka drop-in."""
    return consume_confluent_poll(config, topic, expected, checksum, batch, module="ferrokafka.confluent")


def consume_confluent_consume(config, topic, expected, checksum, batch):
    import confluent_kafka as ck

    t_setup = time.perf_counter()
    c = ck.Consumer(config)
    c.subscribe([topic])
    count = nbytes = crc = key_bytes = 0
    t_first = None
    base = (0, 0)
    deadline = time.monotonic() + DEADLINE_SECONDS
    consume = c.consume
    while count < expected:
        msgs = consume(num_messages=min(batch, expected - count), timeout=1.0)
        if not msgs:
            if time.monotonic() > deadline:
                raise Timeout(count)
            continue
        for msg in msgs:
            if msg.error():
                continue
            offset = msg.offset()
            key = msg.key()
            payload = msg.value()
            nbytes += len(payload)
            if key is not None:
                key_bytes += len(key)
            if checksum:
                crc ^= zlib.crc32(payload)
            count += 1
        if t_first is None:
            t_first, base = time.perf_counter(), (count, nbytes)
    t_end = time.perf_counter()
    return _result(count, nbytes, crc, t_first, t_end, t_setup, key_bytes, base)


def pure_python_config(config):
    """The librdkafka consumer/producer config as aiokafka's and kafka-python's keyword arguments:
    the same group and start, and for big messages the same fetch limits (both default to 1 MB
    per partition). librdkafka-only tuning (fetch.queue.backoff.ms) has no counterpart."""
    names = {
        "bootstrap.servers": "bootstrap_servers",
        "group.id": "group_id",
        "auto.offset.reset": "auto_offset_reset",
        "enable.auto.commit": "enable_auto_commit",
        "fetch.max.bytes": "fetch_max_bytes",
        "max.partition.fetch.bytes": "max_partition_fetch_bytes",
        "linger.ms": "linger_ms",
    }
    return {names[k]: v for k, v in config.items() if k in names}


class _Counter:
    """What every consumer contender counts per message (see consume_ferro_poll)."""

    def __init__(self, checksum):
        self.checksum = checksum
        self.count = self.nbytes = self.crc = self.key_bytes = 0
        self.t_first = None
        self.base = (0, 0)

    def add(self, offset, key, payload):
        self.nbytes += len(payload)
        if key is not None:
            self.key_bytes += len(key)
        if self.checksum:
            self.crc ^= zlib.crc32(payload)
        self.count += 1
        if self.t_first is None:
            self.t_first, self.base = time.perf_counter(), (self.count, self.nbytes)

    def result(self, t_setup):
        return _result(
            self.count, self.nbytes, self.crc, self.t_first, time.perf_counter(), t_setup, self.key_bytes, self.base
        )


def consume_aiokafka(config, topic, expected, checksum, batch=1):
    """aiokafka's idiomatic loop: `async for msg in consumer`."""
    import asyncio

    from aiokafka import AIOKafkaConsumer

    async def run():
        t_setup = time.perf_counter()
        consumer = AIOKafkaConsumer(topic, **pure_python_config(config))
        await consumer.start()
        counter = _Counter(checksum)
        try:
            async with asyncio.timeout(DEADLINE_SECONDS):
                async for msg in consumer:
                    counter.add(msg.offset, msg.key, msg.value)
                    if counter.count >= expected:
                        break
        finally:
            result = counter.result(t_setup)
            await consumer.stop()
        return result

    return asyncio.run(run())


def consume_kafka_python(config, topic, expected, checksum, batch=1):
    """kafka-python's idiomatic loop: `for msg in consumer`."""
    from kafka import KafkaConsumer

    t_setup = time.perf_counter()
    consumer = KafkaConsumer(topic, consumer_timeout_ms=int(DEADLINE_SECONDS * 1000), **pure_python_config(config))
    counter = _Counter(checksum)
    for msg in consumer:
        counter.add(msg.offset, msg.key, msg.value)
        if counter.count >= expected:
            break
    if counter.count < expected:
        raise Timeout(counter.count)
    return counter.result(t_setup)


# ----------------------------------------------------------------------------- asyncio consume contenders
# The `aio` section: the same work per message and the same clock as above, each on asyncio.run()'s
# default loop. aiokafka's `async for` is the `aiokafka` contender above.


def consume_ferro_aio_iter(config, topic, expected, checksum, batch=1):
    """ferrokafka.aio: `async for msg in consumer` (the lending iterator)."""
    import asyncio

    from ferrokafka.aio import AIOConsumer

    async def run():
        t_setup = time.perf_counter()
        c = AIOConsumer(config)
        await c.subscribe([topic])
        count = nbytes = crc = key_bytes = 0
        t_first = None
        base = (0, 0)
        async with asyncio.timeout(DEADLINE_SECONDS):
            async for msg in c:
                offset = msg.offset
                key = msg.key
                payload = msg.payload
                nbytes += len(payload)
                if key is not None:
                    key_bytes += len(key)
                if checksum:
                    crc ^= zlib.crc32(payload)
                count += 1
                if t_first is None:
                    t_first, base = time.perf_counter(), (count, nbytes)
                if count >= expected:
                    break
        t_end = time.perf_counter()
        return _result(count, nbytes, crc, t_first, t_end, t_setup, key_bytes, base)

    return asyncio.run(run())


def consume_ferro_aio_consume(config, topic, expected, checksum, batch):
    """ferrokafka.aio: `for msg in await consumer.consume(batch, 1.0)`."""
    import asyncio

    from ferrokafka.aio import AIOConsumer

    async def run():
        t_setup = time.perf_counter()
        c = AIOConsumer(config)
        await c.subscribe([topic])
        count = nbytes = crc = key_bytes = 0
        t_first = None
        base = (0, 0)
        deadline = time.monotonic() + DEADLINE_SECONDS
        consume = c.consume
        while count < expected:
            msgs = await consume(min(batch, expected - count), 1.0)
            if not msgs:
                if time.monotonic() > deadline:
                    raise Timeout(count)
                continue
            for msg in msgs:
                offset = msg.offset
                key = msg.key
                payload = msg.payload
                nbytes += len(payload)
                if key is not None:
                    key_bytes += len(key)
                if checksum:
                    crc ^= zlib.crc32(payload)
            count += len(msgs)
            if t_first is None:
                t_first, base = time.perf_counter(), (count, nbytes)
        t_end = time.perf_counter()
        return _result(count, nbytes, crc, t_first, t_end, t_setup, key_bytes, base)

    return asyncio.run(run())


def consume_confluent_aio_consume(config, topic, expected, checksum, batch):
    """confluent_kafka.aio: `for msg in await consumer.consume(batch, 1.0)` (each call runs the
    synchronous consume on its thread pool)."""
    import asyncio

    from confluent_kafka.aio import AIOConsumer

    async def run():
        t_setup = time.perf_counter()
        c = AIOConsumer(dict(config))
        await c.subscribe([topic])
        count = nbytes = crc = key_bytes = 0
        t_first = None
        base = (0, 0)
        deadline = time.monotonic() + DEADLINE_SECONDS
        consume = c.consume
        while count < expected:
            msgs = await consume(min(batch, expected - count), 1.0)
            if not msgs:
                if time.monotonic() > deadline:
                    raise Timeout(count)
                continue
            for msg in msgs:
                if msg.error():
                    continue
                offset = msg.offset()
                key = msg.key()
                payload = msg.value()
                nbytes += len(payload)
                if key is not None:
                    key_bytes += len(key)
                if checksum:
                    crc ^= zlib.crc32(payload)
                count += 1
            if t_first is None:
                t_first, base = time.perf_counter(), (count, nbytes)
        t_end = time.perf_counter()
        return _result(count, nbytes, crc, t_first, t_end, t_setup, key_bytes, base)

    return asyncio.run(run())


def consume_confluent_aio_poll(config, topic, expected, checksum, batch=1):
    """confluent_kafka.aio: `msg = await consumer.poll(1.0)` (one thread-pool call per message)."""
    import asyncio

    from confluent_kafka.aio import AIOConsumer

    async def run():
        t_setup = time.perf_counter()
        c = AIOConsumer(dict(config))
        await c.subscribe([topic])
        count = nbytes = crc = key_bytes = 0
        t_first = None
        base = (0, 0)
        deadline = time.monotonic() + DEADLINE_SECONDS
        poll = c.poll
        while count < expected:
            msg = await poll(1.0)
            if msg is None:
                if time.monotonic() > deadline:
                    raise Timeout(count)
                continue
            if msg.error():
                continue
            offset = msg.offset()
            key = msg.key()
            payload = msg.value()
            nbytes += len(payload)
            if key is not None:
                key_bytes += len(key)
            if checksum:
                crc ^= zlib.crc32(payload)
            count += 1
            if t_first is None:
                t_first, base = time.perf_counter(), (count, nbytes)
        t_end = time.perf_counter()
        return _result(count, nbytes, crc, t_first, t_end, t_setup, key_bytes, base)

    return asyncio.run(run())


def consume_aiokafka_getmany(config, topic, expected, checksum, batch):
    """aiokafka: `await consumer.getmany(timeout_ms=1000, max_records=batch)`."""
    import asyncio

    from aiokafka import AIOKafkaConsumer

    async def run():
        t_setup = time.perf_counter()
        consumer = AIOKafkaConsumer(topic, **pure_python_config(config))
        await consumer.start()
        count = nbytes = crc = key_bytes = 0
        t_first = None
        base = (0, 0)
        deadline = time.monotonic() + DEADLINE_SECONDS
        getmany = consumer.getmany
        while count < expected:
            data = await getmany(timeout_ms=1000, max_records=min(batch, expected - count))
            if not data:
                if time.monotonic() > deadline:
                    raise Timeout(count)
                continue
            for msgs in data.values():
                for msg in msgs:
                    offset = msg.offset
                    key = msg.key
                    payload = msg.value
                    nbytes += len(payload)
                    if key is not None:
                        key_bytes += len(key)
                    if checksum:
                        crc ^= zlib.crc32(payload)
                    count += 1
            if t_first is None:
                t_first, base = time.perf_counter(), (count, nbytes)
        t_end = time.perf_counter()
        return _result(count, nbytes, crc, t_first, t_end, t_setup, key_bytes, base)

    return asyncio.run(run())


CONSUMERS = {
    "ferro-poll": consume_ferro_poll,
    "ferro-iter": consume_ferro_iter,
    "ferro-consume": consume_ferro_consume,
    "ferro-consume-detach": consume_ferro_detach,
    "confluent-poll": consume_confluent_poll,
    "confluent-consume": consume_confluent_consume,
    "dropin-poll": consume_dropin_poll,
    "aiokafka": consume_aiokafka,
    "kafka-python": consume_kafka_python,
    "ferro-aio-iter": consume_ferro_aio_iter,
    "ferro-aio-consume": consume_ferro_aio_consume,
    "confluent-aio-consume": consume_confluent_aio_consume,
    "confluent-aio-poll": consume_confluent_aio_poll,
    "aiokafka-getmany": consume_aiokafka_getmany,
}


# ----------------------------------------------------------------------------- Arrow ingest contenders
# Kafka -> one pyarrow Table holding every message, in ARROW_SCHEMA (ferrokafka's MessageBatch
# schema; confluent-kafka's table is built to the same schema, so the two tables are equal). One
# table per receive call, pa.concat_tables at the end (no copy: the batches become the chunks); the
# clock stops once the final table exists. Rows and value bytes are counted from the table; the
# value column is hashed (zlib.crc32 over each chunk's contiguous value bytes, one call per chunk)
# inside the loop in checksum mode, after the clock stops otherwise, so that run.py can check that
# every contender's table holds the same bytes.


def arrow_schema():
    import pyarrow as pa

    header = pa.struct([pa.field("key", pa.utf8(), nullable=False), pa.field("value", pa.large_binary())])
    # A header is never null (a message without headers has an empty list): non-nullable list items.
    return pa.schema(
        [
            pa.field("topic", pa.utf8(), nullable=False),
            pa.field("partition", pa.int32(), nullable=False),
            pa.field("offset", pa.int64(), nullable=False),
            pa.field("timestamp", pa.timestamp("ms", tz="UTC")),
            pa.field("timestamp_type", pa.int8(), nullable=False),
            pa.field("key", pa.large_binary()),
            pa.field("value", pa.large_binary()),
            pa.field("headers", pa.list_(pa.field("item", header, nullable=False)), nullable=False),
        ]
    )


def _binary_spans(column):
    """(data buffer, start, end) of each chunk of a (large_)binary/string column: where its values'
    bytes lie, contiguous, read from the offsets buffer (O(1) per chunk, no copy)."""
    import pyarrow as pa

    for chunk in column.chunks if isinstance(column, pa.ChunkedArray) else [column]:
        if not len(chunk):
            continue
        _, offsets, data = chunk.buffers()[:3]
        large = pa.types.is_large_binary(chunk.type) or pa.types.is_large_string(chunk.type)
        view = memoryview(offsets).cast("q" if large else "i")
        yield data, view[chunk.offset], view[chunk.offset + len(chunk)]


def _binary_bytes(column) -> int:
    return sum(end - start for _, start, end in _binary_spans(column))


def _binary_crc(column, crc: int = 0) -> int:
    for data, start, end in _binary_spans(column):
        if data is not None and end > start:
            crc = zlib.crc32(memoryview(data)[start:end], crc)
    return crc


def _arrow_result(table, crc, t_first, t_end, t_setup, base, checksum) -> dict:
    """The consume result of an Arrow contender, from its final table (checked after the clock)."""
    import pyarrow.compute as pc

    values = table.column("value")
    if not checksum:
        crc = _binary_crc(values)
    offsets = pc.sum(table.column("offset")).as_py() or 0
    stamps = pc.sum(table.column("timestamp").cast("int64")).as_py() or 0
    result = _result(table.num_rows, _binary_bytes(values), crc, t_first, t_end, t_setup,
                     _binary_bytes(table.column("key")), base)  # fmt: skip
    result.update(
        {
            "offset_sum": offsets,
            "timestamp_sum": stamps,
            "chunks": values.num_chunks,
            "schema_diff": _schema_diff(table.schema, arrow_schema()),
        }
    )
    result["schema_matches"] = not result["schema_diff"]
    return result


def _schema_diff(actual, expected) -> list[str]:
    """How `actual` differs from `expected`, one short line per field (empty: equal)."""
    if actual.equals(expected):
        return []

    def show(field):
        return f"{field.type}{'' if field.nullable else ' not null'}"

    diff = [
        f"{f.name}: {show(actual.field(f.name)) if f.name in actual.names else 'missing'} (expected {show(f)})"
        for f in expected
        if f.name not in actual.names or not actual.field(f.name).equals(f)
    ]
    diff += [f"{name}: unexpected column" for name in actual.names if name not in expected.names]
    return diff or [f"{actual.names} (expected {expected.names})"]


def consume_ferro_arrow(config, topic, expected, checksum, batch):
    """ferrokafka: consume_batch() -> pa.table(batch), zero-copy through the Arrow PyCapsules."""
    import pyarrow as pa

    import ferrokafka as fk

    t_setup = time.perf_counter()
    c = fk.Consumer(config)
    c.subscribe([topic])
    tables = []
    count = crc = 0
    t_first = None
    base = (0, 0)
    deadline = time.monotonic() + DEADLINE_SECONDS
    consume_batch = c.consume_batch
    to_table = pa.table
    while count < expected:
        messages = consume_batch(min(batch, expected - count), 1.0)
        if not len(messages):
            if time.monotonic() > deadline:
                raise Timeout(count)
            continue
        table = to_table(messages)
        tables.append(table)
        if checksum:
            crc = _binary_crc(table.column("value"), crc)
        count += table.num_rows
        if t_first is None:
            t_first, base = time.perf_counter(), (count, _binary_bytes(table.column("value")))
    table = pa.concat_tables(tables)
    t_end = time.perf_counter()
    return _arrow_result(table, crc, t_first, t_end, t_setup, base, checksum)


def consume_confluent_arrow(config, topic, expected, checksum, batch):
    """confluent-kafka: consume(batch) -> one Python list per column -> pa.table(..., schema)."""
    import confluent_kafka as ck
    import pyarrow as pa

    schema = arrow_schema()
    t_setup = time.perf_counter()
    c = ck.Consumer(config)
    c.subscribe([topic])
    tables = []
    count = crc = 0
    t_first = None
    base = (0, 0)
    deadline = time.monotonic() + DEADLINE_SECONDS
    consume = c.consume
    while count < expected:
        msgs = consume(num_messages=min(batch, expected - count), timeout=1.0)
        if not msgs:
            if time.monotonic() > deadline:
                raise Timeout(count)
            continue
        topics, partitions, offsets, stamps, stamp_types, keys, values, headers = [], [], [], [], [], [], [], []
        for msg in msgs:
            if msg.error():
                continue
            stamp_type, stamp = msg.timestamp()
            topics.append(msg.topic())
            partitions.append(msg.partition())
            offsets.append(msg.offset())
            stamps.append(stamp if stamp_type else None)  # 0: TIMESTAMP_NOT_AVAILABLE
            stamp_types.append(stamp_type)
            keys.append(msg.key())
            values.append(msg.value())
            headers.append(msg.headers() or [])
        table = pa.table(
            {
                "topic": topics,
                "partition": partitions,
                "offset": offsets,
                "timestamp": stamps,
                "timestamp_type": stamp_types,
                "key": keys,
                "value": values,
                "headers": headers,
            },
            schema=schema,
        )
        tables.append(table)
        if checksum:
            crc = _binary_crc(table.column("value"), crc)
        count += table.num_rows
        if t_first is None:
            t_first, base = time.perf_counter(), (count, _binary_bytes(table.column("value")))
    table = pa.concat_tables(tables)
    t_end = time.perf_counter()
    return _arrow_result(table, crc, t_first, t_end, t_setup, base, checksum)


ARROW_CONSUMERS = {
    "ferro-arrow": consume_ferro_arrow,
    "ferro-arrow-10k": consume_ferro_arrow,  # the same loop; run.py passes batch=10000
    "confluent-arrow": consume_confluent_arrow,
}


# ----------------------------------------------------------------------------- produce contenders
# `count` messages of `size` bytes with a fixed 8-byte key, timed from the first produce() to the
# end of flush(). One message is produced and flushed first (topic metadata, connection).
# librdkafka's queue is large enough for the whole run (same settings for both clients), so the
# queue-full branches are safety nets, not the measured path.


def produce_ferro(config, topic, count, size, as_memoryview=False):
    import ferrokafka as fk

    p = fk.Producer(config)
    payload = os.urandom(size)
    value = memoryview(payload) if as_memoryview else payload
    key = b"key-0001"
    p.produce(topic, value, key=key)
    p.flush(30)
    produce = p.produce
    queue_full = 0
    t0 = time.perf_counter()
    for _ in range(count):
        # Futures are dropped: they resolve on ferrokafka's delivery thread either way.
        try:
            produce(topic, value, key=key)
        except BufferError:  # QueueFullError, as confluent-kafka raises
            queue_full += 1
            p.poll(0.01)
            produce(topic, value, key=key)
    left = p.flush(120)
    t1 = time.perf_counter()
    p.close(10)
    return {
        "count": count,
        "bytes": count * size,
        "seconds": t1 - t0,
        "unflushed": left,
        "queue_full": queue_full,
        "maxrss_kb": peak_rss_kb(),
    }


def produce_ferro_mv(config, topic, count, size):
    return produce_ferro(config, topic, count, size, as_memoryview=True)


def produce_confluent(config, topic, count, size, with_callback=False, module="confluent_kafka"):
    ck = importlib.import_module(module)

    delivered = [0]
    if with_callback:

        def on_delivery(err, msg, delivered=delivered):
            delivered[0] += 1

        config = dict(config, on_delivery=on_delivery)
    p = ck.Producer(config)
    payload = os.urandom(size)
    key = b"key-0001"
    p.produce(topic, payload, key=key)
    p.flush(30)
    produce = p.produce
    poll = p.poll
    queue_full = 0
    t0 = time.perf_counter()
    for i in range(count):
        try:
            produce(topic, payload, key=key)
        except BufferError:
            queue_full += 1
            poll(0.01)
            produce(topic, payload, key=key)
        # Serve delivery reports now and then (confluent-kafka needs the caller to poll).
        if not i & 1023:
            poll(0)
    left = p.flush(120)
    t1 = time.perf_counter()
    return {
        "count": count,
        "bytes": count * size,
        "seconds": t1 - t0,
        "unflushed": left,
        "queue_full": queue_full,
        "maxrss_kb": peak_rss_kb(),
    }


def produce_confluent_cb(config, topic, count, size):
    return produce_confluent(config, topic, count, size, with_callback=True)


def produce_dropin(config, topic, count, size):
    """confluent-produce's loop on ferrokafka's confluent-kafka drop-in."""
    return produce_confluent(config, topic, count, size, module="ferrokafka.confluent")


async def _failed(futures) -> int:
    """Awaits every future in turn (a done one returns at once: cheaper than asyncio.gather, which
    adds a callback to each); returns how many raised."""
    failed = 0
    for f in futures:
        try:
            await f
        except Exception:  # noqa: BLE001 - a failed delivery
            failed += 1
    return failed


def produce_aiokafka(config, topic, count, size):
    """aiokafka: `await producer.send()` queues a message (its future resolves on delivery)."""
    import asyncio

    from aiokafka import AIOKafkaProducer

    async def run():
        producer = AIOKafkaProducer(**pure_python_config(config), max_batch_size=1_000_000, acks="all")
        await producer.start()
        payload = os.urandom(size)
        key = b"key-0001"
        await producer.send_and_wait(topic, payload, key=key)
        t0 = time.perf_counter()
        futures = [await producer.send(topic, payload, key=key) for _ in range(count)]
        await producer.flush()
        failed = await _failed(futures)
        t1 = time.perf_counter()
        await producer.stop()
        return {"count": count, "bytes": count * size, "seconds": t1 - t0, "unflushed": failed,
                "queue_full": 0, "maxrss_kb": peak_rss_kb()}  # fmt: skip

    return asyncio.run(run())


def produce_kafka_python(config, topic, count, size):
    """kafka-python: `producer.send()` queues a message and returns a future; flush() at the end."""
    from kafka import KafkaProducer

    producer = KafkaProducer(**pure_python_config(config), batch_size=1_000_000, acks="all")
    payload = os.urandom(size)
    key = b"key-0001"
    producer.send(topic, payload, key=key).get(30)
    t0 = time.perf_counter()
    futures = [producer.send(topic, payload, key=key) for _ in range(count)]
    producer.flush(120)
    failed = sum(1 for f in futures if f.failed())
    t1 = time.perf_counter()
    return {"count": count, "bytes": count * size, "seconds": t1 - t0, "unflushed": failed,
            "queue_full": 0, "maxrss_kb": peak_rss_kb()}  # fmt: skip


def produce_ferro_aio(config, topic, count, size):
    """ferrokafka.aio: `futures.append(await producer.produce(...))` per message, then `await
    producer.flush()` and every future awaited (failures counted)."""
    import asyncio

    from ferrokafka.aio import AIOProducer

    async def run():
        p = AIOProducer(config)
        payload = os.urandom(size)
        key = b"key-0001"
        await (await p.produce(topic, payload, key=key))
        produce = p.produce
        t0 = time.perf_counter()
        futures = [await produce(topic, payload, key=key) for _ in range(count)]
        left = await p.flush(120)
        failed = await _failed(futures)
        t1 = time.perf_counter()
        return {"count": count, "bytes": count * size, "seconds": t1 - t0, "unflushed": left + failed,
                "queue_full": 0, "maxrss_kb": peak_rss_kb()}  # fmt: skip

    return asyncio.run(run())


def produce_confluent_aio(config, topic, count, size):
    """confluent_kafka.aio: the same loop (its produce() buffers messages and hands them to
    produce_batch on its thread pool 1000 at a time; flush() sends the rest and waits)."""
    import asyncio

    from confluent_kafka.aio import AIOProducer

    async def run():
        p = AIOProducer(dict(config))
        payload = os.urandom(size)
        key = b"key-0001"
        warm = await p.produce(topic, payload, key=key)
        await p.flush(30)
        await warm
        produce = p.produce
        t0 = time.perf_counter()
        futures = [await produce(topic, payload, key=key) for _ in range(count)]
        left = await p.flush(120)
        failed = await _failed(futures)
        t1 = time.perf_counter()
        return {"count": count, "bytes": count * size, "seconds": t1 - t0, "unflushed": left + failed,
                "queue_full": 0, "maxrss_kb": peak_rss_kb()}  # fmt: skip

    return asyncio.run(run())


PRODUCERS = {
    "ferro-produce-bytes": produce_ferro,
    "ferro-produce-memoryview": produce_ferro_mv,
    "confluent-produce": produce_confluent,
    "confluent-produce-callback": produce_confluent_cb,
    "dropin-produce": produce_dropin,
    "aiokafka-produce": produce_aiokafka,
    "kafka-python-produce": produce_kafka_python,
    "ferro-aio-produce": produce_ferro_aio,
    "confluent-aio-produce": produce_confluent_aio,
}


# ----------------------------------------------------------------------------- produce_batch contenders
# `count` messages of `size` bytes, no key, `batch` per call, timed from the first produce_batch() to
# the last delivery (futures resolved / flush() returned), after one warm-up message. The values are
# distinct bytes objects, prepared (like the Arrow table) before the clock starts; the same batch is
# sent count/batch times.


def _batch_values(count, size, batch):
    """The values of one batch (distinct bytes objects) and the sizes of the calls."""
    block = os.urandom(size * min(batch, count))
    values = [block[i * size : (i + 1) * size] for i in range(min(batch, count))]
    calls = [batch] * (count // batch) + ([count % batch] if count % batch else [])
    return values, calls


def produce_batch_ferro(config, topic, count, size, batch, arrow=False):
    """ferrokafka: produce_batch(topic, values) -> one future per call; waits on every future."""
    import ferrokafka as fk

    p = fk.Producer(config)
    values, calls = _batch_values(count, size, batch)
    p.produce(topic, values[0])
    p.flush(30)
    if arrow:
        import pyarrow as pa

        table = pa.table({"value": pa.array(values, pa.binary())})
        batches = {n: table.slice(0, n) for n in set(calls)}
    else:
        batches = {n: values[:n] for n in set(calls)}
    produce_batch = p.produce_batch
    t0 = time.perf_counter()
    futures = [produce_batch(topic, batches[n]) for n in calls]
    outcomes = [f.result(120) for f in futures]
    t1 = time.perf_counter()
    delivered = sum(len(o) for o in outcomes)
    failed = sum(len(o.errors) for o in outcomes)
    if delivered != count:
        raise RuntimeError(f"{delivered} delivery outcomes for {count} messages")
    p.close(10)
    return {
        "count": count,
        "bytes": count * size,
        "seconds": t1 - t0,
        "unflushed": failed,
        "queue_full": 0,
        "calls": len(calls),
        "maxrss_kb": peak_rss_kb(),
    }


def produce_batch_ferro_arrow(config, topic, count, size, batch):
    return produce_batch_ferro(config, topic, count, size, batch, arrow=True)


def produce_batch_confluent(config, topic, count, size, batch):
    """confluent-kafka: produce_batch(topic, [{"value": v}, ...]) + poll(0) per call, flush() at the
    end; no delivery callback (its cheapest mode). The dicts are built per call, inside the clock:
    they are what its API takes for the same values. Messages it could not queue get an `_error`
    entry; those (queue full only) are retried after a poll."""
    import confluent_kafka as ck

    p = ck.Producer(config)
    values, calls = _batch_values(count, size, batch)
    p.produce(topic, values[0])
    p.flush(30)
    batches = {n: values[:n] for n in set(calls)}
    produce_batch = p.produce_batch
    poll = p.poll
    queue_full = 0
    t0 = time.perf_counter()
    for n in calls:
        messages = [{"value": v} for v in batches[n]]
        queued = produce_batch(topic, messages)
        while queued < len(messages):
            errors = {m["_error"].code() for m in messages if "_error" in m}
            if errors - {ck.KafkaError._QUEUE_FULL}:
                raise RuntimeError(f"produce_batch: {errors}")
            queue_full += 1
            poll(0.01)
            messages = [{"value": m["value"]} for m in messages if "_error" in m]
            queued = produce_batch(topic, messages)
        poll(0)
    left = p.flush(120)
    t1 = time.perf_counter()
    return {
        "count": count,
        "bytes": count * size,
        "seconds": t1 - t0,
        "unflushed": left,
        "queue_full": queue_full,
        "calls": len(calls),
        "maxrss_kb": peak_rss_kb(),
    }


BATCH_PRODUCERS = {
    "ferro-produce-batch": produce_batch_ferro,
    "ferro-produce-batch-arrow": produce_batch_ferro_arrow,
    "confluent-produce-batch": produce_batch_confluent,
}


# ----------------------------------------------------------------------------- produce -> consume latency
# The `aio` section's latency runs: one process, one event loop, one producer task and one consumer
# task (what an asyncio service does). The consumer is assigned partition 0 of a fresh topic from
# offset 0 (no group join); one warm-up message (stamp 0) goes through first. Then the producer
# sends `rate` messages a second for `seconds` seconds, each value starting with the
# time.perf_counter_ns() read just before its produce call (8 bytes, little-endian; the rest zero
# padding up to `size`); the consumer subtracts that from perf_counter_ns() when the message
# reaches the application. Same process, so one clock.


def _latency_result(latencies, expected, lag_ns, failed, seconds) -> dict:
    lat = sorted(latencies)

    def q(x):
        return lat[min(len(lat) - 1, int(round(x * (len(lat) - 1))))] / 1e6 if lat else 0.0

    return {
        "count": len(lat),
        "expected": expected,
        "p50_ms": q(0.50),
        "p90_ms": q(0.90),
        "p99_ms": q(0.99),
        "max_ms": lat[-1] / 1e6 if lat else 0.0,
        "mean_ms": sum(lat) / len(lat) / 1e6 if lat else 0.0,
        "send_lag_max_ms": lag_ns / 1e6,
        "failed": failed,
        "seconds": seconds,
        "maxrss_kb": peak_rss_kb(),
    }


async def _paced(send, n, rate, size):
    """`await send(value)` n times, `rate` a second; returns (what send returned, the largest delay
    behind schedule in ns, seconds)."""
    import asyncio

    pad = bytes(size - 8)
    interval = 1e9 / rate
    results = []
    lag = 0
    t0 = time.perf_counter_ns()
    for i in range(n):
        due = t0 + int(i * interval)
        now = time.perf_counter_ns()
        if now < due:
            await asyncio.sleep((due - now) / 1e9)
            now = time.perf_counter_ns()
        lag = max(lag, now - due)
        results.append(await send(now.to_bytes(8, "little") + pad))
    return results, lag, (time.perf_counter_ns() - t0) / 1e9


def latency_ferro_aio(cconfig, pconfig, topic, rate, seconds, size):
    """ferrokafka.aio: `async for msg in consumer` and `await producer.produce()` on one loop."""
    import asyncio

    import ferrokafka as fk
    from ferrokafka.aio import AIOConsumer, AIOProducer

    async def run():
        n = int(rate * seconds)
        consumer = AIOConsumer(cconfig)
        await consumer.assign([fk.TopicPartition(topic, 0, 0)])
        producer = AIOProducer(pconfig)
        latencies = []
        warm = asyncio.Event()

        async def consume():
            async for msg in consumer:
                now = time.perf_counter_ns()
                sent = int.from_bytes(msg.payload[:8], "little")
                if not sent:
                    warm.set()
                    continue
                latencies.append(now - sent)
                if len(latencies) >= n:
                    break

        task = asyncio.create_task(consume())
        await (await producer.produce(topic, bytes(size)))
        await asyncio.wait_for(warm.wait(), 30)
        futures, lag, secs = await _paced(lambda v: producer.produce(topic, v), n, rate, size)
        await producer.flush(30)
        failed = await _failed(futures)
        await asyncio.wait_for(task, 30)
        return _latency_result(latencies, n, lag, failed, secs)

    return asyncio.run(run())


def latency_confluent_aio(cconfig, pconfig, topic, rate, seconds, size, batch_size=None):
    """confluent_kafka.aio: `await consumer.poll(1.0)` (consume(n, t) waits for n messages or t)
    and `await producer.produce()` on one loop; `batch_size`: AIOProducer's (default 1000)."""
    import asyncio

    import confluent_kafka as ck
    from confluent_kafka.aio import AIOConsumer, AIOProducer

    async def run():
        n = int(rate * seconds)
        consumer = AIOConsumer(dict(cconfig))
        await consumer.assign([ck.TopicPartition(topic, 0, 0)])
        extra = {} if batch_size is None else {"batch_size": batch_size}
        producer = AIOProducer(dict(pconfig), **extra)
        latencies = []
        warm = asyncio.Event()

        async def consume():
            while len(latencies) < n:
                msg = await consumer.poll(1.0)
                if msg is None or msg.error():
                    continue
                now = time.perf_counter_ns()
                sent = int.from_bytes(msg.value()[:8], "little")
                if not sent:
                    warm.set()
                    continue
                latencies.append(now - sent)

        task = asyncio.create_task(consume())
        first = await producer.produce(topic, bytes(size))
        await producer.flush(30)
        await first
        await asyncio.wait_for(warm.wait(), 30)
        futures, lag, secs = await _paced(lambda v: producer.produce(topic, v), n, rate, size)
        await producer.flush(30)
        failed = await _failed(futures)
        await asyncio.wait_for(task, 30)
        return _latency_result(latencies, n, lag, failed, secs)

    return asyncio.run(run())


def latency_confluent_aio_b1(cconfig, pconfig, topic, rate, seconds, size):
    return latency_confluent_aio(cconfig, pconfig, topic, rate, seconds, size, batch_size=1)


def latency_aiokafka(cconfig, pconfig, topic, rate, seconds, size):
    """aiokafka: `async for msg in consumer` and `await producer.send()` on one loop."""
    import asyncio

    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    async def run():
        n = int(rate * seconds)
        consumer = AIOKafkaConsumer(**pure_python_config(cconfig))
        await consumer.start()
        consumer.assign([TopicPartition(topic, 0)])
        producer = AIOKafkaProducer(**pure_python_config(pconfig), acks="all")
        await producer.start()
        latencies = []
        warm = asyncio.Event()

        async def consume():
            async for msg in consumer:
                now = time.perf_counter_ns()
                sent = int.from_bytes(msg.value[:8], "little")
                if not sent:
                    warm.set()
                    continue
                latencies.append(now - sent)
                if len(latencies) >= n:
                    break

        task = asyncio.create_task(consume())
        await producer.send_and_wait(topic, bytes(size))
        await asyncio.wait_for(warm.wait(), 30)
        futures, lag, secs = await _paced(lambda v: producer.send(topic, v), n, rate, size)
        await producer.flush()
        failed = await _failed(futures)
        await asyncio.wait_for(task, 30)
        return _latency_result(latencies, n, lag, failed, secs)

    return asyncio.run(run())


LATENCY = {
    "ferro-aio": latency_ferro_aio,
    "confluent-aio": latency_confluent_aio,
    "confluent-aio-batch1": latency_confluent_aio_b1,
    "aiokafka": latency_aiokafka,
}


# ----------------------------------------------------------------------------- memory scenarios


def mem_stream(config, topic, expected, passes):
    """Streams the `expected` messages of `topic` `passes` times through the lending iterator
    (seeking back to the start after each pass); run.py samples our RSS from outside."""
    import ferrokafka as fk

    c = fk.Consumer(config)
    c.subscribe([topic])
    count = nbytes = 0
    t_first = None
    max_live = 0
    total = expected * passes
    for msg in c:
        if t_first is None:
            t_first = time.perf_counter()
            print("FIRST", flush=True)
        nbytes += len(msg.payload)
        count += 1
        if not count & 63:
            max_live = max(max_live, c.live_message_count)
        if count >= total:
            break
        if count % expected == 0:
            c.seek(fk.TopicPartition(topic, 0, 0), 10.0)
    t_end = time.perf_counter()
    return {
        "count": count,
        "bytes": nbytes,
        "seconds": t_end - t_first,
        "max_live_messages": max_live,
        "maxrss_kb": peak_rss_kb(),
        "end_rss_kb": current_rss_kb(),
    }


def mem_hold(config, topic, hold, every, detach):
    """Keeps `hold` messages, one out of every `every` consumed, borrowed or detached."""
    import gc

    import ferrokafka as fk

    c = fk.Consumer(config)
    c.subscribe([topic])
    kept = []
    msg = c.poll(30.0)
    assert msg is not None, "no message within 30 s"
    del msg
    time.sleep(1.0)  # let the prefetch queue (queued.max.messages.kbytes) fill up
    gc.collect()
    base_rss = current_rss_kb()
    seen = 0
    deadline = time.monotonic() + DEADLINE_SECONDS
    while len(kept) < hold:
        msg = c.poll(1.0)
        if msg is None:
            if time.monotonic() > deadline:
                raise Timeout(len(kept))
            continue
        seen += 1
        if seen % every == 0:
            kept.append(msg.detach() if detach else msg)
        del msg
    time.sleep(1.0)
    gc.collect()
    held_rss = current_rss_kb()
    live = c.live_message_count
    payload_bytes = sum(len(m.payload) for m in kept)
    kept.clear()
    gc.collect()
    time.sleep(1.0)
    after_rss = current_rss_kb()
    return {
        "held": hold,
        "every": every,
        "detached": detach,
        "consumed": seen,
        "base_rss_kb": base_rss,
        "held_rss_kb": held_rss,
        "released_rss_kb": after_rss,
        "live_native_messages": live,
        "payload_bytes": payload_bytes,
        "maxrss_kb": peak_rss_kb(),
    }


def main(argv: list[str]) -> int:
    kind, args = argv[0], json.loads(argv[1])
    if kind == "consume":
        fn = CONSUMERS[args.pop("client")]
        result = fn(args["config"], args["topic"], args["expected"], args["checksum"], args["batch"])
    elif kind == "arrow":
        fn = ARROW_CONSUMERS[args.pop("client")]
        result = fn(args["config"], args["topic"], args["expected"], args["checksum"], args["batch"])
    elif kind == "produce":
        fn = PRODUCERS[args.pop("client")]
        result = fn(args["config"], args["topic"], args["count"], args["size"])
    elif kind == "produce-batch":
        fn = BATCH_PRODUCERS[args.pop("client")]
        result = fn(args["config"], args["topic"], args["count"], args["size"], args["batch"])
    elif kind == "latency":
        fn = LATENCY[args.pop("client")]
        result = fn(
            args["consumer_config"], args["producer_config"], args["topic"], args["rate"], args["seconds"], args["size"]
        )
    elif kind == "mem-stream":
        result = mem_stream(args["config"], args["topic"], args["expected"], args["passes"])
    elif kind == "mem-hold":
        result = mem_hold(args["config"], args["topic"], args["hold"], args["every"], args["detach"])
    else:
        raise SystemExit(f"unknown kind {kind}")
    print(json.dumps(result), flush=True)
    # Skip closing (group leave, handle teardown): the result is out, the group is throw-away.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
