"""ferrokafka.parallel's memory stays flat with a slow handler: the processor pauses partitions at
`max_in_flight` instead of buffering, and forgets every message once it finished.

The run is a child process of its own (a clean RSS); the mock cluster runs in a process of its own
too (it keeps the last ~45,000 messages of each partition in memory: in the measured process that
would be growth). It keeps only those, so the producer (a thread) stays at most AHEAD messages in
front of what the handler finished. The handler sleeps, so messages arrive far faster than they
are processed: the in-flight bound, not the handler, is what keeps memory flat.

The suite runs PARALLEL_MESSAGES, 1,000,000 (measured 48-60 s, 17,000-21,000 msg/s, RSS +0.3-0.6
MB after the warm-up); FERROKAFKA_PARALLEL_MESSAGES sets another count (scripts/soak), with the
same RSS tolerance.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

pytestmark = pytest.mark.timeout(900)

PARALLEL_MESSAGES = 1_000_000
PARTITIONS = 4
KEYS = 1000
CONCURRENCY = 32
MAX_IN_FLIGHT = 500
HANDLER_SECONDS = 0.001
AHEAD = 30_000  # the producer's lead over the handler, in messages (all partitions)
WARMUP_FRACTION = 0.2
SAMPLE_EVERY = 5_000
RSS_SLACK_KB = 10 * 1024  # 1 M messages: a leak of 10 bytes per message would show


def rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def child(count: int) -> dict[str, Any]:
    import ferrokafka as fk
    from ferrokafka.parallel import ParallelProcessor

    queue_full: int = fk.KafkaError._QUEUE_FULL  # type: ignore[attr-defined]
    cluster = subprocess.Popen(
        [sys.executable, __file__, "mock"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert cluster.stdout is not None and cluster.stdin is not None
    bootstrap = cluster.stdout.readline().strip()
    lock = threading.Lock()
    handled = [0]
    producer_error: list[str] = []

    def produce() -> None:
        try:
            with fk.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.num.messages": 10000}) as p:
                payload = b"p" * 100
                i = 0
                while i < count:
                    if i - handled[0] >= AHEAD:
                        p.poll(0.005)
                        continue
                    try:
                        p.produce("slow", payload, key=b"%d" % (i % KEYS), partition=i % PARTITIONS)
                        i += 1
                    except fk.KafkaError as err:
                        if err.code() != queue_full:
                            raise
                        p.poll(0.01)
                assert p.flush(60) == 0
        except BaseException as exc:  # noqa: BLE001 - reported
            producer_error.append(repr(exc))

    def handler(message: fk.OwnedMessage) -> None:
        time.sleep(HANDLER_SECONDS)
        with lock:
            handled[0] += 1

    processor = ParallelProcessor(
        {"bootstrap.servers": bootstrap, "group.id": "slow", "auto.offset.reset": "earliest"},
        "slow",
        handler,
        concurrency=CONCURRENCY,
        max_in_flight=MAX_IN_FLIGHT,
        max_uncommitted=MAX_IN_FLIGHT,
    )
    run_error: list[str] = []

    def run() -> None:
        try:
            processor.run()
        except BaseException as exc:  # noqa: BLE001 - reported
            run_error.append(repr(exc))

    producer = threading.Thread(target=produce, daemon=True)
    runner = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    producer.start()
    runner.start()
    warmup = int(count * WARMUP_FRACTION)
    samples: list[tuple[int, int, int]] = []  # (handled, RSS KB, in flight)
    max_in_flight = paused_samples = 0
    base_rss = 0
    next_sample = SAMPLE_EVERY
    deadline = started + 1800
    while handled[0] < count and time.monotonic() < deadline and not run_error and runner.is_alive():
        time.sleep(0.01)
        stats = processor.stats()
        max_in_flight = max(max_in_flight, stats.in_flight)
        if handled[0] >= next_sample:
            next_sample += SAMPLE_EVERY
            paused_samples += any(p.paused for p in stats.partitions.values())
            samples.append((handled[0], rss_kb(), stats.in_flight))
            if not base_rss and handled[0] >= warmup:
                base_rss = rss_kb()
    seconds = time.monotonic() - started
    # everything committable: every partition's committable offset at its end
    end = time.monotonic() + 30
    while time.monotonic() < end:
        parts = processor.stats().partitions
        if sum(p.committable or 0 for p in parts.values()) == count:
            break
        time.sleep(0.05)
    final = processor.stats()
    processor.stop()
    runner.join(60)
    producer.join(60)
    cluster.stdin.close()
    cluster.wait(30)
    return {
        "messages": count,
        "handled": handled[0],
        "seconds": round(seconds, 1),
        "msg_per_s": round(handled[0] / seconds),
        "base_rss_kb": base_rss,
        "max_rss_after_warmup_kb": max((r for h, r, _ in samples if h >= warmup), default=0),
        "samples": samples,
        "max_in_flight": max_in_flight,
        "paused_samples": paused_samples,
        "committable": sum(p.committable or 0 for p in final.partitions.values()),
        "in_flight_at_end": final.in_flight,
        "key_queues_at_end": len(final.key_queue_depths),
        "windows_at_end": sum(p.window for p in final.partitions.values()),
        "runner_alive": runner.is_alive(),
        "errors": producer_error + run_error,
    }


def test_memory_stays_flat_with_a_slow_handler(capsys: pytest.CaptureFixture[str]) -> None:
    count = int(os.environ.get("FERROKAFKA_PARALLEL_MESSAGES", PARALLEL_MESSAGES))
    proc = subprocess.run(
        [sys.executable, __file__, str(count)], capture_output=True, text=True, timeout=2400, check=False
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert proc.returncode == 0 and lines, (
        f"child exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    r = json.loads(lines[-1])
    with capsys.disabled():
        print(f"\nparallel memory: {json.dumps({k: v for k, v in r.items() if k != 'samples'})}")
    if path := os.environ.get("FERROKAFKA_SOAK_REPORT"):
        with open(path, "a") as out:
            out.write(json.dumps({"test": "parallel memory", **r}) + "\n")
    assert not r["errors"] and not r["runner_alive"], r["errors"]
    assert r["handled"] == count and r["committable"] == count, r
    # the handler is the bottleneck: the processor held back rather than buffered
    assert r["max_in_flight"] <= MAX_IN_FLIGHT, r["max_in_flight"]
    # and forgot every message once finished
    assert r["in_flight_at_end"] == 0 and r["key_queues_at_end"] == 0 and r["windows_at_end"] == 0, r
    growth = r["max_rss_after_warmup_kb"] - r["base_rss_kb"]
    assert growth <= RSS_SLACK_KB, f"RSS grew {growth} KB after the warm-up: {r['samples']}"


def mock_cluster() -> None:
    """The mock cluster's process: prints its bootstrap servers, runs until stdin closes."""
    import ferrokafka as fk

    with fk.MockCluster(1) as cluster:
        cluster.create_topic("slow", PARTITIONS)
        print(cluster.bootstrap_servers, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    if sys.argv[1] == "mock":
        mock_cluster()
    else:
        print(json.dumps(child(int(sys.argv[1]))), flush=True)
    os._exit(0)
