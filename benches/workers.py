"""One benchmark run per process: ``python benches/workers.py KIND --json-args '{...}'``.

run.py (and smoke.py) start this script once per contender run, so every run has its own
interpreter, its own librdkafka handle and its own peak RSS. The last line on stdout is one JSON
object with the result.

Every consume contender does the same work per message: read the offset, the key and the
payload's length (and, in ``checksum`` mode, zlib.crc32 of the payload). Timing starts when the
first message arrives (group join excluded) and stops at the last expected message.
"""

from __future__ import annotations

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


def consume_confluent_poll(config, topic, expected, checksum, batch=1):
    import confluent_kafka as ck

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


CONSUMERS = {
    "ferro-poll": consume_ferro_poll,
    "ferro-iter": consume_ferro_iter,
    "ferro-consume": consume_ferro_consume,
    "ferro-consume-detach": consume_ferro_detach,
    "confluent-poll": consume_confluent_poll,
    "confluent-consume": consume_confluent_consume,
    "aiokafka": consume_aiokafka,
    "kafka-python": consume_kafka_python,
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
        except fk.KafkaError:
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


def produce_confluent(config, topic, count, size, with_callback=False):
    import confluent_kafka as ck

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
        failed = sum(1 for f in await asyncio.gather(*futures, return_exceptions=True) if isinstance(f, Exception))
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


PRODUCERS = {
    "ferro-produce-bytes": produce_ferro,
    "ferro-produce-memoryview": produce_ferro_mv,
    "confluent-produce": produce_confluent,
    "confluent-produce-callback": produce_confluent_cb,
    "aiokafka-produce": produce_aiokafka,
    "kafka-python-produce": produce_kafka_python,
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
    elif kind == "produce":
        fn = PRODUCERS[args.pop("client")]
        result = fn(args["config"], args["topic"], args["count"], args["size"])
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
