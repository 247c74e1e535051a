"""Resources stay flat: threads, file descriptors and RSS across thousands of clients, 2 M messages
through the lending iterator, and closed clients that are still referenced.

Each scenario runs in a child process (this file run as a script) so that what it measures is its
own: /proc/self/task (threads), /proc/self/fd (descriptors), VmRSS of /proc/self/status. The clients
talk to the test module's mock cluster, which lives in the pytest process and so does not count.
Before/after comparisons, not timings: a baseline is taken after a warm-up (allocator pools,
librdkafka's one-time initialisation, the mock cluster's group state), once the threads of the
clients already gone have ended.

Tolerances (stated here, asserted below):
- threads: back to the baseline count within SETTLE seconds of polling;
- descriptors: within FD_SLACK of the baseline;
- RSS: at most RSS_SLACK_KB plus RSS_PER_CLIENT_KB per measured client above the baseline. Measured
  here: ~0.5 KB per consumer, less per producer; a leaked librdkafka handle costs hundreds of KB
  (its threads' stacks, buffers, metadata), so a leak of one handle in ten would exceed it.

Counts: FERROKAFKA_RESOURCE_CLIENTS overrides every count of clients (scripts/soak runs 2,000 of
each), FERROKAFKA_STREAM_MESSAGES the 2 M messages (with the same RSS tolerance: a longer stream
makes a per-message leak show more).
In CI, 2,000 consumers (close and GC) and 2,000 producers relying on GC take seconds, but
`Producer.close()` takes ~200 ms here (measured: it joins the producer's poller and resolver
threads), so 2,000 closed producers would take ~7 minutes: CI closes PRODUCERS_CLOSED_CI of them
after a warm-up of 100.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import subprocess
import sys
import threading
import time
import warnings
from typing import Any

import pytest

import ferrokafka as fk

CLIENTS = 2000
WARMUP = 200
PRODUCERS_CLOSED_CI = 300
PRODUCERS_CLOSED_WARMUP_CI = 100
QUEUE_FULL: int = fk.KafkaError._QUEUE_FULL  # type: ignore[attr-defined]  # local codes are not in the stubs
SETTLE = 10.0  # seconds for threads of finished clients to end
FD_SLACK = 5
RSS_SLACK_KB = 3 * 1024
RSS_PER_CLIENT_KB = 2
STREAM_MESSAGES = 2_000_000  # ~5 s through the iterator here (measured 420k msg/s with the producer)
STREAM_WARMUP = 200_000
STREAM_RSS_SLACK_KB = 10 * 1024  # 2 M messages: a leak of 5 bytes per message would show


def clients_override() -> int | None:
    value = os.environ.get("FERROKAFKA_RESOURCE_CLIENTS")
    return int(value) if value else None


# --- measuring ---------------------------------------------------------------------------------


def rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def threads() -> int:
    return len(os.listdir("/proc/self/task"))


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def settle(target_threads: int, budget: float = SETTLE) -> dict[str, Any]:
    """Polls until the thread count is down to `target_threads` (or `budget` passes); then measures."""
    gc.collect()
    started = time.monotonic()
    while threads() > target_threads and time.monotonic() - started < budget:
        time.sleep(0.05)
    return {"threads": threads(), "fds": fds(), "rss_kb": rss_kb(), "settle_s": round(time.monotonic() - started, 2)}


def run_child(*args: object, timeout: float = 900) -> dict[str, Any]:
    command = [sys.executable, os.path.abspath(__file__), *map(str, args)]
    try:
        proc = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=os.path.dirname(os.path.abspath(__file__))
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{args} hung for {timeout}s: {exc.stdout!r} {exc.stderr!r}")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert proc.returncode == 0 and lines, (
        f"{args} exited with {proc.returncode}\nstdout: {proc.stdout[-3000:]}\nstderr: {proc.stderr[-3000:]}"
    )
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def report(capsys: pytest.CaptureFixture[str], name: str, result: dict[str, Any]) -> None:
    with capsys.disabled():
        print(f"\nresources {name}: {json.dumps(result)}")
    if path := os.environ.get("FERROKAFKA_SOAK_REPORT"):
        with open(path, "a") as out:
            out.write(json.dumps({"test": f"resources {name}", **result}) + "\n")


# --- child: many clients -------------------------------------------------------------------------


def child_clients(kind: str, how: str, count: str, warmup: str, bootstrap: str, topic: str) -> dict[str, Any]:
    n, w = int(count), int(warmup)
    warnings.simplefilter("ignore", ResourceWarning)  # the GC variant drops clients unclosed on purpose
    initial_threads = threads()
    tp = fk.TopicPartition(topic, 0, fk.OFFSET_END)

    def one() -> None:
        client: Any
        if kind == "consumer":
            client = fk.Consumer({"bootstrap.servers": bootstrap, "group.id": "resources", "enable.auto.commit": False})
            client.assign([tp])
            client.poll(0)
        else:
            client = fk.Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
            client.produce(topic, b"x")
        if how == "close":
            client.close()
        del client
        if how == "gc":
            gc.collect()

    for _ in range(w):
        one()
    base = settle(initial_threads)
    started = time.monotonic()
    for _ in range(n - w):
        one()
    seconds = time.monotonic() - started
    end = settle(base["threads"])
    return {
        "kind": kind,
        "how": how,
        "clients": n,
        "measured": n - w,
        "initial_threads": initial_threads,
        "base": base,
        "end": end,
        "ms_per_client": round(1000 * seconds / max(1, n - w), 2),
    }


# --- child: 2 M messages through the lending iterator --------------------------------------------


def child_stream(count: str) -> dict[str, Any]:
    n = int(count)
    # The mock cluster keeps only the last ~45,000 messages of a partition: the producer stays at
    # most AHEAD messages in front of the consumer.
    ahead = 30_000
    cluster = fk.MockCluster(1)
    cluster.create_topic("stream", 1)
    bootstrap = cluster.bootstrap_servers
    consumed = [0]
    producer_error: list[str] = []
    produced_at: list[float] = []

    def produce() -> None:
        try:
            with fk.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.num.messages": 10000}) as p:
                payload = b"p" * 100
                i = 0
                while i < n:
                    if i - consumed[0] >= ahead:
                        p.poll(0.001)
                        continue
                    try:
                        p.produce("stream", payload, key=b"%d" % i)
                        i += 1
                    except fk.KafkaError as err:
                        if err.code() != QUEUE_FULL:
                            raise
                        p.poll(0.01)
                assert p.flush(60) == 0
            produced_at.append(time.monotonic())
        except BaseException as exc:  # noqa: BLE001 - reported
            producer_error.append(repr(exc))

    thread = threading.Thread(target=produce, name="stream-producer", daemon=True)
    thread.start()
    consumer = fk.Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "stream",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "fetch.queue.backoff.ms": 10,
            "fetch.wait.max.ms": 10,
        }
    )
    consumer.assign([fk.TopicPartition("stream", 0, 0)])
    samples: list[tuple[int, int]] = []
    gaps = 0
    bad_payload = 0
    count_seen = 0
    base_rss = 0
    max_live = 0
    started = time.monotonic()
    for msg in consumer:
        if msg.offset != count_seen:
            gaps += 1
        payload = msg.payload
        if payload is None or len(payload) != 100 or payload[0] != 0x70:
            bad_payload += 1
        del payload
        count_seen += 1
        if count_seen % 1000 == 0:
            consumed[0] = count_seen
        if count_seen % 100_000 == 0:
            max_live = max(max_live, consumer.live_message_count)
            samples.append((count_seen, rss_kb()))
            if count_seen == STREAM_WARMUP:
                base_rss = rss_kb()
        if count_seen == n:
            break
    seconds = time.monotonic() - started
    del msg
    live_at_end = consumer.live_message_count
    consumer.close()
    thread.join(60)
    gc.collect()
    after_close = consumer.live_message_count
    return {
        "messages": count_seen,
        "seconds": round(seconds, 2),
        "msg_per_s": round(count_seen / seconds),
        "gaps": gaps,
        "bad_payload": bad_payload,
        "base_rss_kb": base_rss,
        "samples": samples,
        "max_rss_after_warmup_kb": max((r for c, r in samples if c >= STREAM_WARMUP), default=0),
        "max_live_messages": max_live,
        "live_at_end": live_at_end,
        "live_after_close": after_close,
        "producer_error": producer_error,
    }


# --- child: closed clients, still referenced ------------------------------------------------------

CLOSED_KEPT = 3  # of each client type


def child_closed_kept(library: str, bootstrap: str, topic: str) -> dict[str, Any]:
    """Creates CLOSED_KEPT of each client type of `library` (ferrokafka, ferrokafka-aio, confluent,
    confluent-aio), lets each talk to the cluster, closes them and keeps them referenced: what is
    left right after the last close() returned, and a second later."""
    import asyncio

    warnings.simplefilter("ignore", ResourceWarning)
    conf = {"bootstrap.servers": bootstrap}
    group = {"group.id": "closed-kept", "auto.offset.reset": "earliest", "enable.auto.commit": False}

    if library.startswith("confluent"):
        import confluent_kafka as ck
        import confluent_kafka.admin as ck_admin

        consumer_cls, producer_cls, admin_cls = ck.Consumer, ck.Producer, ck_admin.AdminClient
    else:
        consumer_cls, producer_cls, admin_cls = fk.Consumer, fk.Producer, fk.AdminClient

    def sync_round(kept: list[Any]) -> None:
        for _ in range(CLOSED_KEPT):
            consumer = consumer_cls({**conf, **group})
            consumer.subscribe([topic])
            consumer.poll(0.5)
            producer = producer_cls(conf)
            producer.produce(topic, b"x")
            producer.flush(10)
            admin = admin_cls(conf)
            admin.list_topics(timeout=10)
            consumer.close()
            for client in (producer, admin):
                if hasattr(client, "close"):  # confluent-kafka's Producer and AdminClient have none
                    client.close()
            kept += [consumer, producer, admin]

    async def aio_round(kept: list[Any]) -> None:
        if library.startswith("confluent"):
            import confluent_kafka.aio as aio
        else:
            import ferrokafka.aio as aio  # type: ignore[no-redef]
        for _ in range(CLOSED_KEPT):
            consumer = aio.AIOConsumer({**conf, **group})
            await consumer.subscribe([topic])
            await consumer.poll(0.5)
            producer = aio.AIOProducer(conf)
            await (await producer.produce(topic, b"x"))
            clients: list[Any] = [consumer, producer]
            if hasattr(aio, "AIOAdminClient"):  # confluent-kafka has no asyncio admin client
                admin = aio.AIOAdminClient(conf)
                with contextlib.suppress(fk.KafkaError):  # the mock has no admin APIs: it says so
                    await admin.list_groups()
                clients.append(admin)
            for client in clients:
                await client.close()
            kept += clients

    def one_round(kept: list[Any]) -> None:
        if library.endswith("-aio"):
            asyncio.run(aio_round(kept))
        else:
            sync_round(kept)

    one_round([])  # warm-up: librdkafka's one-time initialisation, the group's state
    base = settle(1, budget=3.0)
    kept: list[Any] = []
    one_round(kept)
    after_close = {"threads": threads(), "fds": fds()}
    time.sleep(1.0)
    a_second_later = {"threads": threads(), "fds": fds()}
    return {
        "library": library,
        "kept": len(kept),
        "base": {"threads": base["threads"], "fds": base["fds"]},
        "after_close": after_close,
        "a_second_later": a_second_later,
    }


# --- child: a closed consumer, still referenced, with statistics every 100 ms --------------------


def child_closed_stats(seconds: str) -> dict[str, Any]:
    wait = float(seconds)
    cluster = fk.MockCluster(1)
    cluster.create_topic("stats", 64)  # 64 partitions: each statistics event is ~50 KB of JSON
    threads_without_consumers = threads()
    calls: dict[int, int] = {}
    sizes: list[int] = []

    def stats_cb(index: int) -> Any:
        def call(stats: str) -> None:
            calls[index] = calls.get(index, 0) + 1
            sizes.append(len(stats))

        return call

    consumers = []
    for i in range(10):
        consumer = fk.Consumer(
            {
                "bootstrap.servers": cluster.bootstrap_servers,
                "group.id": f"stats-{i}",
                "statistics.interval.ms": 100,
                "stats_cb": stats_cb(i),
            }
        )
        consumer.assign([fk.TopicPartition("stats", p, 0) for p in range(64)])
        consumers.append(consumer)
    deadline = time.monotonic() + 20
    while len(calls) < len(consumers) and time.monotonic() < deadline:
        for consumer in consumers:
            consumer.poll(0.01)
    calls_before_close = sum(calls.values())
    for consumer in consumers:
        consumer.close()
    gc.collect()
    calls_at_close = sum(calls.values())
    before = rss_kb()
    started = time.monotonic()
    time.sleep(wait)  # the property is that nothing accumulates over time: time has to pass
    elapsed = time.monotonic() - started
    after = rss_kb()
    threads_while_referenced = threads()
    del consumers, consumer
    gc.collect()
    dropped = settle(threads_without_consumers)
    return {
        "consumers": 10,
        "stats_calls_before_close": calls_before_close,
        "stats_calls_after_close": sum(calls.values()) - calls_at_close,
        "consumers_with_stats": len(calls),
        "avg_stats_json_bytes": sum(sizes) // max(1, len(sizes)),
        "seconds": round(elapsed, 2),
        "rss_growth_kb": after - before,
        "threads_without_consumers": threads_without_consumers,
        "threads_while_referenced": threads_while_referenced,
        "after_dropping": dropped,
    }


def main() -> None:
    name, *args = sys.argv[1:]
    result = globals()[f"child_{name}"](*args)
    print(json.dumps(result), flush=True)
    os._exit(0)


# --- the tests -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def resource_topic(mock_cluster: fk.MockCluster) -> str:
    mock_cluster.create_topic("resources", 1)
    return "resources"


def counts_for(kind: str, how: str) -> tuple[int, int]:
    override = clients_override()
    if override is not None:
        return override, min(WARMUP, override // 2)
    if kind == "producer" and how == "close":
        return PRODUCERS_CLOSED_CI, PRODUCERS_CLOSED_WARMUP_CI
    return CLIENTS, WARMUP


@pytest.mark.parametrize("how", ["close", "gc"])
@pytest.mark.parametrize("kind", ["consumer", "producer"])
def test_thousands_of_clients_leave_threads_fds_and_rss_flat(
    mock_cluster: fk.MockCluster, resource_topic: str, kind: str, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    n, warmup = counts_for(kind, how)
    r = run_child("clients", kind, how, n, warmup, mock_cluster.bootstrap_servers, resource_topic)
    report(capsys, f"{kind}s {how}", r)
    base, end = r["base"], r["end"]
    assert end["threads"] <= base["threads"], f"threads did not come back within {SETTLE}s: {r}"
    assert abs(end["fds"] - base["fds"]) <= FD_SLACK, f"file descriptors: {r}"
    budget = RSS_SLACK_KB + RSS_PER_CLIENT_KB * r["measured"]
    growth = end["rss_kb"] - base["rss_kb"]
    assert growth <= budget, f"RSS grew {growth} KB over {r['measured']} {kind}s (budget {budget} KB): {r}"


def test_two_million_messages_through_the_lending_iterator_at_flat_rss(capsys: pytest.CaptureFixture[str]) -> None:
    n = int(os.environ.get("FERROKAFKA_STREAM_MESSAGES", STREAM_MESSAGES))
    r = run_child("stream", n)
    report(capsys, "stream", r)
    assert not r["producer_error"], r
    assert r["messages"] == n and r["gaps"] == 0 and r["bad_payload"] == 0, r
    growth = r["max_rss_after_warmup_kb"] - r["base_rss_kb"]
    assert growth <= STREAM_RSS_SLACK_KB, f"RSS grew {growth} KB after the warm-up: {r['samples']}"
    # The lending iterator holds one message at a time (the one it lent last).
    assert r["max_live_messages"] <= 1 and r["live_at_end"] <= 1 and r["live_after_close"] == 0, r


CLOSE_FD_SLACK = 1  # a descriptor Python itself may hold for a moment (e.g. while listing /proc)


@pytest.mark.parametrize("flavour", ["sync", "aio"])
def test_close_releases_threads_and_sockets_while_the_clients_stay_referenced(
    mock_cluster: fk.MockCluster, resource_topic: str, flavour: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """close() means closed: with every client still referenced, no librdkafka thread, pipe or
    socket is left once the last close() returned — as with confluent-kafka, measured in the same
    run for comparison (its numbers are reported, ours are asserted)."""
    suffix = "" if flavour == "sync" else "-aio"
    ours = run_child("closed_kept", "ferrokafka" + suffix, mock_cluster.bootstrap_servers, resource_topic)
    theirs = run_child("closed_kept", "confluent" + suffix, mock_cluster.bootstrap_servers, resource_topic)
    report(capsys, f"closed and kept ({flavour})", {"ferrokafka": ours, "confluent-kafka": theirs})
    base, after = ours["base"], ours["after_close"]
    assert after["threads"] <= base["threads"], f"threads left after close(): {ours} (confluent-kafka: {theirs})"
    assert after["fds"] <= base["fds"] + CLOSE_FD_SLACK, f"descriptors left after close(): {ours} (confluent: {theirs})"


def test_closed_but_referenced_consumer_stops_collecting_statistics(capsys: pytest.CaptureFixture[str]) -> None:
    wait = 3.0
    r = run_child("closed_stats", wait, timeout=120)
    report(capsys, "closed consumer with stats", r)
    assert r["consumers_with_stats"] == r["consumers"], f"stats_cb never ran on some consumer: {r}"
    assert r["stats_calls_after_close"] == 0, r
    assert r["after_dropping"]["threads"] <= r["threads_without_consumers"], r
    # What ten consumers would queue in `wait` seconds if events kept accumulating after close:
    # one statistics event per 100 ms each.
    would_leak_kb = r["consumers"] * (wait / 0.1) * r["avg_stats_json_bytes"] / 1024
    assert would_leak_kb > 8 * 1024, f"the scenario would not show a leak: {r}"
    assert r["rss_growth_kb"] < would_leak_kb / 4, (
        f"RSS grew {r['rss_growth_kb']} KB in {r['seconds']} s with closed consumers only "
        f"(~{would_leak_kb:.0f} KB if every statistics event were kept): {r}"
    )


if __name__ == "__main__":
    main()
