"""Shared pieces of the benchmark harness: configs, topics, the contender runners."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

BENCHES = Path(__file__).resolve().parent
REPO = BENCHES.parent
WORKERS = BENCHES / "workers.py"
RUST_DIR = BENCHES / "rust-consumer"
TARGET_DIR = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/ferrokafka/cargo-target"))
RUST_BIN = TARGET_DIR / "release" / "ferrokafka-bench-consumer"

KB = 1024
MB = 1024 * 1024

# size -> (label, messages in full mode). --quick divides the counts by QUICK_DIVISOR.
SIZES = {
    100: ("100 B", 1_000_000),  # 100 MB
    KB: ("1 KB", 200_000),  # 200 MB
    64 * KB: ("64 KB", 10_000),  # 655 MB
    MB: ("1 MB", 2_000),  # 2 GB
}
QUICK_DIVISOR = 50

CONSUME_CONTENDERS = [
    "ferro-poll",
    "ferro-iter",
    "ferro-consume",
    "ferro-consume-detach",
    "confluent-poll",
    "confluent-consume",
    # ferrokafka's confluent-kafka drop-in (ferrokafka.confluent): confluent-poll's loop on it
    "dropin-poll",
    # pure-Python clients, each in its idiomatic loop (what their users run)
    "aiokafka",
    "kafka-python",
    "rust-rdkafka",
    "rust-rdkafka-batch",
]
FERRO_CONSUME = [c for c in CONSUME_CONTENDERS if c.startswith("ferro")]
# kafka-python checks CRC32C in pure Python: ~14 MB/s, over two minutes a run of the 1 MB topic.
SKIPPED_FROM_SIZE = {"kafka-python": MB}


def consumers_for(size: int, contenders: list[str]) -> list[str]:
    return [c for c in contenders if size < SKIPPED_FROM_SIZE.get(c, size + 1)]


# rust-rdkafka: rdkafka's BaseConsumer poll loop; rust-rdkafka-batch: librdkafka's batch API
# (rd_kafka_consume_batch_queue) through rdkafka-sys, the cheapest way librdkafka hands out messages.
RUST_CONSUME = [c for c in CONSUME_CONTENDERS if c.startswith("rust")]
CONFLUENT_CONSUME = [c for c in CONSUME_CONTENDERS if c.startswith("confluent")]

PRODUCE_CONTENDERS = [
    "ferro-produce-bytes",
    "ferro-produce-memoryview",
    "confluent-produce",
    "confluent-produce-callback",
    # ferrokafka's confluent-kafka drop-in (ferrokafka.confluent): confluent-produce's loop on it
    "dropin-produce",
    "aiokafka-produce",
    "kafka-python-produce",
]
FERRO_PRODUCE = [c for c in PRODUCE_CONTENDERS if c.startswith("ferro")]
CONFLUENT_PRODUCE = [c for c in PRODUCE_CONTENDERS if c.startswith("confluent")]
# size -> messages in full mode
PRODUCE_SIZES = {100: 500_000, KB: 200_000}

# Kafka -> Arrow table ingest (the `arrow` section): every contender ends with one pyarrow Table
# holding every message. The pure-Rust consumers are the ceilings (they build no table).
ARROW_CONTENDERS = [
    "ferro-arrow",  # consume_batch(batch_size(size)) -> pa.table(batch)
    "ferro-arrow-10k",  # the same with consume_batch's default max_messages, 10,000
    "confluent-arrow",  # consume(batch_size(size)) -> Python lists -> pa.table(..., schema)
    "rust-rdkafka",
    "rust-rdkafka-batch",
]
FERRO_ARROW = [c for c in ARROW_CONTENDERS if c.startswith("ferro")]
CONFLUENT_ARROW = [c for c in ARROW_CONTENDERS if c.startswith("confluent")]
PYTHON_ARROW = FERRO_ARROW + CONFLUENT_ARROW
ARROW_CEILING = "rust-rdkafka-batch"
ARROW_SIZES = [100, KB]

# Producer.produce_batch (the `produce-batch` section), PRODUCE_BATCH messages per call, the same
# message counts as PRODUCE_SIZES.
PRODUCE_BATCH_CONTENDERS = [
    "ferro-produce-batch",  # produce_batch(topic, [bytes, ...])
    "ferro-produce-batch-arrow",  # produce_batch(topic, pyarrow Table with a `value` column)
    "confluent-produce-batch",  # produce_batch(topic, [{"value": bytes}, ...]) + flush()
]
FERRO_PRODUCE_BATCH = [c for c in PRODUCE_BATCH_CONTENDERS if c.startswith("ferro")]
CONFLUENT_PRODUCE_BATCH = [c for c in PRODUCE_BATCH_CONTENDERS if c.startswith("confluent")]
PRODUCE_BATCH = 10_000

# asyncio clients (the `aio` section), each on asyncio.run()'s default loop: consume (the 100 B and
# 1 KB topics), produce (PRODUCE_SIZES counts) and produce -> consume latency. The synchronous
# ferrokafka contenders are the reference rows.
AIO_SIZES = [100, KB]
AIO_CONSUME_CONTENDERS = [
    "ferro-aio-iter",  # ferrokafka.aio: async for msg in consumer (lending iterator)
    "ferro-aio-consume",  # ferrokafka.aio: await consumer.consume(batch, 1.0)
    "confluent-aio-consume",  # confluent_kafka.aio: await consumer.consume(batch, 1.0)
    "confluent-aio-poll",  # confluent_kafka.aio: await consumer.poll(1.0), one thread-pool call per message
    "aiokafka",  # async for msg in consumer (the consume section's contender)
    "aiokafka-getmany",  # await consumer.getmany(timeout_ms=1000, max_records=batch)
    "ferro-consume",  # reference: the synchronous consume(batch, 1.0)
]
FERRO_AIO_CONSUME = [c for c in AIO_CONSUME_CONTENDERS if c.startswith("ferro-aio")]
CONFLUENT_AIO_CONSUME = [c for c in AIO_CONSUME_CONTENDERS if c.startswith("confluent-aio")]
AIOKAFKA_CONSUME = [c for c in AIO_CONSUME_CONTENDERS if c.startswith("aiokafka")]
AIO_SYNC_CONSUME = "ferro-consume"
AIO_PRODUCE_CONTENDERS = [
    "ferro-aio-produce",  # futures.append(await producer.produce(...)); await flush(); await each future
    "confluent-aio-produce",  # the same loop with confluent_kafka.aio.AIOProducer
    "aiokafka-produce",  # the produce section's contender: await producer.send(...)
    "ferro-produce-bytes",  # reference: the synchronous produce()
]
FERRO_AIO_PRODUCE = ["ferro-aio-produce"]
AIO_PRODUCE_RIVALS = ["confluent-aio-produce", "aiokafka-produce"]
AIO_SYNC_PRODUCE = "ferro-produce-bytes"
# Produce -> consume latency: one process, one loop, a producer task sending AIO_LATENCY_RATE
# messages of AIO_LATENCY_SIZE bytes a second and a consumer task reading them (workers.py).
AIO_LATENCY_CONTENDERS = [
    "ferro-aio",  # async for + await produce()
    "confluent-aio",  # await poll(1.0) + await produce(), AIOProducer's defaults (batch_size=1000)
    "confluent-aio-batch1",  # the same with AIOProducer(batch_size=1): each produce() sent at once
    "aiokafka",  # async for + await send()
]
AIO_LATENCY_RATE = 2000
AIO_LATENCY_SIZE = 100
AIO_LATENCY_SECONDS = 5  # --quick: AIO_LATENCY_QUICK_SECONDS
AIO_LATENCY_QUICK_SECONDS = 2

# Topic-level limit for the big-message topics (the harness's broker allows 12 MB messages).
BIG_TOPIC_CONFIG = {"max.message.bytes": str(12 * MB)}


def consumer_config(bootstrap: str, size: int, group: str | None = None, defaults: bool = False) -> dict:
    """The same consumer configuration for every client (librdkafka underneath all of them); with
    `defaults`, only what reading the topic needs: every client then runs with its own defaults."""
    config: dict = {
        "bootstrap.servers": bootstrap,
        "group.id": group or f"bench-{uuid.uuid4().hex[:12]}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    }
    if defaults:
        return config
    config |= {
        # librdkafka >= 2.4 pauses fetching for fetch.queue.backoff.ms (default 1000 ms!) whenever
        # the local queue is over queued.min.messages (100,000) or queued.max.messages.kbytes. A
        # Python consumer drains 100,000 small messages in ~0.15 s, then idles for the rest of the
        # second: with the default every Python client is capped at ~100k msgs/s by the fetcher, not
        # by its own cost (the pure-Rust consumer never fills the queue). 10 ms removes that cap.
        "fetch.queue.backoff.ms": 10,
    }
    if size >= 64 * KB:
        # Room for whole 1 MB records per fetch, and big fetch responses.
        config.update(
            {
                "fetch.max.bytes": 64 * MB,
                "max.partition.fetch.bytes": 16 * MB,
                "receive.message.max.bytes": 64 * MB + 1024 * 1024,
            }
        )
    return config


def producer_config(bootstrap: str) -> dict:
    """The same producer configuration for both clients (acks=all is librdkafka's default)."""
    return {
        "bootstrap.servers": bootstrap,
        "linger.ms": 5,
        "batch.num.messages": 10_000,
        "batch.size": 1_000_000,
        "compression.type": "none",
        "queue.buffering.max.messages": 1_000_000,
        "queue.buffering.max.kbytes": 1_048_576,
    }


# ----------------------------------------------------------------------------- topics


def create_topics(bootstrap: str, topics: dict[str, dict]) -> None:
    """Creates topics (name -> topic config), one partition each; existing ones are kept."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    new = [NewTopic(name, num_partitions=1, replication_factor=1, config=cfg) for name, cfg in topics.items()]
    for name, fut in admin.create_topics(new, operation_timeout=30).items():
        try:
            fut.result(60)
        except Exception as e:  # noqa: BLE001 - TOPIC_ALREADY_EXISTS is fine
            if "TOPIC_ALREADY_EXISTS" not in str(e):
                raise


def preproduce(bootstrap: str, topic: str, count: int, size: int) -> float:
    """Fills `topic` with `count` messages of `size` bytes (keys k00000001...) with confluent-kafka.

    Returns the seconds it took. Every message gets an 8..9-byte key so that key reads do work.
    """
    import confluent_kafka as ck

    create_topics(bootstrap, {topic: BIG_TOPIC_CONFIG if size >= 64 * KB else {}})
    p = ck.Producer({**producer_config(bootstrap), "message.max.bytes": 12 * MB, "linger.ms": 20})
    payload = os.urandom(size)
    t0 = time.perf_counter()
    for i in range(count):
        while True:
            try:
                p.produce(topic, payload, key=b"k%08d" % i)
                break
            except BufferError:
                p.poll(0.05)
        if not i & 1023:
            p.poll(0)
    left = p.flush(300)
    if left:
        raise RuntimeError(f"pre-produce of {topic}: {left} messages not delivered")
    return time.perf_counter() - t0


def topic_count(bootstrap: str, topic: str) -> int:
    import confluent_kafka as ck

    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-watermarks"})
    try:
        low, high = c.get_watermark_offsets(ck.TopicPartition(topic, 0), timeout=30)
        return high - low
    finally:
        c.close()


# ----------------------------------------------------------------------------- running contenders


def python_exe() -> str:
    return sys.executable


def run_worker(kind: str, args: dict, timeout: float = 600.0) -> dict:
    """Runs one benchmark in a fresh interpreter; returns its JSON result (or raises)."""
    # pyarrow imports numpy, whose OpenBLAS starts a thread per core that spins for a while: on
    # two cores that took CPU from the broker and librdkafka in every contender importing pyarrow.
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [python_exe(), str(WORKERS), kind, json.dumps(args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
        cwd=str(BENCHES),
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{kind} {args.get('client')} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def build_rust_consumer(quiet: bool = True) -> Path:
    """Builds benches/rust-consumer (incremental: a no-op when up to date)."""
    env = dict(os.environ, CARGO_TARGET_DIR=str(TARGET_DIR))
    subprocess.run(
        ["cargo", "build", "--release", "--manifest-path", str(RUST_DIR / "Cargo.toml")]
        + (["--quiet"] if quiet else []),
        check=True,
        env=env,
    )
    return RUST_BIN


def run_rust_consumer(
    config: dict, topic: str, expected: int, checksum: bool, batch: bool = False, timeout: float = 600.0
) -> dict:
    extras = [
        f"{k}={str(v).lower() if isinstance(v, bool) else v}"
        for k, v in config.items()
        if k not in ("bootstrap.servers", "group.id", "auto.offset.reset", "enable.auto.commit")
    ]
    proc = subprocess.run(
        [
            str(RUST_BIN),
            config["bootstrap.servers"],
            topic,
            config["group.id"],
            str(expected),
            ("checksum" if checksum else "plain") + ("-batch" if batch else ""),
            *extras,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"rust consumer failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def batch_size(size: int) -> int:
    """max_messages / num_messages of the batch contenders: 1000, but at most ~16 MB per batch."""
    return min(1000, max(16, 16 * MB // size))


def run_consume(
    contender: str, bootstrap: str, topic: str, size: int, expected: int, checksum: bool, defaults: bool = False
) -> dict:
    """One run of a consume or Arrow ingest contender (PYTHON_ARROW: worker kind `arrow`)."""
    config = consumer_config(bootstrap, size, defaults=defaults)
    if contender in RUST_CONSUME:
        result = run_rust_consumer(config, topic, expected, checksum, batch=contender == "rust-rdkafka-batch")
    else:
        result = run_worker(
            "arrow" if contender in PYTHON_ARROW else "consume",
            {
                "client": contender,
                "config": config,
                "topic": topic,
                "expected": expected,
                "checksum": checksum,
                "batch": 10_000 if contender == "ferro-arrow-10k" else batch_size(size),
            },
        )
    if result["count"] != expected or result["bytes"] != expected * size:
        raise RuntimeError(
            f"{contender} on {topic}: got {result['count']} messages / {result['bytes']} bytes, "
            f"expected {expected} / {expected * size}"
        )
    return result


def run_produce(contender: str, bootstrap: str, topic: str, size: int, count: int) -> dict:
    """One run of a produce or produce_batch contender (PRODUCE_BATCH_CONTENDERS)."""
    config = producer_config(bootstrap)
    args = {"client": contender, "config": config, "topic": topic, "count": count, "size": size}
    if contender in PRODUCE_BATCH_CONTENDERS:
        result = run_worker("produce-batch", dict(args, batch=PRODUCE_BATCH))
    else:
        result = run_worker("produce", args)
    if result.get("unflushed"):
        raise RuntimeError(f"{contender}: {result['unflushed']} messages not delivered")
    return result


def run_latency(contender: str, bootstrap: str, topic: str, rate: int, seconds: float, size: int) -> dict:
    """One produce -> consume latency run (workers.py `latency`) on a fresh, empty `topic`."""
    result = run_worker(
        "latency",
        {
            "client": contender,
            "consumer_config": consumer_config(bootstrap, size),
            "producer_config": producer_config(bootstrap),
            "topic": topic,
            "rate": rate,
            "seconds": seconds,
            "size": size,
        },
        timeout=seconds + 180,
    )
    if result["count"] != result["expected"] or result["failed"]:
        raise RuntimeError(
            f"{contender} latency on {topic}: {result['count']} of {result['expected']} messages received, "
            f"{result['failed']} deliveries failed"
        )
    return result


# What every Arrow contender's final table must agree on (rows and value bytes are checked per run
# by run_consume): the Python contenders on all of it, the pure-Rust consumers on what they report.
ARROW_DIGEST = ("key_bytes", "offset_sum", "checksum", "timestamp_sum")
RUST_DIGEST = ("key_bytes", "offset_sum")


def check_arrow_agreement(results: dict[str, list[dict]], topic: str) -> list[str]:
    """Checks that the Arrow contenders' tables of one topic hold the same messages: raises
    RuntimeError when two runs disagree. Returns notes (a table whose schema is not ARROW_SCHEMA)."""
    reference: dict[str, tuple[str, object]] = {}
    notes = []
    for contender, runs in results.items():
        fields = ARROW_DIGEST if contender in PYTHON_ARROW else RUST_DIGEST
        for r in runs:
            for f in fields:
                if f in reference and reference[f][1] != r.get(f):
                    raise RuntimeError(
                        f"{topic}: {contender} read {f}={r.get(f)}, {reference[f][0]} read {reference[f][1]}"
                    )
                reference.setdefault(f, (contender, r.get(f)))
            if contender in PYTHON_ARROW and r.get("schema_diff"):
                notes.append(f"{contender}: the table's schema differs: {'; '.join(r['schema_diff'])}")
    return sorted(set(notes))


def run_sampled(
    kind: str, args: dict, interval: float = 0.05, timeout: float = 600.0
) -> tuple[dict, list[tuple[float, int]]]:
    """Runs a worker while sampling its RSS (VmRSS, KiB) from outside every `interval` seconds.

    Sample times are relative to the worker's first message ("FIRST" on its stdout).
    """
    proc = subprocess.Popen(
        [python_exe(), str(WORKERS), kind, json.dumps(args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=str(BENCHES),
    )
    samples: list[tuple[float, int]] = []
    first = [None]
    out_lines: list[str] = []

    def reader():
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("FIRST") and first[0] is None:
                first[0] = time.monotonic()
            out_lines.append(line)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t_end = time.monotonic() + timeout
    status = f"/proc/{proc.pid}/status"
    while proc.poll() is None and time.monotonic() < t_end:
        try:
            with open(status) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        samples.append((time.monotonic(), int(line.split()[1])))
                        break
        except OSError:
            break
        time.sleep(interval)
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    t.join(5)
    stderr = proc.stderr.read() if proc.stderr else ""
    lines = [ln for ln in out_lines if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{kind} failed (exit {proc.returncode}):\n{stderr[-3000:]}")
    t0 = first[0] if first[0] is not None else (samples[0][0] if samples else 0.0)
    return json.loads(lines[-1]), [(ts - t0, rss) for ts, rss in samples]


# ----------------------------------------------------------------------------- summaries


def rate(r: dict, what: str = "count") -> float:
    """Messages (or bytes) per second of a run, over its timed part."""
    return r.get(f"timed_{what}", r[what]) / r["seconds"] if r["seconds"] > 0 else 0.0


def summarize(runs: list[dict], size: int) -> dict:
    rates = [rate(r) for r in runs if r["seconds"] > 0]
    mbs = [rate(r, "bytes") / 1e6 for r in runs if r["seconds"] > 0]
    return {
        "runs": len(runs),
        "msgs_per_s": statistics.median(rates) if rates else 0.0,
        "mb_per_s": statistics.median(mbs) if mbs else 0.0,
        "min_msgs_per_s": min(rates) if rates else 0.0,
        "max_msgs_per_s": max(rates) if rates else 0.0,
        "peak_rss_mb": max(r["maxrss_kb"] for r in runs) / 1024,
        "setup_s": statistics.median(r.get("setup_seconds", 0.0) for r in runs),
    }
