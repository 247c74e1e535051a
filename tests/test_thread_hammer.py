"""Threads against one client: hammering borrowed messages, producing from 8 threads, and close()
from another thread while a call blocks.

Every scenario runs in a child process (this file run as a script, with a mock cluster of its
own), so that a crash is a test failure, not a dead test run, and a hang is bounded twice: threads
are joined with timeouts inside the child (a thread still alive is reported by name), and the child
itself has a timeout. The child prints one JSON line with what it observed; the tests assert on it.

Documented exceptions (docs/concepts.md, "Lifetime rules" and "Closing"): reading a borrowed message
from another thread raises `WrongThreadError`, an invalidated one `MessageInvalidatedError`, any call
on a closed client `ferrokafka.Error`; `release()`, `.valid` and `repr()` never raise; iteration ends
(StopIteration) when the consumer is closed, also from another thread.
"""

from __future__ import annotations

import collections
import gc
import itertools
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import ferrokafka as fk
from ferrokafka import _native

HERE = os.path.dirname(os.path.abspath(__file__))
JOIN = 10.0  # seconds a thread may take to finish once told to; longer is a hang
PROMPT = 3.0  # seconds a blocked call may take to return after close() started
OWNER_READS = 1000  # messages the owner reads at least before another thread closes the consumer
QUEUE_FULL: int = fk.KafkaError._QUEUE_FULL  # type: ignore[attr-defined]  # local codes are not in the stubs
# scripts/soak raises these: seconds of hammering, messages per producing thread.
HAMMER_SECONDS = float(os.environ.get("FERROKAFKA_HAMMER_SECONDS", "2"))
PRODUCE_PER_THREAD = int(os.environ.get("FERROKAFKA_PRODUCE_PER_THREAD", "5000"))


# --- running a scenario in a child process -----------------------------------------------------


def run_scenario(name: str, *args: object, timeout: float = 120) -> dict[str, Any]:
    command = [sys.executable, os.path.abspath(__file__), name, *map(str, args)]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=HERE)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"scenario {name} hung for {timeout}s; output so far: {exc.stdout!r} {exc.stderr!r}")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert proc.returncode == 0 and lines, (
        f"scenario {name} exited with {proc.returncode} (negative: killed by signal)\n"
        f"stdout: {proc.stdout[-3000:]}\nstderr: {proc.stderr[-3000:]}"
    )
    result: dict[str, Any] = json.loads(lines[-1])
    result["stderr"] = proc.stderr[-3000:]
    return result


def report_figures(name: str, result: dict[str, Any]) -> None:
    """For scripts/soak: appends the scenario's figures to $FERROKAFKA_SOAK_REPORT."""
    if path := os.environ.get("FERROKAFKA_SOAK_REPORT"):
        figures = {k: v for k, v in result.items() if k != "stderr"}
        with open(path, "a") as out:
            out.write(json.dumps({"test": f"threads {name}", **figures}, default=repr) + "\n")


def describe(exc: BaseException) -> str:
    return f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}"


def join_all(threads: list[threading.Thread], timeout: float = JOIN) -> list[str]:
    """Joins every thread within `timeout` in all; returns the names of those still alive (hung)."""
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [t.name for t in threads if t.is_alive()]


def new_cluster_topic(cluster: fk.MockCluster, partitions: int, messages: int, size: int = 100) -> str:
    topic = f"hammer-{os.getpid()}-{random.randrange(10**9)}"
    cluster.create_topic(topic, partitions)
    if messages:
        with fk.Producer(
            {"bootstrap.servers": cluster.bootstrap_servers, "linger.ms": 20, "batch.num.messages": 10000}
        ) as producer:
            for i in range(messages):
                payload = (b"v%d-" % i).ljust(size, b".")
                while True:
                    try:
                        producer.produce(topic, payload, key=b"k%d" % i)
                        break
                    except fk.KafkaError as err:
                        if err.code() != QUEUE_FULL:
                            raise
                        producer.poll(0.05)
            assert producer.flush(60) == 0
    return topic


# --- scenario: release/valid/detach hammered from 8 threads while the owner iterates ------------


def scenario_hammer(seconds: str) -> dict[str, Any]:
    hammer_seconds = float(seconds)
    messages = 30_000 + int(15_000 * hammer_seconds)  # more than the owner reads in that time
    cluster = fk.MockCluster(1)
    topic = new_cluster_topic(cluster, 3, messages)
    consumer = fk.Consumer(
        {
            "bootstrap.servers": cluster.bootstrap_servers,
            "group.id": "hammer",
            "enable.auto.commit": False,
            "fetch.queue.backoff.ms": 10,
        }
    )
    consumer.assign([fk.TopicPartition(topic, p, fk.OFFSET_BEGINNING) for p in range(3)])
    shared: collections.deque[fk.BorrowedMessage] = collections.deque(maxlen=256)
    views: list[tuple[memoryview, bytes]] = []
    unexpected: list[str] = []
    counts: collections.Counter[str] = collections.Counter()
    counts_lock = threading.Lock()
    stop = threading.Event()
    owner_started = threading.Event()
    closed_at: list[float] = []
    iteration_ended_at: list[float] = []

    def note(what: str) -> None:
        with counts_lock:
            counts[what] += 1

    def owner() -> None:
        try:
            owner_started.set()
            for n, msg in enumerate(consumer):
                shared.append(msg)
                try:
                    payload = msg.payload
                    assert payload is not None
                    if n % 97 == 0:
                        views.append((payload, bytes(payload)))
                    if n % 13 == 0:
                        owned = msg.detach()
                        assert owned.offset == msg.offset
                    note("owner_read")
                except fk.MessageInvalidatedError as err:
                    if err.reason not in ("released", "consumer_closed"):
                        unexpected.append(f"owner read: reason {err.reason}")
                    note(f"owner_invalidated_{err.reason}")
                del msg
            iteration_ended_at.append(time.monotonic())
        except BaseException as exc:  # noqa: BLE001 - reported
            unexpected.append(f"owner: {describe(exc)}")

    def hammer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for round_no in itertools.count():
                if stop.is_set():
                    break
                if round_no % 50 == 0:
                    time.sleep(0)  # 8 threads spinning in Python can starve the owner of the GIL
                snapshot = list(shared)
                if not snapshot:
                    time.sleep(0.001)
                    continue
                msg = rng.choice(snapshot)
                op = rng.choice(["valid", "valid", "detach", "payload", "offset", "memoryview", "repr", "release"])
                try:
                    if op == "valid":
                        if not isinstance(msg.valid, bool):
                            unexpected.append("valid is not a bool")
                    elif op == "release":
                        if rng.random() < 0.2:  # let the owner read most of its messages
                            msg.release()
                            if msg.valid:
                                unexpected.append("valid after release()")
                    elif op == "repr":
                        repr(msg)
                    elif op == "detach":
                        msg.detach()
                        unexpected.append("detach() from another thread succeeded")
                    elif op == "memoryview":
                        memoryview(msg)  # type: ignore[arg-type]  # the stubs lack __buffer__
                        unexpected.append("memoryview(msg) from another thread succeeded")
                    else:
                        getattr(msg, op)
                        unexpected.append(f"{op} from another thread succeeded")
                    note(f"ok_{op}")
                except (fk.WrongThreadError, fk.MessageInvalidatedError) as err:
                    if op in ("valid", "release", "repr"):
                        unexpected.append(f"{op} raised {describe(err)}")
                    note(type(err).__name__)
                except BaseException as exc:  # noqa: BLE001 - reported
                    unexpected.append(f"hammer {op}: {describe(exc)}")
                del msg, snapshot
        except BaseException as exc:  # noqa: BLE001 - reported
            unexpected.append(f"hammer: {describe(exc)}")

    def closer() -> None:
        try:
            owner_started.wait(JOIN)
            # Close after `hammer_seconds`, once the owner has read a fair number of messages (the
            # GIL's scheduling among nine busy threads varies a lot), before it runs out of them.
            started = time.monotonic()
            while counts["owner_read"] < messages - 10_000 and time.monotonic() < started + hammer_seconds + 20:
                if time.monotonic() >= started + hammer_seconds and counts["owner_read"] >= OWNER_READS:
                    break
                time.sleep(0.01)
            closed_at.append(time.monotonic())
            consumer.close()
            closed_at.append(time.monotonic())
        except BaseException as exc:  # noqa: BLE001 - reported
            unexpected.append(f"close: {describe(exc)}")

    owner_thread = threading.Thread(target=owner, name="owner", daemon=True)
    hammers = [threading.Thread(target=hammer, args=(i,), name=f"hammer-{i}", daemon=True) for i in range(8)]
    closer_thread = threading.Thread(target=closer, name="closer", daemon=True)
    for t in [owner_thread, *hammers, closer_thread]:
        t.start()
    hung = join_all([closer_thread, owner_thread], JOIN + hammer_seconds)
    # The hammers go on a little after the close, on invalidated messages.
    time.sleep(0.3)
    stop.set()
    hung += join_all(hammers)
    result: dict[str, Any] = {
        "hung": hung,
        "unexpected": unexpected[:50],
        "unexpected_count": len(unexpected),
        "counts": dict(counts),
        "closed": consumer.closed,
    }
    if closed_at and iteration_ended_at:
        result["iteration_end_after_close_s"] = iteration_ended_at[0] - closed_at[0]
    if len(closed_at) == 2:
        result["close_s"] = closed_at[1] - closed_at[0]
    result["all_invalid"] = all(not m.valid for m in shared)
    result["views_intact"] = all(bytes(v) == b for v, b in views)
    result["views"] = len(views)
    shared.clear()
    views.clear()
    gc.collect()
    result["live_message_count"] = consumer.live_message_count
    result["live_native_messages"] = _native._live_native_messages()
    return result


# --- scenario: 8 threads producing at once with futures and on_delivery -----------------------


def scenario_produce(per_thread: str) -> dict[str, Any]:
    n = int(per_thread)
    cluster = fk.MockCluster(1)
    topic = new_cluster_topic(cluster, 4, 0)
    calls: collections.Counter[bytes] = collections.Counter()
    reports_by_callback: dict[bytes, Any] = {}
    lock = threading.Lock()
    unexpected: list[str] = []

    def on_delivery(error: fk.KafkaError | None, report: fk.DeliveryReport | None, key: bytes) -> None:
        with lock:
            calls[key] += 1
            reports_by_callback[key] = (report, error)

    config: dict[str, Any] = {
        "bootstrap.servers": cluster.bootstrap_servers,
        "linger.ms": 5,
        # The config's on_delivery serves the threads that pass none per message.
        "on_delivery": lambda e, r: on_delivery(
            e, r, b"config:%d/%d" % (r.partition, r.offset) if r else b"config-error"
        ),
    }
    producer = fk.Producer(config)
    futures: dict[bytes, Any] = {}
    queue_full = collections.Counter[int]()

    def worker(index: int) -> None:
        try:
            for i in range(n):
                key = b"%d-%d" % (index, i)
                kwargs: dict[str, Any] = {}
                if index % 2 == 0:
                    kwargs["on_delivery"] = lambda e, r, key=key: on_delivery(e, r, key)
                while True:
                    try:
                        future = producer.produce(topic, b"value-" + key, key=key, **kwargs)
                        break
                    except fk.KafkaError as err:
                        if err.code() != QUEUE_FULL:
                            raise
                        with lock:
                            queue_full[index] += 1
                        time.sleep(0.01)
                with lock:
                    futures[key] = future
        except BaseException as exc:  # noqa: BLE001 - reported
            unexpected.append(f"worker {index}: {describe(exc)}")

    threads = [threading.Thread(target=worker, args=(i,), name=f"producer-{i}", daemon=True) for i in range(8)]
    started = time.monotonic()
    for t in threads:
        t.start()
    hung = join_all(threads, 60 + n / 2000)
    remaining = producer.flush(60 + n / 5000)
    elapsed = time.monotonic() - started
    failures: list[str] = []
    reports: dict[bytes, fk.DeliveryReport] = {}
    for key, future in futures.items():
        try:
            reports[key] = future.result(30)
        except BaseException as exc:  # noqa: BLE001 - reported
            failures.append(f"{key!r}: {describe(exc)}")
    producer.close(30)  # joins the delivery thread: every callback has run after this
    per_message = {k: c for k, c in calls.items() if not k.startswith(b"config")}
    config_calls = {k: c for k, c in calls.items() if k.startswith(b"config")}
    even_keys = [k for k in futures if int(k.split(b"-")[0]) % 2 == 0]
    odd_reports = {
        b"config:%d/%d" % (reports[k].partition, reports[k].offset)
        for k in futures
        if int(k.split(b"-")[0]) % 2 == 1 and k in reports
    }
    mismatched = [k for k in even_keys if k in reports and reports_by_callback.get(k, (None,))[0] != reports[k]]
    with fk.Consumer({"bootstrap.servers": cluster.bootstrap_servers, "group.id": "wm"}) as consumer:
        # The topic is new: a partition's high watermark is how many messages it received (the
        # mock cluster drops old segments beyond ~45,000 messages, so the low one may have moved).
        on_topic = sum(consumer.get_watermark_offsets(fk.TopicPartition(topic, p), timeout=10)[1] for p in range(4))
    positions = [(r.partition, r.offset) for r in reports.values()]
    return {
        "hung": hung,
        "unexpected": unexpected[:20],
        "produced": len(futures),
        "expected": 8 * n,
        "flush_remaining": remaining,
        "failures": failures[:20],
        "failure_count": len(failures),
        "resolved": len(reports),
        "seconds": elapsed,
        "queue_full": sum(queue_full.values()),
        "per_message_callbacks_missing": sum(1 for k in even_keys if per_message.get(k, 0) == 0),
        "per_message_callbacks_repeated": sum(1 for c in per_message.values() if c > 1),
        "per_message_callbacks_foreign": sum(1 for k in per_message if k not in futures or k not in even_keys),
        "config_callbacks": sum(config_calls.values()),
        "config_callbacks_expected": len(odd_reports),
        "config_callbacks_repeated": sum(1 for c in config_calls.values() if c > 1),
        "config_callbacks_unmatched": len(set(config_calls) - odd_reports),
        "callback_report_mismatch": len(mismatched),
        "duplicate_positions": len(positions) - len(set(positions)),
        "on_topic": on_topic,
    }


# --- scenario: 8 threads producing while another thread closes the producer --------------------


def scenario_produce_while_closing() -> dict[str, Any]:
    cluster = fk.MockCluster(1)
    topic = new_cluster_topic(cluster, 2, 0)
    calls: collections.Counter[int] = collections.Counter()
    lock = threading.Lock()
    futures: list[tuple[int, Any]] = []
    unexpected: list[str] = []
    refused_closed = collections.Counter[str]()
    producer = fk.Producer({"bootstrap.servers": cluster.bootstrap_servers, "linger.ms": 50})
    ids = iter(range(10**9))
    produced = threading.Semaphore(0)

    def on_delivery(ident: int) -> Callable[[object, object], None]:
        def call(error: object, report: object) -> None:
            with lock:
                calls[ident] += 1

        return call

    def worker(index: int) -> None:
        try:
            while True:
                with lock:
                    ident = next(ids)
                try:
                    future = producer.produce(topic, b"x" * 100, key=b"%d" % ident, on_delivery=on_delivery(ident))
                except fk.KafkaError as err:
                    if err.code() == QUEUE_FULL:
                        time.sleep(0.001)
                        continue
                    if producer.closed:
                        with lock:  # `+=` on a Counter is a read and a write: two threads can lose one
                            refused_closed[type(err).__name__] += 1
                        return
                    raise
                except fk.Error as err:
                    with lock:
                        refused_closed[type(err).__name__] += 1
                    return
                with lock:
                    futures.append((ident, future))
                produced.release()
        except BaseException as exc:  # noqa: BLE001 - reported
            unexpected.append(f"worker {index}: {describe(exc)}")

    threads = [threading.Thread(target=worker, args=(i,), name=f"producer-{i}", daemon=True) for i in range(8)]
    for t in threads:
        t.start()
    for _ in range(5000):  # close once the threads are well under way
        produced.acquire(timeout=JOIN)
    started = time.monotonic()
    try:
        producer.close(5)
    except BaseException as exc:  # noqa: BLE001 - reported
        unexpected.append(f"close: {describe(exc)}")
    close_s = time.monotonic() - started
    hung = join_all(threads)
    with lock:
        snapshot = list(futures)
    not_done = [ident for ident, f in snapshot if not f.done()]
    outcomes = collections.Counter[str]()
    for _, f in snapshot:
        if f.done():
            error = f.exception(0)
            outcomes["delivered" if error is None else f"{type(error).__name__}"] += 1
    after_close: str
    try:
        producer.produce(topic, b"late")
        after_close = "accepted"
    except fk.Error as err:
        after_close = type(err).__name__
    return {
        "hung": hung,
        "unexpected": unexpected[:20],
        "close_s": close_s,
        "closed": producer.closed,
        "futures": len(snapshot),
        "not_done_after_close": len(not_done),
        "outcomes": dict(outcomes),
        "callbacks_missing": sum(1 for ident, _ in snapshot if calls[ident] == 0),
        "callbacks_repeated": sum(1 for c in calls.values() if c > 1),
        "refused_closed": dict(refused_closed),
        "produce_after_close": after_close,
    }


# --- scenario: close() from another thread while a call blocks ---------------------------------


def scenario_close_unblocks(kind: str, close_timeout: str) -> dict[str, Any]:
    timeout = None if close_timeout == "none" else float(close_timeout)
    cluster = fk.MockCluster(1)
    client: Any
    future: Any = None
    if kind == "flush":
        # No broker there: the message stays queued (message.timeout.ms: 5 minutes), so flush(None)
        # would wait that long by itself.
        client = fk.Producer({"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 300_000})
        future = client.produce("t", b"never delivered")

        def call() -> object:
            return client.flush(None)
    else:
        topic = new_cluster_topic(cluster, 1, 0)  # empty: the blocking call waits forever
        client = fk.Consumer(
            {
                "bootstrap.servers": cluster.bootstrap_servers,
                "group.id": f"block-{kind}",
                "auto.offset.reset": "earliest",
            }
        )
        if kind.endswith("subscribed"):
            client.subscribe([topic])
        else:
            client.assign([fk.TopicPartition(topic, 0, fk.OFFSET_BEGINNING)])
        consumer = client
        if kind.startswith("poll"):

            def call():
                return consumer.poll(None)
        elif kind.startswith("consume"):

            def call():
                return consumer.consume(10, None)
        else:

            def call() -> object:
                return [m.offset for m in consumer]

    box: dict[str, Any] = {}
    entered = threading.Event()

    def blocked() -> None:
        entered.set()
        try:
            box["returned"] = repr(call())
        except BaseException as exc:  # noqa: BLE001 - reported
            box["raised"] = describe(exc)
            box["raised_fk_error"] = isinstance(exc, fk.Error)
        box["at"] = time.monotonic()

    thread = threading.Thread(target=blocked, name=f"blocked-{kind}", daemon=True)
    thread.start()
    entered.wait(JOIN)
    time.sleep(0.5)  # nothing to poll for: give the call time to block inside native code
    box_before_close = dict(box)
    started = time.monotonic()
    closer: dict[str, Any] = {}

    def close() -> None:
        try:
            client.close() if timeout is None else client.close(timeout)
        except BaseException as exc:  # noqa: BLE001 - reported
            closer["raised"] = describe(exc)
        closer["at"] = time.monotonic()

    close_thread = threading.Thread(target=close, name="closer", daemon=True)
    close_thread.start()
    hung = join_all([thread, close_thread], JOIN)
    result: dict[str, Any] = {
        "hung": hung,
        "returned_before_close": box_before_close,
        "blocked_call": box,
        "closer": closer,
        "closed": client.closed,
    }
    if "at" in box:
        result["call_returned_after_s"] = box["at"] - started
    if "at" in closer:
        result["close_returned_after_s"] = closer["at"] - started
    if future is not None:
        result["future_done"] = future.done()
        if future.done():
            exc = future.exception(0)
            result["future_error"] = None if exc is None else describe(exc)
        try:
            client.produce("t", b"after close")
            result["produce_after_close"] = "accepted"
        except fk.Error as err:
            result["produce_after_close"] = type(err).__name__
    return result


# --- scenario: two threads close one producer; close(timeout) with a slow on_delivery -----------


def scenario_close_concurrently() -> dict[str, Any]:
    """Thread A closes a producer that cannot deliver (close(2): 2 s of flushing, then a purge);
    meanwhile thread B calls close(0). When B's close returns, the producer must be closed."""
    producer = fk.Producer({"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 300_000})
    future = producer.produce("t", b"never delivered")
    first: dict[str, Any] = {}
    entered = threading.Event()

    def close_first() -> None:
        entered.set()
        started = time.monotonic()
        try:
            producer.close(2)
        except BaseException as exc:  # noqa: BLE001 - reported
            first["raised"] = describe(exc)
        first["took_s"] = time.monotonic() - started

    thread = threading.Thread(target=close_first, name="first-closer", daemon=True)
    thread.start()
    entered.wait(JOIN)
    time.sleep(0.3)  # let the first close() get into its flush
    second: dict[str, Any] = {}
    started = time.monotonic()
    try:
        producer.close(0)
    except BaseException as exc:  # noqa: BLE001 - reported
        second["raised"] = describe(exc)
    second["took_s"] = time.monotonic() - started
    second["closed_when_returned"] = producer.closed
    try:
        late = producer.produce("t", b"after close")
        second["produce_after_return"] = "accepted"
        del late
    except fk.Error as err:
        second["produce_after_return"] = type(err).__name__
    hung = join_all([thread])
    return {"hung": hung, "first": first, "second": second, "closed": producer.closed, "future_done": future.done()}


def scenario_close_with_slow_on_delivery() -> dict[str, Any]:
    cluster = fk.MockCluster(1)
    topic = new_cluster_topic(cluster, 1, 0)
    calls: list[float] = []

    def slow(report: object, error: object) -> None:
        calls.append(time.monotonic())
        time.sleep(0.5)

    config: dict[str, Any] = {"bootstrap.servers": cluster.bootstrap_servers, "on_delivery": slow}
    producer = fk.Producer(config)
    futures = [producer.produce(topic, b"%d" % i) for i in range(20)]  # 10 s of callbacks
    started = time.monotonic()
    box: dict[str, Any] = {}

    def close() -> None:
        try:
            producer.close(1)
        except BaseException as exc:  # noqa: BLE001 - reported
            box["raised"] = describe(exc)
        box["took_s"] = time.monotonic() - started

    thread = threading.Thread(target=close, name="closer", daemon=True)
    thread.start()
    hung = join_all([thread], 30)
    return {
        "hung": hung,
        "close": box,
        "closed": producer.closed,
        "callbacks_before_close_returned": sum(1 for t in calls if t <= started + box.get("took_s", 1e9)),
        "futures_done": sum(1 for f in futures if f.done()),
    }


def main() -> None:
    name, *args = sys.argv[1:]
    result = globals()[f"scenario_{name}"](*args)
    print(json.dumps(result, default=repr), flush=True)
    # Threads that hung must not keep the child alive; skip interpreter teardown with them around.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


# --- the tests ---------------------------------------------------------------------------------


def test_release_valid_detach_hammered_from_8_threads_while_owner_iterates_and_another_closes() -> None:
    r = run_scenario("hammer", HAMMER_SECONDS, timeout=120 + 2 * HAMMER_SECONDS)
    report_figures("hammer", r)
    assert not r["hung"], f"threads hung: {r['hung']}\n{r}"
    assert r["unexpected_count"] == 0, r["unexpected"]
    counts = r["counts"]
    assert counts.get("owner_read", 0) >= OWNER_READS, counts
    hammered = sum(v for k, v in counts.items() if not k.startswith("owner"))
    assert hammered > 1000, counts
    assert counts.get("WrongThreadError", 0) > 0, counts
    assert r["closed"]
    assert r["close_s"] < 10, r
    assert r["iteration_end_after_close_s"] < PROMPT, r
    assert r["all_invalid"], "a message lent before close() is still valid after it"
    assert r["views"] > 0 and r["views_intact"], "a memoryview kept across the close changed"
    assert r["live_message_count"] == 0 and r["live_native_messages"] == 0, r


def test_8_threads_produce_at_once_every_future_resolves_and_every_callback_fires_once() -> None:
    per_thread = PRODUCE_PER_THREAD
    r = run_scenario("produce", per_thread, timeout=120 + per_thread / 1000)
    report_figures("produce", r)
    assert not r["hung"] and not r["unexpected"], r
    assert r["produced"] == r["expected"] == 8 * per_thread
    assert r["flush_remaining"] == 0, r
    assert r["failure_count"] == 0 and r["resolved"] == r["produced"], r["failures"]
    assert r["per_message_callbacks_missing"] == 0, r
    assert r["per_message_callbacks_repeated"] == 0, r
    assert r["per_message_callbacks_foreign"] == 0, r
    assert r["config_callbacks"] == r["config_callbacks_expected"] == 4 * per_thread, r
    assert r["config_callbacks_repeated"] == 0 and r["config_callbacks_unmatched"] == 0, r
    assert r["callback_report_mismatch"] == 0, r
    assert r["duplicate_positions"] == 0, r
    assert r["on_topic"] == 8 * per_thread, r


def test_8_threads_produce_while_another_thread_closes_the_producer() -> None:
    r = run_scenario("produce_while_closing")
    assert not r["hung"] and not r["unexpected"], r
    assert r["closed"], r
    assert r["close_s"] < 10, r
    assert r["futures"] >= 5000, r
    # "Every future is resolved when [close] returns": delivered, or failed with a KafkaError.
    assert r["not_done_after_close"] == 0, r
    assert set(r["outcomes"]) <= {"delivered", "KafkaError"}, r
    assert r["callbacks_missing"] == 0 and r["callbacks_repeated"] == 0, r
    assert sum(r["refused_closed"].values()) == 8, r  # each thread stopped on the closed producer
    assert r["produce_after_close"] != "accepted", r


@pytest.mark.parametrize("kind", ["poll", "poll-subscribed", "consume", "iterate", "iterate-subscribed"])
def test_close_from_another_thread_unblocks_a_blocked_consumer_call(kind: str) -> None:
    r = run_scenario("close_unblocks", kind, "none", timeout=60)
    assert not r["returned_before_close"], f"the call did not block: {r}"
    assert not r["hung"], f"still blocked {JOIN}s after close(): {r}"
    assert "raised" not in r["closer"], r
    call = r["blocked_call"]
    assert r["call_returned_after_s"] < PROMPT, r
    assert r["close_returned_after_s"] < PROMPT + 5, r
    if kind.startswith("iterate"):
        assert call.get("returned") == "[]", f"iteration must end quietly on close: {call}"
    elif kind.startswith("poll"):
        assert call.get("returned") == "None" or call.get("raised_fk_error"), call
    else:
        assert call.get("returned") == "[]" or call.get("raised_fk_error"), call
    assert r["closed"]


@pytest.mark.parametrize("close_timeout", ["0", "1"])
def test_close_from_another_thread_unblocks_flush_none_with_no_broker(close_timeout: str) -> None:
    r = run_scenario("close_unblocks", "flush", close_timeout, timeout=60)
    assert not r["returned_before_close"], f"flush(None) did not block: {r}"
    assert not r["hung"], f"flush(None) or close({close_timeout}) still blocked {JOIN}s after close(): {r}"
    assert r["call_returned_after_s"] < PROMPT, r
    assert r["close_returned_after_s"] < PROMPT, r
    call = r["blocked_call"]
    assert call.get("returned") is not None or call.get("raised_fk_error"), call
    assert r["closed"], "closed must be True once close() returned"
    assert r["future_done"] and r["future_error"] and "KafkaError" in r["future_error"], r
    assert r["produce_after_close"] != "accepted", r


def test_second_close_from_another_thread_returns_only_with_the_producer_closed() -> None:
    r = run_scenario("close_concurrently", timeout=60)
    assert not r["hung"], r
    assert "raised" not in r["first"], r
    second = r["second"]
    assert second["closed_when_returned"], f"close() returned while the producer still says closed == False: {r}"
    assert second["produce_after_return"] != "accepted", f"produce() accepted after close() returned: {r}"
    assert second["took_s"] < 2 + PROMPT and r["first"]["took_s"] < 2 + PROMPT, r
    assert r["closed"] and r["future_done"], r


def test_close_timeout_bounds_the_wait_despite_a_slow_on_delivery() -> None:
    r = run_scenario("close_with_slow_on_delivery", timeout=60)
    assert "raised" not in r["close"] or "Error" in r["close"]["raised"], r
    assert not r["hung"], f"close(1) still blocked after 30 s: {r}"
    # close(1): one second of flushing, then what is left is failed; close() then waits for the
    # on_delivery callbacks (0.5 s each, 10 s in all): each report reaches its callback, and no
    # thread of ours outlives close() calling Python.
    assert r["close"]["took_s"] < 1 + 10 + PROMPT, r
    assert r["callbacks_before_close_returned"] == 20, r
    assert r["futures_done"] == 20, r
    assert r["closed"], r


if __name__ == "__main__":
    main()
