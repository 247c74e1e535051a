"""A tiny, fast mode of the benchmark harness, meant to be called from the test suite.

    from smoke import run_smoke          # with benches/ on sys.path
    result = run_smoke(bootstrap)        # {"consume": [rows], "arrow": [rows], "produce": [rows],
                                         #  "produce_batch": [rows], "aio_consume": [rows],
                                         #  "aio_produce": [rows], "aio_latency": [rows], "skipped": [...]}

Every consume contender (the ferrokafka ones, the confluent-kafka ones and, when the pure-Rust
consumer is built or can be built, rust-rdkafka) reads the same ~2,000 tiny messages in its own
subprocess, exactly as benches/run.py does, and so does every Python Kafka -> Arrow table contender
(their tables are checked against each other and against the Rust consumers' key bytes and offset
sums); every produce and produce_batch contender produces ~2,000 tiny messages; the asyncio
contenders (the `aio` section) do the same, and each produce -> consume latency contender runs for
half a second.
It checks that the harness and every contender work (counts and bytes are verified), not speed:
the numbers are far too small to mean anything.

Standalone: ``python benches/smoke.py [BOOTSTRAP]`` (without BOOTSTRAP it starts a broker with
tests/realkafka/harness.py).
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as bl  # noqa: E402


def _row(kind: str, contender: str, size: int, r: dict) -> dict:
    return {
        "kind": kind,
        "contender": contender,
        "size": size,
        "count": r["count"],
        "bytes": r["bytes"],
        "seconds": r["seconds"],
        "msgs_per_s": bl.rate(r),
        "mb_per_s": bl.rate(r, "bytes") / 1e6,
        "peak_rss_mb": r["maxrss_kb"] / 1024,
    }


def run_smoke(
    bootstrap: str,
    messages: int = 2000,
    size: int = 100,
    checksum: bool = False,
    include_rust: bool = True,
    latency_seconds: float = 0.5,
) -> dict:
    """Runs every contender once on `messages` messages of `size` bytes, and every produce ->
    consume latency contender for `latency_seconds` (at AIO_LATENCY_RATE); returns the rows.

    Raises RuntimeError if a contender fails or reads the wrong number of messages or bytes. The
    rust-rdkafka contenders are skipped (not failed) when benches/rust-consumer cannot be built.
    """
    topic = f"bench-smoke-{uuid.uuid4().hex[:8]}"
    bl.preproduce(bootstrap, topic, messages, size)
    have = bl.topic_count(bootstrap, topic)
    if have != messages:
        raise RuntimeError(f"{topic} holds {have} messages, expected {messages}")
    contenders = list(bl.CONSUME_CONTENDERS)
    skipped = []
    if include_rust:
        try:
            bl.build_rust_consumer()
        except Exception as e:  # noqa: BLE001 - no cargo, no network...
            skipped += [{"contender": c, "reason": f"build failed: {e}"} for c in bl.RUST_CONSUME]
            contenders = [c for c in contenders if c not in bl.RUST_CONSUME]
    else:
        contenders = [c for c in contenders if c not in bl.RUST_CONSUME]
    raw = {c: bl.run_consume(c, bootstrap, topic, size, messages, checksum) for c in contenders}
    consume = [_row("consume", c, size, r) for c, r in raw.items()]
    # The Arrow section's Rust ceilings are the consume contenders above: not run twice.
    arrow_raw = {c: bl.run_consume(c, bootstrap, topic, size, messages, checksum) for c in bl.PYTHON_ARROW}
    notes = bl.check_arrow_agreement(
        {c: [r] for c, r in {**arrow_raw, **raw}.items() if c in bl.ARROW_CONTENDERS}, topic
    )
    arrow = [dict(_row("arrow", c, size, r), schema_matches=r["schema_matches"]) for c, r in arrow_raw.items()]
    produce_topic = f"bench-smoke-produce-{uuid.uuid4().hex[:8]}"
    bl.create_topics(bootstrap, {produce_topic: {}})
    produce = [
        _row("produce", c, size, bl.run_produce(c, bootstrap, produce_topic, size, messages))
        for c in bl.PRODUCE_CONTENDERS
    ]
    produce_batch = [
        _row("produce_batch", c, size, bl.run_produce(c, bootstrap, produce_topic, size, messages))
        for c in bl.PRODUCE_BATCH_CONTENDERS
    ]
    # The asyncio clients (the `aio` section): the contenders not run above, then latency.
    aio_consume = [
        _row("aio_consume", c, size, bl.run_consume(c, bootstrap, topic, size, messages, checksum))
        for c in bl.AIO_CONSUME_CONTENDERS
        if c not in raw
    ]
    aio_produce = [
        _row("aio_produce", c, size, bl.run_produce(c, bootstrap, produce_topic, size, messages))
        for c in bl.AIO_PRODUCE_CONTENDERS
        if c not in bl.PRODUCE_CONTENDERS
    ]
    latency_topics = {c: f"bench-smoke-latency-{c}-{uuid.uuid4().hex[:8]}" for c in bl.AIO_LATENCY_CONTENDERS}
    bl.create_topics(bootstrap, {t: {} for t in latency_topics.values()})
    aio_latency = []
    for c, t in latency_topics.items():
        r = bl.run_latency(c, bootstrap, t, bl.AIO_LATENCY_RATE, latency_seconds, bl.AIO_LATENCY_SIZE)
        aio_latency.append({"contender": c, **{k: r[k] for k in ("count", "p50_ms", "p99_ms", "max_ms")}})
    return {
        "consume": consume,
        "arrow": arrow,
        "produce": produce,
        "produce_batch": produce_batch,
        "aio_consume": aio_consume,
        "aio_produce": aio_produce,
        "aio_latency": aio_latency,
        "notes": notes,
        "skipped": skipped,
    }


def main(argv: list[str]) -> int:
    if argv:
        print(json.dumps(run_smoke(argv[0]), indent=1))
        return 0
    sys.path.insert(0, str(bl.REPO / "tests"))
    from realkafka.harness import KafkaBroker  # type: ignore

    with KafkaBroker() as broker:
        print(json.dumps(run_smoke(broker.bootstrap_servers), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
