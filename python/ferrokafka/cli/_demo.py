"""``demo``: the zero-copy tour (also ``python -m ferrokafka`` without arguments)."""

from __future__ import annotations

import os
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import ferrokafka as fk


def _summarise(message: fk.OwnedMessage) -> tuple[int, int]:
    """Work done on the thread pool: runs on another thread, which only an OwnedMessage may do."""
    payload = message.payload
    assert payload is not None
    return message.offset, zlib.crc32(payload)


def demo(messages: int, size: int, partitions: int, sample_every: int) -> int:
    """``demo``: the borrowed/owned message model end to end, with no broker.

    Starts an embedded MockCluster, produces N messages, consumes them zero-copy through the lending
    iterator, detaches a sample and processes it on a thread pool, and prints a short report.
    """
    topic = "ferrokafka-demo"
    # The mock cluster keeps only about 5 MiB per partition: spread larger runs over more partitions.
    partitions = max(partitions, -(-messages * (size + 80) // (4 << 20)))
    with fk.MockCluster(num_brokers=1) as cluster:
        cluster.create_topic(topic, partitions=partitions)
        bootstrap = cluster.bootstrap_servers
        value = os.urandom(size)

        started = time.perf_counter()
        with fk.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.size": 1_000_000}) as producer:
            last = None
            for i in range(messages):
                while True:
                    try:
                        last = producer.produce(topic, value, key=b"%d" % i)
                        break
                    except fk.KafkaError as err:  # local queue full: let deliveries catch up
                        if not err.retriable():
                            raise
                        producer.flush(0.1)
            unresolved = producer.flush(60)
        produce_seconds = time.perf_counter() - started
        if unresolved or last is None or last.exception(0) is not None:
            print(f"produce failed: {unresolved} undelivered, last error {last and last.exception(0)}")
            return 1

        config: dict[str, str | int | float | bool] = {
            "bootstrap.servers": bootstrap,
            "group.id": "ferrokafka-demo",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            # librdkafka's default (1000 ms) idles a fast consumer of small messages: see README.
            "fetch.queue.backoff.ms": 10,
        }
        consumed = payload_bytes = checksum = 0
        detached: list[fk.OwnedMessage] = []
        started = time.perf_counter()
        with fk.Consumer(config) as consumer:
            consumer.subscribe([topic])
            # A safety net: closing the consumer from another thread ends the iteration.
            watchdog = threading.Timer(120, consumer.close)
            watchdog.start()
            for msg in consumer:  # lending iterator: each message is valid until the next one
                payload = msg.payload  # a read-only memoryview into librdkafka's buffer, no copy
                assert payload is not None
                payload_bytes += payload.nbytes
                checksum ^= payload[0]
                if consumed % sample_every == 0:
                    detached.append(msg.detach())  # the one explicit copy: it crosses a thread
                consumed += 1
                if consumed == messages:
                    break
            watchdog.cancel()
            consumer.commit(asynchronous=False)
            consume_seconds = time.perf_counter() - started
            msg.release()  # the last message would otherwise stay valid until the next iteration
            del payload  # a memoryview keeps its message's memory alive
            live_at_end = consumer.live_message_count

        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(_summarise, detached))

    mb = payload_bytes / 1e6
    print("ferrokafka demo (embedded MockCluster, no broker)")
    print(f"  librdkafka {fk.librdkafka_version}, ferrokafka {fk.__version__}")
    print(f"  topic with {partitions} partitions")
    print(
        f"  produced  {messages:>9,} messages of {size} B in {produce_seconds:6.2f} s "
        f"({messages / produce_seconds:,.0f} msg/s, {messages * size / 1e6 / produce_seconds:,.1f} MB/s)"
    )
    print(
        f"  consumed  {consumed:>9,} messages zero-copy in {consume_seconds:6.2f} s "
        f"({consumed / consume_seconds:,.0f} msg/s, {mb / consume_seconds:,.1f} MB/s)"
    )
    print(
        f"  detached  {len(detached):>9,} sampled messages, checksummed on a thread pool "
        f"(first: offset {results[0][0]}, crc32 {results[0][1]:#010x})"
    )
    print(f"  live borrowed messages at the end: {live_at_end}")
    return 0 if consumed == messages and live_at_end == 0 else 1
