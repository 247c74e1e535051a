"""ferrokafka.aio: the asyncio clients, on the mock cluster and the real broker.

Each test runs its own event loop (``asyncio.Runner``; the default loop, and uvloop where it says
so): the lending rules under ``async for``, many clients on one loop, cancellation at every await
point with every message counted, coroutine rebalance callbacks, commits, a consumer group of two,
transactions, no thread per call, batched delivery reports, and closing a loop with clients open.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import random
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

import ferrokafka as fk
from conftest import consumer_config, produce_n
from ferrokafka import aio
from ferrokafka.aio import AIOAdminClient, AIOConsumer, AIOProducer

T = TypeVar("T")
LOOPS = ["asyncio", "uvloop"]


def run(main: Coroutine[Any, Any, T], loop: str = "asyncio") -> T:
    """Runs `main` on a new event loop of the given kind."""
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if loop == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


def on_other_thread(fn: Callable[[], object]) -> BaseException | None:
    """Runs `fn` on a new thread; returns what it raised."""
    raised: list[BaseException] = []

    def target() -> None:
        try:
            fn()
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    return raised[0] if raised else None


def thread_counts() -> tuple[int, int]:
    """(Python threads, OS threads of this process)."""
    return threading.active_count(), len(os.listdir("/proc/self/task"))


def thread_names() -> list[str]:
    """The OS threads of this process by name (for failure messages)."""
    names = []
    for task in os.listdir("/proc/self/task"):
        try:
            names.append(Path(f"/proc/self/task/{task}/comm").read_text().strip())
        except OSError:
            pass
    return sorted(names)


def recording_start(started: list[str]) -> Callable[[threading.Thread], None]:
    """A ``threading.Thread.start`` that records the thread's name, then starts it (a call that
    needed its thread still completes, and the test fails on the record, not on a hang)."""
    original = threading.Thread.start

    def start(thread: threading.Thread) -> None:
        started.append(thread.name)
        original(thread)

    return start


async def until(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def committed_offsets(bootstrap: str, group_id: str, topic: str, partitions: int) -> list[int]:
    with fk.Consumer(consumer_config(bootstrap, group_id)) as check:
        tps = [fk.TopicPartition(topic, p) for p in range(partitions)]
        return [tp.offset for tp in check.committed(tps, timeout=10)]


# --- lending ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("loop", LOOPS)
def test_async_for_lends_each_message_until_the_next(backend, topic_name, group_id, loop):
    backend.create_topic(topic_name, 1)
    produce_n(backend.bootstrap, topic_name, 50)

    async def main() -> None:
        config = consumer_config(backend.bootstrap, group_id, **{"enable.auto.commit": False})
        async with AIOConsumer(config) as consumer:
            await consumer.subscribe([topic_name])
            offsets: list[int] = []
            previous: fk.BorrowedMessage | None = None
            kept: list[fk.OwnedMessage] = []
            async for msg in consumer:
                assert isinstance(msg, fk.BorrowedMessage)
                if previous is not None:
                    assert not previous.valid, "the previous message outlived the next one"
                    with pytest.raises(fk.MessageInvalidatedError):
                        previous.payload
                assert bytes(msg.payload) == b"v%d" % msg.offset and bytes(msg.key) == b"k%d" % msg.offset
                offsets.append(msg.offset)
                if msg.offset == 7:
                    # It belongs to the loop's thread; a detached copy crosses threads.
                    assert isinstance(on_other_thread(lambda m=msg: m.payload), fk.WrongThreadError)
                    kept.append(msg.detach())
                previous = msg
                if len(offsets) == 50:
                    break
            assert offsets == list(range(50))
            copies: list[bytes] = []
            assert on_other_thread(lambda: copies.append(bytes(kept[0].payload))) is None
            assert copies == [b"v7"]
            last = previous
            assert last is not None and last.valid  # the last one stays lent until the consumer closes
        assert not last.valid
        with pytest.raises(fk.MessageInvalidatedError) as invalidated:
            last.payload
        assert invalidated.value.reason == "consumer_closed"

    run(main(), loop)


def test_async_for_supersedes_the_previous_message(mock_cluster, topic_name, group_id):
    produce_n(mock_cluster.bootstrap_servers, topic_name, 2)

    async def main() -> str:
        async with AIOConsumer(consumer_config(mock_cluster.bootstrap_servers, group_id)) as consumer:
            await consumer.subscribe([topic_name])
            first = await anext(consumer)
            await anext(consumer)
            with pytest.raises(fk.MessageInvalidatedError) as invalidated:
                first.payload
            return invalidated.value.reason

    assert run(main()) == "superseded"


def test_poll_and_consume_lend_messages_of_the_loops_thread(backend, topic_name, group_id):
    backend.create_topic(topic_name, 1)
    produce_n(backend.bootstrap, topic_name, 30)

    async def main() -> None:
        async with AIOConsumer(consumer_config(backend.bootstrap, group_id)) as consumer:
            await consumer.subscribe(topic_name)
            first = await consumer.poll(30)
            assert first is not None and first.offset == 0
            batch: list[fk.BorrowedMessage] = []
            while len(batch) < 29:
                batch += await consumer.consume(29 - len(batch), timeout=30)
            assert [m.offset for m in batch] == list(range(1, 30))
            assert first.valid and all(m.valid for m in batch), "poll() and consume() do not supersede"
            assert isinstance(on_other_thread(lambda: batch[3].key), fk.WrongThreadError)
            assert consumer.live_message_count >= 30
            assert await consumer.poll(0.2) is None  # nothing more: a timeout, not an error
            assert await consumer.consume(10, 0) == []
            owned = first.detach()
        assert not first.valid and owned.offset == 0

    run(main())


def test_waiting_consumers_leave_the_loop_free(mock_cluster, topic_name, group_id):
    """Ten consumers wait on an empty topic while a ticker runs every 10 ms: none blocks the loop."""
    mock_cluster.create_topic(topic_name, 1)

    async def main() -> None:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        consumers = [AIOConsumer(consumer_config(mock_cluster.bootstrap_servers, f"{group_id}-{i}")) for i in range(10)]
        for consumer in consumers:
            await consumer.subscribe([topic_name])
        tick = asyncio.create_task(ticker())
        started = time.monotonic()
        results = await asyncio.gather(*(c.poll(1.5) for c in consumers))
        elapsed = time.monotonic() - started
        tick.cancel()
        assert results == [None] * 10
        assert 1.4 < elapsed < 5, elapsed
        assert ticks >= 0.5 * elapsed / 0.01, f"the loop ticked {ticks} times in {elapsed:.2f} s"
        await asyncio.gather(*(c.close() for c in consumers))

    run(main())


# --- many clients, one loop ------------------------------------------------------------------------


@pytest.mark.parametrize("loop", LOOPS)
def test_many_consumers_and_producers_on_one_loop(backend, group_id, loop):
    topics = [f"aio-many-{uuid.uuid4().hex[:8]}-{i}" for i in range(4)]
    for topic in topics:
        backend.create_topic(topic, 2)
    per_topic = 500

    async def main() -> None:
        async def produce(topic: str) -> list[fk.DeliveryReport]:
            async with AIOProducer({"bootstrap.servers": backend.bootstrap, "linger.ms": 5}) as producer:
                futures = [await producer.produce(topic, b"%d" % i, key=b"%d" % i) for i in range(per_topic)]
                return list(await asyncio.gather(*futures))

        async def consume(topic: str, index: int) -> dict[int, list[int]]:
            seen: dict[int, list[int]] = {0: [], 1: []}
            config = consumer_config(backend.bootstrap, f"{group_id}-{index}")
            async with AIOConsumer(config) as consumer:
                await consumer.subscribe([topic])
                deadline = time.monotonic() + 60
                while sum(map(len, seen.values())) < per_topic and time.monotonic() < deadline:
                    if index % 2:
                        for msg in await consumer.consume(100, timeout=1):
                            seen[msg.partition].append(msg.offset)
                    else:
                        async for msg in consumer:
                            seen[msg.partition].append(msg.offset)
                            if sum(map(len, seen.values())) == per_topic:
                                break
            return seen

        results = await asyncio.gather(*(produce(t) for t in topics), *(consume(t, i) for i, t in enumerate(topics)))
        reports, seen = results[: len(topics)], results[len(topics) :]
        for topic_reports, topic_seen in zip(reports, seen):
            assert len(topic_reports) == per_topic
            delivered = {p: sorted(r.offset for r in topic_reports if r.partition == p) for p in (0, 1)}
            for p in (0, 1):
                assert topic_seen[p] == list(range(len(topic_seen[p]))), "out of order or a gap"
                assert topic_seen[p] == delivered[p]

    run(main(), loop)


# --- cancellation --------------------------------------------------------------------------------


def test_cancellation_at_every_await_point_loses_nothing(backend, topic_name, group_id):
    """poll(), consume(), anext() and wait_for() cancelled at random moments while messages arrive
    in bursts (so calls are cancelled while they wait, while a rebalance callback runs, and around
    the moment something arrives): every message is handed out once, in order, and the position and
    the committed offsets are exactly after the last one handed out."""
    backend.create_topic(topic_name, 2)
    total = 3000
    rng = random.Random(20261130)

    async def main() -> None:
        seen: dict[int, list[int]] = {0: [], 1: []}
        assigned = asyncio.Event()

        async def on_assign(consumer: AIOConsumer, partitions: list[fk.TopicPartition]) -> None:
            await asyncio.sleep(0.05)  # calls cancelled meanwhile must not lose the assignment
            assigned.set()

        def record(result: object) -> None:
            messages = result if isinstance(result, list) else [result]
            for msg in messages:
                if msg is not None and not isinstance(msg, fk.TopicPartition):  # commit()'s offsets
                    seen[msg.partition].append(msg.offset)
                    msg.release()

        config = consumer_config(backend.bootstrap, group_id, **{"enable.auto.commit": False})
        async with AIOConsumer(config) as consumer, AIOProducer({"bootstrap.servers": backend.bootstrap}) as producer:
            await consumer.subscribe([topic_name], on_assign=on_assign)
            cancelled_during_assign = 0
            while not assigned.is_set():
                task = asyncio.ensure_future(consumer.poll())
                await asyncio.sleep(0.01)
                task.cancel()
                try:
                    record(await task)
                except asyncio.CancelledError:
                    cancelled_during_assign += 1
            assert cancelled_during_assign > 0

            async def feed() -> None:
                for i in range(total):
                    await producer.produce(topic_name, b"%d" % i, partition=i % 2)
                    if i % 150 == 149:
                        await asyncio.sleep(rng.random() * 0.02)  # bursts: consumers wait in between
                assert await producer.flush(30) == 0

            feeder = asyncio.create_task(feed())
            cancelled = completed = cancelled_waiting = 0
            deadline = time.monotonic() + 90
            while sum(map(len, seen.values())) < total and time.monotonic() < deadline:
                kind = rng.choice(["poll", "consume", "anext", "wait_for", "batch", "commit"])
                call: Coroutine[Any, Any, object]
                if kind == "commit":
                    call = consumer.commit(asynchronous=False)  # cancelled too: nothing of it may move what is lent
                elif kind == "poll":
                    call = consumer.poll()
                elif kind == "consume":
                    call = consumer.consume(rng.randint(1, 64))
                elif kind == "anext":
                    call = anext(consumer)
                elif kind == "batch":
                    call = consumer.consume(rng.randint(1, 64), timeout=rng.choice([0, 0.001, 0.01]))
                else:
                    call = asyncio.wait_for(consumer.poll(), timeout=rng.choice([0.0005, 0.002]))
                task = asyncio.ensure_future(call)
                await asyncio.sleep(rng.choice([0, 0, 0.0002, 0.001, 0.003]))
                waiting = consumer._fd_waiting > 0
                task.cancel()
                try:
                    record(await task)
                    completed += 1
                except (asyncio.CancelledError, TimeoutError):
                    cancelled += 1
                    cancelled_waiting += waiting
            await feeder
            assert cancelled > 30 and completed > 30 and cancelled_waiting > 10, (
                cancelled,
                completed,
                cancelled_waiting,
            )
            for p in (0, 1):
                assert seen[p] == list(range(total // 2)), f"partition {p}: lost, repeated or reordered"
            # Nothing moved for what was cancelled: the position is right after the last handed out.
            positions = {tp.partition: tp.offset for tp in await consumer.position()}
            assert positions == {0: total // 2, 1: total // 2}
            await consumer.commit(asynchronous=False)
            committed = await consumer.committed([fk.TopicPartition(topic_name, p) for p in (0, 1)], timeout=10)
            assert [tp.offset for tp in committed] == [total // 2, total // 2]

    run(main())


def test_cancelled_flush_leaves_deliveries_in_flight(mock_cluster, topic_name):
    mock_cluster.create_topic(topic_name, 1)

    async def main() -> None:
        config = {"bootstrap.servers": mock_cluster.bootstrap_servers, "linger.ms": 500}
        async with AIOProducer(config) as producer:
            futures = [await producer.produce(topic_name, b"%d" % i) for i in range(100)]
            flush = asyncio.create_task(producer.flush())
            await asyncio.sleep(0.05)
            flush.cancel()
            with pytest.raises(asyncio.CancelledError):
                await flush
            assert len(producer) == 100, "cancelling flush() failed or purged the messages"
            reports = await asyncio.gather(*futures)
            assert sorted(r.offset for r in reports) == list(range(100))
            assert len(producer) == 0 and await producer.flush(0) == 0

    run(main())


def test_cancelled_close_still_closes(mock_cluster, topic_name, group_id):
    mock_cluster.create_topic(topic_name, 1)
    produce_n(mock_cluster.bootstrap_servers, topic_name, 5)

    async def main() -> None:
        consumer = AIOConsumer(consumer_config(mock_cluster.bootstrap_servers, group_id))
        producer = AIOProducer({"bootstrap.servers": mock_cluster.bootstrap_servers, "linger.ms": 200})
        await consumer.subscribe([topic_name])
        msg = await consumer.poll(30)
        assert msg is not None
        future = await producer.produce(topic_name, b"late")
        for client in (consumer, producer):
            closing = asyncio.create_task(client.close())
            await asyncio.sleep(0)
            closing.cancel()
            with pytest.raises(asyncio.CancelledError):
                await closing
            await client.close()  # idempotent: waits for the close already under way
            assert client.closed
        assert not msg.valid
        assert future.done() and future.result().offset == 5
        with pytest.raises(fk.Error):
            await consumer.poll(0)

    run(main())


def test_close_wakes_a_waiting_iteration(mock_cluster, topic_name, group_id):
    mock_cluster.create_topic(topic_name, 1)

    async def main() -> None:
        consumer = AIOConsumer(consumer_config(mock_cluster.bootstrap_servers, group_id))
        await consumer.subscribe([topic_name])

        async def iterate() -> int:
            n = 0
            async for _ in consumer:
                n += 1
            return n

        iteration = asyncio.create_task(iterate())
        await asyncio.sleep(0.3)
        started = time.monotonic()
        await consumer.close()
        assert await asyncio.wait_for(iteration, 5) == 0  # the iteration ended
        assert time.monotonic() - started < 15

    run(main())


# --- rebalances and commits ------------------------------------------------------------------------


@pytest.mark.parametrize("loop", LOOPS)
def test_coroutine_rebalance_callbacks_and_a_commit_in_on_revoke(backend, topic_name, group_id, loop):
    backend.create_topic(topic_name, 2)
    produce_n(backend.bootstrap, topic_name, 20)
    events: list[tuple[str, list[int]]] = []
    config = consumer_config(backend.bootstrap, group_id, **{"enable.auto.commit": False})

    async def main() -> None:
        consumer = AIOConsumer(config)

        async def on_assign(c: AIOConsumer, partitions: list[fk.TopicPartition]) -> None:
            assert c is consumer
            assert not await c.assignment(), "on_assign runs before the partitions are assigned"
            await asyncio.sleep(0.01)
            events.append(("assign", sorted(p.partition for p in partitions)))

        async def on_revoke(c: AIOConsumer, partitions: list[fk.TopicPartition]) -> None:
            events.append(("revoke", sorted(p.partition for p in partitions)))
            assert await c.assignment(), "on_revoke runs before the partitions go"
            await c.commit(asynchronous=False)  # what was handed out, before the partitions go
            events.append(("committed", []))

        await consumer.subscribe([topic_name], on_assign=on_assign, on_revoke=on_revoke)
        got = 0
        while got < 20:
            got += len(await consumer.consume(10, timeout=10))
        await consumer.close()

    run(main(), loop)
    assert events == [("assign", [0, 1]), ("revoke", [0, 1]), ("committed", [])]
    assert sum(committed_offsets(backend.bootstrap, group_id, topic_name, 2)) == 20


def test_nothing_is_lent_while_a_coroutine_on_assign_runs(backend, topic_name, group_id):
    """A coroutine on_assign that assigns the partitions itself, waits, then seeks: messages are
    fetched meanwhile, yet neither the
    task whose iteration started the rebalance nor one that starts iterating while on_assign runs
    gets one before on_assign returns (no fast lane while a rebalance is served), so the first
    messages lent are those after the seek."""
    backend.create_topic(topic_name, 1)
    produce_n(backend.bootstrap, topic_name, 10)

    async def main() -> list[int]:
        async with AIOConsumer(consumer_config(backend.bootstrap, group_id)) as consumer:
            assigning = asyncio.Event()

            async def on_assign(c: AIOConsumer, partitions: list[fk.TopicPartition]) -> None:
                assigning.set()
                await c.assign(partitions)  # in place of the default assignment, applied after on_assign
                await asyncio.sleep(0.5)  # the assigned partition is fetched meanwhile
                await c.seek(fk.TopicPartition(topic_name, 0, 5))

            await consumer.subscribe([topic_name], on_assign=on_assign)

            async def first_offset(after_assign_began: bool) -> int:
                if after_assign_began:
                    await assigning.wait()
                    await asyncio.sleep(0.25)
                async for msg in consumer:
                    return msg.offset
                raise AssertionError("the iteration ended")

            return sorted(await asyncio.wait_for(asyncio.gather(first_offset(False), first_offset(True)), 30))

    assert run(main()) == [5, 6]


def test_plain_function_callbacks_and_an_exception_from_on_assign(backend, topic_name, group_id):
    produce_n(backend.bootstrap, topic_name, 1)
    calls: list[str] = []

    def on_assign(consumer: AIOConsumer, partitions: list[fk.TopicPartition]) -> None:
        calls.append("assign")
        raise RuntimeError("boom in on_assign")

    async def main() -> None:
        async with AIOConsumer(consumer_config(backend.bootstrap, group_id)) as consumer:
            await consumer.subscribe([topic_name], on_assign=on_assign, on_revoke=lambda c, p: calls.append("revoke"))
            with pytest.raises(RuntimeError, match="boom in on_assign"):
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    await consumer.poll(0.5)
            # The partitions are assigned by default after on_assign, even if it raised: the next
            # call goes on.
            msg = await consumer.poll(20)
            assert msg is not None and msg.offset == 0

    run(main())
    assert calls == ["assign", "revoke"]


def test_commit_needs_no_thread_and_on_commit_hears_of_it(backend, topic_name, group_id, monkeypatch):
    """A commit awaited while another task waits in poll(): the result reaches the commit through
    its own queue (no thread; the poll keeps waiting), and the user's coroutine on_commit runs
    when the waiting poll serves the consumer."""
    backend.create_topic(topic_name, 1)
    produce_n(backend.bootstrap, topic_name, 5)
    user_results: list[tuple[object, list[tuple[int, int]]]] = []

    async def on_commit(error: fk.KafkaError | None, partitions: list[fk.TopicPartition]) -> None:
        await asyncio.sleep(0)
        user_results.append((error, [(tp.partition, tp.offset) for tp in partitions]))

    async def main() -> None:
        config = consumer_config(backend.bootstrap, group_id, **{"enable.auto.commit": False, "on_commit": on_commit})
        async with AIOConsumer(config) as consumer:
            await consumer.assign([fk.TopicPartition(topic_name, 0, 0)])
            messages: list[fk.BorrowedMessage] = []
            while len(messages) < 5:
                messages += await consumer.consume(5, timeout=10)
            waiting = asyncio.create_task(consumer.poll(30))  # nothing more arrives: it waits
            await until(lambda: consumer._fd_waiting > 0, what="poll() to wait")

            async def no_thread(*args: object) -> None:
                raise AssertionError("the commit ran on a thread")

            with monkeypatch.context() as patch:
                patch.setattr(aio._consumer, "_in_thread", no_thread)
                await consumer.commit(messages[-1], asynchronous=False)
            assert not waiting.done()
            await until(lambda: bool(user_results), 10, "the user's on_commit")
            waiting.cancel()
            committed = await consumer.committed([fk.TopicPartition(topic_name, 0)], timeout=10)
            assert committed[0].offset == 5

    run(main())
    assert user_results[0] == (None, [(0, 5)])


def test_commit_without_a_polling_task_and_its_errors(backend, topic_name, group_id, monkeypatch):
    """The usual loop that commits what it read: nothing else polls the consumer, and the commit
    still needs no thread (no threading.Thread is started while it waits)."""
    backend.create_topic(topic_name, 1)
    produce_n(backend.bootstrap, topic_name, 10)

    async def main() -> None:
        config = consumer_config(backend.bootstrap, group_id, **{"enable.auto.commit": False})
        async with AIOConsumer(config) as consumer:
            await consumer.subscribe([topic_name])
            n = 0
            async for msg in consumer:
                n += 1
                if n == 4:
                    started: list[str] = []
                    with monkeypatch.context() as patch:
                        patch.setattr(threading.Thread, "start", recording_start(started))
                        await consumer.commit(msg, asynchronous=False)  # offset + 1
                    assert started == []
                    assert (await consumer.committed(timeout=10))[0].offset == 4
                if n == 10:
                    break
            await consumer.commit(asynchronous=False)  # position: after the last handed out
            assert (await consumer.committed(timeout=10))[0].offset == 10
            await consumer.commit(offsets=[fk.TopicPartition(topic_name, 0, 7)], asynchronous=False)
            assert (await consumer.committed(timeout=10))[0].offset == 7
            await consumer.commit(asynchronous=True)  # returns at once; the result goes to on_commit
            with pytest.raises(TypeError):
                await consumer.commit("not a message", asynchronous=False)  # type: ignore[arg-type]
            # A commit the broker refuses raises its error (a partition that does not exist).
            with pytest.raises(fk.KafkaError):
                await consumer.commit(offsets=[fk.TopicPartition(topic_name, 99, 1)], asynchronous=False)

    run(main())


def test_offset_queries_need_no_thread_and_agree_with_the_sync_consumer(backend, topic_name, group_id, monkeypatch):
    """committed(), get_watermark_offsets() and offsets_for_times() are requests whose answers wake
    the loop (no thread is started), and answer what the synchronous consumer answers."""
    backend.create_topic(topic_name, 2)
    with fk.Producer({"bootstrap.servers": backend.bootstrap}) as producer:
        for i in range(30):
            producer.produce(topic_name, b"%d" % i, partition=i % 2)
        assert producer.flush(30) == 0
    tps = [fk.TopicPartition(topic_name, 0), fk.TopicPartition(topic_name, 1)]
    config = consumer_config(backend.bootstrap, group_id, **{"enable.auto.commit": False})
    with fk.Consumer(config) as sync:
        sync.commit(offsets=[fk.TopicPartition(topic_name, 0, 7)], asynchronous=False)
        expected_committed = sync.committed(tps, timeout=10)
        expected_marks = [sync.get_watermark_offsets(tp, timeout=10) for tp in tps]
        at_times = [fk.TopicPartition(topic_name, 0, 0), fk.TopicPartition(topic_name, 1, 2**62)]
        expected_times = sync.offsets_for_times(at_times, timeout=10)
    assert [tp.offset for tp in expected_committed] == [7, fk.OFFSET_INVALID]
    assert expected_marks == [(0, 15), (0, 15)]

    async def main() -> None:
        started: list[str] = []
        async with AIOConsumer(config) as consumer:
            with monkeypatch.context() as patch:
                patch.setattr(threading.Thread, "start", recording_start(started))
                committed = await consumer.committed(tps, timeout=10)
                marks = [await consumer.get_watermark_offsets(tp, timeout=10) for tp in tps]
                times = await consumer.offsets_for_times(at_times, timeout=10)
            assert started == []
            assert [(tp.partition, tp.offset) for tp in committed] == [
                (tp.partition, tp.offset) for tp in expected_committed
            ]
            assert marks == expected_marks
            assert sorted((tp.partition, tp.offset) for tp in times) == sorted(
                (tp.partition, tp.offset) for tp in expected_times
            )
            with pytest.raises(ValueError):
                await consumer.offsets_for_times([fk.TopicPartition(topic_name, 0, -5)])
            with pytest.raises(fk.KafkaError):  # a partition that does not exist
                await consumer.get_watermark_offsets(fk.TopicPartition(topic_name, 99), timeout=10)

    run(main())


def test_offset_queries_time_out_while_the_broker_is_down(kafka_cluster, topic_name, group_id):
    """A fault of its own: the pytest plugin's fresh cluster (ferrokafka.testing), not the
    module's shared one."""
    kafka_cluster.create_topic(topic_name, 1)

    async def main() -> None:
        async with AIOConsumer(consumer_config(kafka_cluster.bootstrap_servers, group_id)) as consumer:
            tp = fk.TopicPartition(topic_name, 0)
            assert await consumer.get_watermark_offsets(tp, timeout=10) == (0, 0)
            kafka_cluster.broker_down(1)
            began = time.monotonic()
            with pytest.raises(fk.KafkaError) as timed_out:
                await consumer.get_watermark_offsets(tp, timeout=0.5)
            assert timed_out.value.name() == "_TIMED_OUT"
            assert time.monotonic() - began < 3
            kafka_cluster.broker_up(1)

    run(main())


# --- a consumer group of two (real broker) -------------------------------------------------------


def produce_spread(bootstrap: str, topic: str, n: int, tag: bytes, partitions: int) -> None:
    """n messages `tag + i`, message i to partition i % partitions."""
    with fk.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5}) as producer:
        for i in range(n):
            producer.produce(topic, tag + b"%d" % i, partition=i % partitions)
        assert producer.flush(30) == 0


@pytest.mark.parametrize("strategy", ["range", "cooperative-sticky"])
def test_two_async_consumers_split_a_topic(backend, topic_name, group_id, strategy):
    """Two AIOConsumers of one group on one loop: the topic is split between them, each reads what
    is produced to its own partitions afterwards, and together they read everything."""
    kafka_bootstrap = backend.bootstrap
    backend.create_topic(topic_name, 4)
    produce_spread(kafka_bootstrap, topic_name, 400, b"one-", 4)
    config = consumer_config(
        kafka_bootstrap, group_id, **{"enable.auto.commit": False, "partition.assignment.strategy": strategy}
    )

    async def main() -> None:
        seen: dict[str, list[tuple[int, int, bytes]]] = {"a": [], "b": []}
        assignment: dict[str, set[int]] = {"a": set(), "b": set()}
        stop = asyncio.Event()

        async def member(name: str) -> None:
            async def on_assign(c: AIOConsumer, partitions: list[fk.TopicPartition]) -> None:
                assert not {tp.partition for tp in await c.assignment()} & {tp.partition for tp in partitions}
                assignment[name] |= {tp.partition for tp in partitions}  # eager: after on_revoke emptied it

            async def on_revoke(c: AIOConsumer, partitions: list[fk.TopicPartition]) -> None:
                try:
                    await c.commit(asynchronous=False)  # what this member read stays read
                except fk.KafkaError as error:  # the mock refuses commits while the group rebalances
                    assert error.code() == fk.KafkaError.REBALANCE_IN_PROGRESS, error
                gone = {tp.partition for tp in partitions}
                assignment[name] = {p for p in assignment[name] if p not in gone}

            async with AIOConsumer(config) as consumer:
                await consumer.subscribe([topic_name], on_assign=on_assign, on_revoke=on_revoke)
                while not stop.is_set():
                    for msg in await consumer.consume(100, timeout=0.2):
                        seen[name].append((msg.partition, msg.offset, bytes(msg.payload)))

        def everything() -> set[tuple[int, int]]:
            return {(p, o) for p, o, _ in seen["a"] + seen["b"]}

        a = asyncio.create_task(member("a"))
        await until(lambda: len(assignment["a"]) == 4, 60, "the first member's assignment")
        b = asyncio.create_task(member("b"))
        await until(lambda: len(assignment["a"]) == 2 and len(assignment["b"]) == 2, 60, "the group to split the topic")
        assert assignment["a"].isdisjoint(assignment["b"])
        await until(lambda: len(everything()) >= 400, 60, "the first 400 messages")
        produce_spread(kafka_bootstrap, topic_name, 400, b"two-", 4)
        await until(lambda: len(everything()) >= 800, 60, "every message")
        final = {name: set(partitions) for name, partitions in assignment.items()}
        stop.set()
        await asyncio.gather(a, b)
        assert everything() == {(p, o) for p in range(4) for o in range(200)}
        for name in ("a", "b"):
            later = {p for p, _, value in seen[name] if value.startswith(b"two-")}
            assert later == final[name], (name, later, final)

    run(main())


# --- producer ------------------------------------------------------------------------------------


def test_delivery_reports_reach_the_loop_in_batches(mock_cluster, topic_name, monkeypatch):
    """One wake-up of the loop for many reports (through the eventfd or call_soon_threadsafe);
    on_delivery and the futures on the loop's thread."""
    mock_cluster.create_topic(topic_name, 1)
    wakeups = 0
    woken = aio._producer._Deliveries.woken

    def counting_woken(self: Any) -> None:
        nonlocal wakeups
        wakeups += 1
        woken(self)

    monkeypatch.setattr(aio._producer._Deliveries, "woken", counting_woken)

    async def main() -> None:
        nonlocal wakeups
        loop = asyncio.get_running_loop()
        original = loop.call_soon_threadsafe

        def counting(*args: Any, **kwargs: Any) -> Any:
            nonlocal wakeups
            wakeups += 1
            return original(*args, **kwargs)

        loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
        threads: set[int] = set()
        reports: list[fk.DeliveryReport | None] = []

        def on_delivery(error: fk.KafkaError | None, report: fk.DeliveryReport | None) -> None:
            threads.add(threading.get_ident())
            reports.append(report)

        config = {"bootstrap.servers": mock_cluster.bootstrap_servers, "linger.ms": 20, "on_delivery": on_delivery}
        producer = AIOProducer(config)
        futures = [await producer.produce(topic_name, b"%d" % i) for i in range(10_000)]
        delivered = await asyncio.gather(*futures)
        batch_wakeups = wakeups
        await producer.close()
        assert sorted(r.offset for r in delivered) == list(range(10_000))
        assert len(reports) == 10_000 and threads == {threading.get_ident()}
        assert 0 < batch_wakeups < 10_000 / 20, f"{batch_wakeups} wake-ups of the loop for 10,000 reports"

    run(main())


def test_refused_and_cancelled_messages_resolve_on_the_loop(mock_cluster, topic_name):
    """A message librdkafka refuses at once fails its future (and on_delivery) on the loop, like a
    later failure; a cancelled future's message is still delivered, and resolving it later does not
    trouble the loop."""
    mock_cluster.create_topic(topic_name, 1)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        troubles: list[dict[str, Any]] = []
        loop.set_exception_handler(lambda _, context: troubles.append(context))
        outcomes: list[tuple[fk.DeliveryReport | None, fk.KafkaError | None, int]] = []

        def on_delivery(error: fk.KafkaError | None, report: fk.DeliveryReport | None) -> None:
            outcomes.append((report, error, threading.get_ident()))

        config = {"bootstrap.servers": mock_cluster.bootstrap_servers, "message.max.bytes": 1000, "linger.ms": 50}
        async with AIOProducer(config) as producer:
            too_large = await producer.produce(topic_name, b"x" * 5000, on_delivery=on_delivery)
            with pytest.raises(fk.KafkaError) as refused:
                await too_large
            assert refused.value.name() == "MSG_SIZE_TOO_LARGE"
            cancelled = await producer.produce(topic_name, b"cancelled", on_delivery=on_delivery)
            cancelled.cancel()
            kept = await producer.produce(topic_name, b"kept")
            assert (await kept).offset == 1  # the cancelled one went first, at offset 0
            assert await producer.flush(10) == 0
        assert cancelled.cancelled()
        assert [(r is None, e is not None and e.name()) for r, e, _ in outcomes] == [
            (True, "MSG_SIZE_TOO_LARGE"),
            (False, False),
        ]
        assert {thread for _, _, thread in outcomes} == {threading.get_ident()}
        assert troubles == []

    run(main())


def test_producers_leave_no_descriptor_behind(mock_cluster, topic_name):
    """Each AIOProducer's eventfd (and the native duplicate, once its messages are resolved) is
    closed by close(), also with messages that were in flight until then."""
    mock_cluster.create_topic(topic_name, 1)

    async def main() -> None:
        for _ in range(3):  # warm-up: librdkafka's own descriptors of the first clients
            async with AIOProducer({"bootstrap.servers": mock_cluster.bootstrap_servers}) as producer:
                await (await producer.produce(topic_name, b"x"))
        before = len(os.listdir("/proc/self/fd"))
        for _ in range(30):
            async with AIOProducer({"bootstrap.servers": mock_cluster.bootstrap_servers}) as producer:
                await producer.produce(topic_name, b"in flight at close")
        gc.collect()
        await until(lambda: len(os.listdir("/proc/self/fd")) <= before + 2, 10, "descriptors closed")

    run(main())


def test_produce_waits_while_the_queue_is_full(mock_cluster, topic_name):
    mock_cluster.create_topic(topic_name, 1)

    async def main() -> None:
        config = {"bootstrap.servers": mock_cluster.bootstrap_servers, "queue.buffering.max.messages": 10}
        async with AIOProducer(config) as producer:
            futures = [await producer.produce(topic_name, b"%d" % i) for i in range(500)]
            assert len({(await f).offset for f in futures}) == 500

    run(main())


def test_produce_batch_and_poll(mock_cluster, topic_name):
    mock_cluster.create_topic(topic_name, 1)

    async def main() -> None:
        per_message: list[int] = []

        async def on_delivery(error: fk.KafkaError | None, report: fk.DeliveryReport | None) -> None:
            assert report is not None and error is None
            per_message.append(report.offset)

        async with AIOProducer({"bootstrap.servers": mock_cluster.bootstrap_servers}) as producer:
            future = await producer.produce_batch(topic_name, [b"a", (b"k", b"b")], on_delivery=on_delivery)
            results = await future
            assert len(results) == 2 and not results.errors
            last = await producer.produce(topic_name, b"c")
            served = 0
            deadline = time.monotonic() + 10
            while not last.done() and time.monotonic() < deadline:
                served += await producer.poll(1)  # waits for reports that reach the loop
            assert last.done() and served >= 1
            assert await producer.flush(10) == 0
            await until(lambda: len(per_message) == 2, 10, "on_delivery coroutines")

    run(main())


def test_failed_deliveries_and_error_cb_on_the_loop():
    errors: list[tuple[fk.KafkaError, int]] = []

    async def main() -> None:
        loop_thread = threading.get_ident()

        def error_cb(error: fk.KafkaError) -> None:
            errors.append((error, threading.get_ident() - loop_thread))

        config = {"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 1000, "error_cb": error_cb}
        async with AIOProducer(config) as producer:
            future = await producer.produce("nowhere", b"x")
            with pytest.raises(fk.KafkaError) as failed:
                await future
            assert failed.value.name() == "_MSG_TIMED_OUT"

    run(main())
    assert errors and all(same_thread == 0 for _, same_thread in errors)


# --- callbacks of the consumer -----------------------------------------------------------------


def test_stats_cb_coroutine_and_logger_of_a_consumer(mock_cluster, topic_name, group_id):
    stats: list[dict[str, Any]] = []
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger(f"ferrokafka.test-aio-{uuid.uuid4().hex[:6]}")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(Collect())

    async def main() -> None:
        async def stats_cb(data: str) -> None:
            await asyncio.sleep(0)
            stats.append(json.loads(data))

        config = consumer_config(
            mock_cluster.bootstrap_servers,
            group_id,
            **{"statistics.interval.ms": 100, "stats_cb": stats_cb, "debug": "consumer", "logger": logger},
        )
        async with AIOConsumer(config) as consumer:
            await consumer.subscribe([topic_name])
            deadline = time.monotonic() + 10
            while not stats and time.monotonic() < deadline:
                await consumer.poll(0.2)

    run(main())
    assert stats and stats[0]["type"] == "consumer"
    assert records


# --- threads -------------------------------------------------------------------------------------


async def settled_thread_counts() -> tuple[int, int]:
    """Thread counts once they stopped changing for half a second (clients of earlier tests are
    destroyed on background threads, which end on their own)."""
    counts, since = thread_counts(), time.monotonic()
    deadline = since + 15
    while time.monotonic() - since < 0.5 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        now = thread_counts()
        if now != counts:
            counts, since = now, time.monotonic()
    return counts


def test_no_thread_per_call(mock_cluster, topic_name, group_id, monkeypatch):
    """100,000 awaits of produce(), delivery futures, async for and poll(): no thread is started
    meanwhile (no threading.Thread.start; counted by threading and in /proc/self/task, sampled
    every 1,000 awaits)."""
    mock_cluster.create_topic(topic_name, 2)
    started: list[str] = []
    original_start = threading.Thread.start

    def counting_start(self: threading.Thread) -> None:
        started.append(self.name)
        original_start(self)

    n = 30_000

    async def main() -> None:
        config = consumer_config(mock_cluster.bootstrap_servers, group_id, **{"enable.auto.commit": False})
        async with (
            AIOProducer({"bootstrap.servers": mock_cluster.bootstrap_servers}) as producer,
            AIOConsumer(config) as consumer,
        ):
            await consumer.subscribe([topic_name])
            await (await producer.produce(topic_name, b"warm-up"))
            assert await consumer.poll(30) is not None
            # Clients of earlier tests, collected now, would be destroyed on threads of their own.
            gc.collect()
            gc.disable()
            before = await settled_thread_counts()
            names_before = thread_names()
            monkeypatch.setattr(threading.Thread, "start", counting_start)
            extra_names: list[list[str]] = []

            def sample() -> None:
                counts = thread_counts()
                samples.append(counts)
                if counts[1] > before[1]:
                    extra_names.append(thread_names())

            samples: list[tuple[int, int]] = []
            awaits = 0
            futures = []
            for i in range(n):
                futures.append(await producer.produce(topic_name, b"x"))
                awaits += 1
                if i % 1000 == 0:
                    sample()
            for future in futures:
                await future
                awaits += 1
            got = 0
            async for _ in consumer:
                got += 1
                awaits += 1
                if got % 1000 == 0:
                    sample()
                if got == n:
                    break
            for i in range(100_000 - awaits):
                await consumer.poll(0)
                if i % 1000 == 0:
                    sample()
            after = thread_counts()
            names_after = thread_names()
            monkeypatch.undo()
            gc.enable()
        assert started == [], f"threads started during the run: {started[:5]}"
        assert after[0] <= before[0] and after[1] <= before[1], (before, after, names_before, names_after)
        assert max(s[0] for s in samples) <= before[0], "a Python thread was started during the run"
        assert max(s[1] for s in samples) <= before[1], (before, max(samples), names_before, extra_names)

    try:
        run(main())
    finally:
        gc.enable()


# --- closing the loop with clients open ------------------------------------------------------------


@pytest.mark.parametrize("loop", LOOPS)
def test_closing_the_loop_with_clients_open_warns_and_does_not_hang(loop):
    if loop == "uvloop":
        pytest.importorskip("uvloop")
    script = textwrap.dedent(
        """
        import asyncio, gc, sys
        import ferrokafka as fk
        from ferrokafka.aio import AIOAdminClient, AIOConsumer, AIOProducer

        cluster = fk.MockCluster()
        cluster.create_topic("t", 1)

        async def main():
            bootstrap = cluster.bootstrap_servers
            producer = AIOProducer({"bootstrap.servers": bootstrap, "linger.ms": 1000})
            await (await producer.produce("t", b"x", partition=0))
            await producer.produce("t", b"in flight", partition=0)
            consumer = AIOConsumer({"bootstrap.servers": bootstrap, "group.id": "g", "auto.offset.reset": "earliest"})
            await consumer.subscribe(["t"])
            assert await consumer.poll(30) is not None
            asyncio.get_running_loop().create_task(consumer.poll())  # left waiting
            AIOAdminClient({"bootstrap.servers": bootstrap})
            await asyncio.sleep(0.2)

        if sys.argv[1] == "uvloop":
            import uvloop
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(main())
        else:
            asyncio.run(main())
        gc.collect()
        print("loop closed", flush=True)
        """
    )
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "always::ResourceWarning", "-c", script, loop],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parent,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "loop closed" in result.stdout
    assert "AIOConsumer was not closed" in result.stderr, result.stderr[-3000:]
    assert "AIOProducer was not closed" in result.stderr, result.stderr[-3000:]
    assert time.monotonic() - started < 30


# --- transactions and admin (real broker) ----------------------------------------------------------


@pytest.mark.broker
def test_transactions_commit_abort_and_consume_transform_produce(kafka_bootstrap, topic_name, group_id):
    source, sink = topic_name, topic_name + "-out"
    produce_n(kafka_bootstrap, source, 10)

    async def read_committed(topic: str, expect: int) -> list[bytes]:
        config = consumer_config(
            kafka_bootstrap, f"read-{uuid.uuid4().hex[:8]}", **{"isolation.level": "read_committed"}
        )
        values: list[bytes] = []
        async with AIOConsumer(config) as consumer:
            await consumer.subscribe([topic])
            deadline = time.monotonic() + 30
            quiet = time.monotonic()
            while time.monotonic() < deadline:
                batch = await consumer.consume(500, timeout=0.3)
                values += [bytes(m.payload) for m in batch]
                if batch:
                    quiet = time.monotonic()
                elif len(values) >= expect and time.monotonic() - quiet > 2:
                    break
        return values

    async def main() -> None:
        tx = {"bootstrap.servers": kafka_bootstrap, "transactional.id": f"tx-{uuid.uuid4().hex[:8]}"}
        async with AIOProducer(tx) as producer:
            await producer.init_transactions(30)
            await producer.begin_transaction()
            committed = [await producer.produce(sink, b"committed-%d" % i) for i in range(3)]
            await producer.commit_transaction()
            assert all(f.done() and not f.exception() for f in committed)
            await producer.begin_transaction()
            aborted = [await producer.produce(sink, b"aborted-%d" % i) for i in range(3)]
            assert await producer.flush(30) == 0
            await producer.abort_transaction()
            assert all(f.done() for f in aborted)
            # consume-transform-produce: the offsets commit with the transaction
            config = consumer_config(kafka_bootstrap, group_id, **{"enable.auto.commit": False})
            async with AIOConsumer(config) as consumer:
                await consumer.subscribe([source])
                await producer.begin_transaction()
                got = 0
                while got < 10:
                    for msg in await consumer.consume(10, timeout=10):
                        await producer.produce(sink, b"out-" + bytes(msg.payload))
                        got += 1
                positions = await consumer.position()
                await producer.send_offsets_to_transaction(positions, await consumer.consumer_group_metadata())
                await producer.commit_transaction()
        values = await read_committed(sink, 13)
        assert sorted(values) == sorted([b"committed-%d" % i for i in range(3)] + [b"out-v%d" % i for i in range(10)])

    run(main())
    assert committed_offsets(kafka_bootstrap, group_id, source, 1) == [10]


def test_transactional_calls_run_on_the_loop_without_threads(mock_cluster, topic_name, monkeypatch):
    """init/begin/abort are stepped on the loop (librdkafka's resumable calls): no thread is
    started, the loop keeps running meanwhile, and a call past its timeout raises the retriable
    _TIMED_OUT of the synchronous API. commit_transaction runs on one thread of its own (stepping
    it can make librdkafka take the commit's answer for an abort's: CI saw "Operation not valid in
    state AbortedNotAcked"); many commits in a row stay sound."""
    mock_cluster.create_topic(topic_name, 1)
    started: list[str] = []
    original_start = threading.Thread.start

    def counting_start(self: threading.Thread) -> None:
        started.append(self.name)
        original_start(self)

    async def main() -> None:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.001)
                ticks += 1

        ticking = asyncio.get_running_loop().create_task(ticker())
        config = {"bootstrap.servers": mock_cluster.bootstrap_servers, "transactional.id": f"tx-{uuid.uuid4().hex}"}
        async with AIOProducer(config) as producer:
            monkeypatch.setattr(threading.Thread, "start", counting_start)
            await producer.init_transactions(30)
            await producer.begin_transaction()
            aborted = await producer.produce(topic_name, b"aborted")
            await producer.abort_transaction(30)
            assert aborted.done()
            monkeypatch.undo()
            assert started == [], f"threads started by init/begin/abort: {started}"
            monkeypatch.setattr(threading.Thread, "start", counting_start)
            for i in range(20):  # commits back to back, each right after its messages
                await producer.begin_transaction()
                delivered = [await producer.produce(topic_name, b"committed-%d" % i) for _ in range(5)]
                await producer.commit_transaction(30)
                assert all(report.offset >= 0 for report in [await d for d in delivered])
            monkeypatch.undo()
            assert started == ["ferrokafka-aio-commit_transaction"] * 20, started
        assert ticks > 0, "the loop did not run while the transactional calls waited"

        # No broker: init_transactions cannot finish; past its timeout it raises, promptly.
        unreachable = {"bootstrap.servers": "127.0.0.1:1", "transactional.id": "tx-nowhere"}
        async with AIOProducer(unreachable) as producer:
            ticks_before, began = ticks, time.monotonic()
            with pytest.raises(fk.KafkaError) as timed_out:
                await producer.init_transactions(0.5)
            waited = time.monotonic() - began
            assert timed_out.value.name() == "_TIMED_OUT" and timed_out.value.retriable()
            assert 0.45 < waited < 3, waited
            assert ticks - ticks_before > 20, "the loop was held while init_transactions waited"
            await producer.purge()
        ticking.cancel()

    run(main())


@pytest.mark.parametrize("error", [16, 14, 15], ids=["NOT_COORDINATOR", "LOAD_IN_PROGRESS", "NOT_AVAILABLE"])
def test_init_transactions_outlasts_a_coordinator_that_is_not_ready(mock_cluster, error, monkeypatch):
    """A freshly started broker answers InitProducerId with NOT_COORDINATOR or
    COORDINATOR_LOAD_IN_PROGRESS for a while and librdkafka retries; a step that runs out of time
    meanwhile reports that retriable error in place of its timeout. The stepped call must go on, as
    the synchronous call does (CI caught it failing against the real broker). Long steps with short
    pauses make sure the failures land inside a step."""
    monkeypatch.setattr(aio._producer, "_TXN_STEP_MS", 100)
    monkeypatch.setattr(aio._producer, "_TXN_MAX_PAUSE", 0.001)
    mock_cluster.inject_request_errors(22, [error] * 4)  # 22: InitProducerId
    config = {"bootstrap.servers": mock_cluster.bootstrap_servers, "transactional.id": f"tx-{uuid.uuid4().hex}"}

    async def main() -> None:
        async with AIOProducer(config) as producer:
            await producer.init_transactions(30)
            await producer.begin_transaction()
            await producer.abort_transaction(30)

    run(main())

    # Past the timeout the caller still hears of it, retriable, as from the synchronous call.
    mock_cluster.inject_request_errors(22, [error] * 1000)

    async def gives_up() -> None:
        async with AIOProducer({**config, "transactional.id": f"tx-{uuid.uuid4().hex}"}) as producer:
            with pytest.raises(fk.KafkaError) as failed:
                await producer.init_transactions(1)
            assert failed.value.retriable()
            await producer.purge()

    run(gives_up())
    mock_cluster.clear_request_errors(22)


@pytest.mark.broker
def test_admin_client(kafka_bootstrap, topic_name):
    async def main() -> None:
        async with AIOAdminClient({"bootstrap.servers": kafka_bootstrap}) as admin:
            await admin.create_topics([fk.NewTopic(topic_name, 2, 1)])
            deadline = time.monotonic() + 30
            while True:
                try:
                    offsets = await admin.list_offsets([fk.TopicPartition(topic_name, p) for p in (0, 1)])
                    break
                except fk.KafkaError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.2)
            assert [(tp.partition, tp.offset) for tp in offsets] == [(0, 0), (1, 0)]
            assert "cleanup.policy" in await admin.describe_configs("topic", topic_name)
            await admin.delete_topics([topic_name])
        assert admin.closed

    run(main())


def test_clients_need_a_running_loop_and_take_the_config_checks():
    with pytest.raises(RuntimeError):
        AIOConsumer({"group.id": "g"})
    with pytest.raises(RuntimeError):
        AIOProducer({})

    async def main() -> None:
        with pytest.raises(fk.ConfigError, match="on_delivery"):
            AIOConsumer({"group.id": "g", "on_delivery": print})
        with pytest.raises(fk.ConfigError, match="must be callable"):
            AIOProducer({"error_cb": 3})
        with pytest.raises(ValueError):
            async with AIOConsumer({"group.id": "g"}) as consumer:
                await consumer.poll(-1)

    run(main())
