"""Producer close() and delivery under slow callbacks, concurrent closers and reference cycles."""

from __future__ import annotations

import gc
import os
import threading
import time
import weakref

import pytest

import ferrokafka as fk

UNREACHABLE = {"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 600_000}


def test_close_timeout_bounds_the_deliveries_then_waits_for_slow_on_delivery(mock_cluster, topic_name):
    """close(1) bounds the wait for deliveries; the on_delivery callbacks (0.2 s each, 4 s in all)
    then run to their end before it returns: no thread of ours outlives close() calling Python."""
    calls: list[int] = []

    def slow(report: object, error: object) -> None:
        time.sleep(0.2)
        calls.append(1)

    before = _our_threads()
    producer = fk.Producer({"bootstrap.servers": mock_cluster.bootstrap_servers, "on_delivery": slow})
    for _ in range(20):
        producer.produce(topic_name, b"x")
    # This producer's threads: by id, so a thread of an earlier client ending meanwhile counts not.
    # A Rust thread names itself once it runs, so wait (briefly) for the names to appear.
    deadline = time.monotonic() + 5
    while not (its_threads := _our_threads() - before) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert its_threads
    started = time.monotonic()
    producer.close(1)
    took = time.monotonic() - started
    assert len(calls) == 20, "every on_delivery ran before close() returned"
    assert 3.5 < took < 1 + 4 + 3, took
    assert producer.closed
    assert not its_threads & _our_threads(), "the producer's threads ended before close() returned"


def _our_threads() -> set[str]:
    """The ids of ferrokafka's own native threads in this process (poller, resolver), by their names."""
    ours = set()
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/comm") as f:
                if f.read().startswith("ferrokafka"):
                    ours.add(task)
        except OSError:
            pass  # the thread ended meanwhile
    return ours


def test_a_second_close_waits_for_the_first_and_produce_is_refused_meanwhile(topic_name):
    producer = fk.Producer(UNREACHABLE)
    future = producer.produce(topic_name, b"x")
    first_done = threading.Event()

    def first() -> None:
        producer.close(1.5)
        first_done.set()

    closer = threading.Thread(target=first)
    closer.start()
    # closed as soon as close() started (it then waits 1.5 s for the undeliverable message): wait
    # for the thread to get there, rather than guess how long that takes.
    deadline = time.monotonic() + 10
    while True:
        returned = first_done.is_set()  # read before `closed`: closed while it was still running
        if producer.closed or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert producer.closed and not returned, "closed as soon as close() started"
    with pytest.raises(fk.Error):
        producer.produce(topic_name, b"y")
    producer.close(10)  # waits until the first close has resolved everything
    assert future.done() and isinstance(future.exception(0), fk.KafkaError)
    closer.join(10)
    assert first_done.is_set()


def test_slow_stats_cb_does_not_hold_back_delivery_results(mock_cluster, topic_name):
    def slow_stats(stats: str) -> None:
        time.sleep(0.3)

    config = {
        "bootstrap.servers": mock_cluster.bootstrap_servers,
        "statistics.interval.ms": 10,
        "stats_cb": slow_stats,
        "linger.ms": 0,
    }
    with fk.Producer(config) as producer:
        time.sleep(0.5)  # let statistics pile up
        latencies = []
        for _ in range(5):
            started = time.monotonic()
            producer.produce(topic_name, b"x").result(10)
            latencies.append(time.monotonic() - started)
    # A delivery waits at most for one running stats_cb call, not for the whole backlog.
    assert max(latencies) < 1.5, latencies


def test_a_watched_pending_future_in_a_cycle_is_collected(topic_name):
    producer = fk.Producer(UNREACHABLE)
    future = producer.produce(topic_name, b"x")
    with pytest.raises(TimeoutError):
        future.result(0.01)  # now watched: future -> its state -> the future
    ref = weakref.ref(future)
    del future
    gc.collect()
    assert ref() is None, "the garbage collector sees the delivery state's reference to its future"
    producer.close(0)


def test_many_topic_names_use_temporary_handles_past_the_cache(topic_name):
    """The topic-handle cache is bounded (1,024); names past it get a handle per produce call,
    which every queued message keeps alive on its own."""
    producer = fk.Producer(UNREACHABLE)
    futures = [producer.produce(f"{topic_name}-{i}", b"x") for i in range(1_100)]
    producer.close(0)
    assert all(isinstance(f.exception(5), fk.KafkaError) for f in futures)


def test_error_cb_hears_each_error_once_with_librdkafka_s_reason(topic_name):
    """rdkafka's producer loop hands every error event to the context twice: error_cb gets it once,
    and the KafkaError says why (which broker, what failed), not only "Local: Broker transport
    failure"."""
    seen: list[tuple[float, str]] = []
    config = {
        "bootstrap.servers": "127.0.0.1:1",
        "error_cb": lambda err: seen.append((time.monotonic(), str(err))),
        "reconnect.backoff.ms": 500,
        "reconnect.backoff.max.ms": 500,
    }
    producer = fk.Producer(config)
    producer.produce(topic_name, b"x")
    deadline = time.monotonic() + 10
    while len(seen) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    producer.close(0)
    assert len(seen) >= 2, seen
    for (t1, first), (t2, second) in zip(seen, seen[1:], strict=False):
        assert not (first == second and t2 - t1 < 0.05), f"reported twice: {first}"
    assert any("127.0.0.1:1" in message or "brokers are down" in message for _, message in seen), seen


def test_a_timed_out_delivery_says_why(topic_name):
    """_MSG_TIMED_OUT alone does not tell a wrong port from a wrong password: the future's error
    carries the last client error librdkafka reported."""
    producer = fk.Producer({"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 1500})
    future = producer.produce(topic_name, b"x")
    error = future.exception(15)
    producer.close(0)
    assert isinstance(error, fk.KafkaError) and error.name() == "_MSG_TIMED_OUT", error
    assert "last client error" in str(error) and ("127.0.0.1:1" in str(error) or "brokers are down" in str(error)), (
        error
    )
