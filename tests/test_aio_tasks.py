"""Tasks sharing one AIOConsumer (docs/asyncio.md, "Tasks sharing a consumer").

Worker tasks pulling from one consumer is a common asyncio pattern. What a call hands out belongs
to the task that made the call: a task's message stays valid until that task asks for its next
one, and no offset stored or committed without arguments passes a message some task still holds;
what a task held when it failed or was cancelled is never committed. These tests run workers that
await between receiving a message and reading it, with every way of taking messages, and check
that every message is read, and that a restart of the group delivers every message no task read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import ferrokafka as fk
from aio_helpers import committed_offsets, run
from conftest import consumer_config, produce_n
from ferrokafka.aio import AIOConsumer, AsyncDeserializingConsumer

WAYS = ["async_for", "anext_wait_for", "poll", "poll_wait_for", "consume", "consume_batch"]


def taker(consumer: AIOConsumer, way: str) -> Callable[[], Awaitable[Any]]:
    """One call of `way` (None: nothing came within a second)."""
    if way == "async_for":
        return consumer.__anext__
    if way == "anext_wait_for":
        return lambda: asyncio.wait_for(consumer.__anext__(), 1.0)
    if way == "poll":
        return lambda: consumer.poll(1.0)
    if way == "poll_wait_for":
        return lambda: asyncio.wait_for(consumer.poll(), 1.0)
    if way == "consume":
        return lambda: consumer.consume(7, 1.0)
    return lambda: consumer.consume_batch(7, 1.0)


def rows(got: Any) -> list[tuple[int, int, bytes]]:
    """(partition, offset, payload) of what a call returned, read now."""
    if got is None:
        return []
    if isinstance(got, fk.MessageBatch):
        return [(m.partition, m.offset, bytes(m.payload)) for m in got]  # OwnedMessages
    messages = got if isinstance(got, list) else [got]
    return [(m.partition, m.offset, bytes(m.payload)) for m in messages]


async def read_with_workers(
    consumer: AIOConsumer, way: str, workers: int, enough: int, read: list[tuple[int, int, bytes]]
) -> list[BaseException]:
    """Runs `workers` tasks taking messages `way`, each awaiting between receiving and reading what
    it got, until `enough` are read; then cancels them (some in the middle of a message). Returns
    what the workers raised. (Python 3.11's wait_for can swallow a cancellation that meets the
    inner call's result: such a worker reads that message and stops at the flag.)"""
    take = taker(consumer, way)
    stop = False

    async def worker() -> None:
        while not stop:
            try:
                got = await take()
            except TimeoutError:
                continue
            await asyncio.sleep(0)  # the other workers take their next messages meanwhile
            await asyncio.sleep(0)
            read.extend(rows(got))

    async def iterating_worker() -> None:
        async for msg in consumer:
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            read.extend(rows(msg))
            if stop:
                break

    tasks = [asyncio.create_task(iterating_worker() if way == "async_for" else worker()) for _ in range(workers)]
    deadline = time.monotonic() + 60
    while len(read) < enough and time.monotonic() < deadline and not any(t.done() for t in tasks):
        await asyncio.sleep(0.001)
    stop = True
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    return [r for r in results if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError)]


@pytest.mark.parametrize("commit", ["commit", "auto"])
@pytest.mark.parametrize("way", WAYS)
def test_workers_sharing_a_consumer_lose_nothing(backend, topic_name, group_id, way, commit):
    """Three workers share a consumer, each awaiting between receiving a message and reading it,
    until half the topic is read; they are cancelled (some holding a message they did not read),
    the application commits (or auto-commit does) and closes. Every message a worker received was
    readable, none was handed out twice, and a new consumer of the group gets every message the
    workers did not read."""
    total = 2000
    backend.create_topic(topic_name, 2)
    produce_n(backend.bootstrap, topic_name, total)
    expected = {(p, o) for p, o in committed_layout(backend.bootstrap, topic_name, 2)}
    assert len(expected) == total
    auto = commit == "auto"
    config = consumer_config(backend.bootstrap, group_id, **{"enable.auto.commit": auto, "auto.commit.interval.ms": 50})

    async def first() -> tuple[list[tuple[int, int, bytes]], list[BaseException]]:
        read: list[tuple[int, int, bytes]] = []
        consumer = AIOConsumer(config)
        await consumer.subscribe([topic_name])
        errors = await read_with_workers(consumer, way, 3, total // 2, read)
        if not auto:
            await consumer.commit(asynchronous=False)
        else:
            await asyncio.sleep(0.3)  # auto-commits happen meanwhile
        await consumer.close()
        return read, errors

    read, errors = run(first())
    assert errors == [], f"a worker failed reading what it was handed: {errors[:3]}"
    positions = [(p, o) for p, o, _ in read]
    assert len(positions) == len(set(positions)), "a message was handed out twice"
    assert len(read) >= total // 2

    committed = committed_offsets(backend.bootstrap, group_id, topic_name, 2)
    unread = expected - set(positions)
    for p in (0, 1):
        first_unread = min((o for q, o in unread if q == p), default=None)
        if first_unread is not None:
            assert committed[p] <= first_unread, f"partition {p}: committed {committed[p]} past unread {first_unread}"

    async def restart() -> set[tuple[int, int]]:
        again: set[tuple[int, int]] = set()
        async with AIOConsumer(consumer_config(backend.bootstrap, group_id, **{"enable.auto.commit": False})) as c:
            await c.subscribe([topic_name])
            deadline = time.monotonic() + 60
            while not unread <= again and time.monotonic() < deadline:
                for msg in await c.consume(500, 1.0):
                    again.add((msg.partition, msg.offset))
        return again

    again = run(restart())
    missing = unread - again
    assert not missing, f"{len(missing)} messages no worker read were never delivered again: {sorted(missing)[:5]}"


def committed_layout(bootstrap: str, topic: str, partitions: int) -> list[tuple[int, int]]:
    """Every (partition, offset) of the topic, from its watermarks."""
    layout = []
    with fk.Consumer(consumer_config(bootstrap, "layout")) as c:
        for p in range(partitions):
            low, high = c.get_watermark_offsets(fk.TopicPartition(topic, p), timeout=10)
            layout += [(p, o) for o in range(low, high)]
    return layout


def test_a_tasks_message_stays_valid_while_others_iterate(mock_cluster, topic_name, group_id):
    """A holds its message while B iterates past it: A's stays valid and B's commit stops before it;
    once A asks for its next one, A's previous message is superseded and the commit moves on, up to
    the message A holds now; once A returns, it is done with that one too."""
    mock_cluster.create_topic(topic_name, 1)
    produce_n(mock_cluster.bootstrap_servers, topic_name, 20)

    async def main() -> None:
        config = consumer_config(mock_cluster.bootstrap_servers, group_id, **{"enable.auto.commit": False})
        async with AIOConsumer(config) as consumer:
            await consumer.subscribe([topic_name])
            tp = fk.TopicPartition(topic_name, 0)

            async def committed() -> int:
                return (await consumer.committed([tp], timeout=10))[0].offset

            a_got, a_go, a_got_next, a_end = asyncio.Event(), asyncio.Event(), asyncio.Event(), asyncio.Event()
            held: list[fk.BorrowedMessage] = []

            async def a() -> None:
                held.append(await anext(consumer))
                a_got.set()
                await a_go.wait()
                assert held[0].valid and bytes(held[0].payload) == b"v0", "A's message outlived B's iteration"
                held.append(await anext(consumer))
                a_got_next.set()
                await a_end.wait()

            task_a = asyncio.create_task(a())
            await a_got.wait()
            b_read = []
            for _ in range(5):
                msg = await anext(consumer)  # this task (B) iterates on
                b_read.append(msg.offset)
            assert b_read == [1, 2, 3, 4, 5]
            assert held[0].valid, "B's iteration superseded A's message"
            await consumer.commit(asynchronous=False)
            assert await committed() == 0, "commit passed A's message"
            a_go.set()
            await a_got_next.wait()
            assert held[1].offset == 6 and not held[0].valid
            with pytest.raises(fk.MessageInvalidatedError) as invalidated:
                held[0].payload
            assert invalidated.value.reason == "superseded"
            await consumer.commit(asynchronous=False)  # A holds offset 6
            assert await committed() == 6
            msg = await anext(consumer)  # B moves on from 5
            assert msg.offset == 7 and held[1].valid
            await consumer.commit(asynchronous=False)
            assert await committed() == 6
            a_end.set()
            await task_a  # A returned: done with offset 6; B committing is done with 7
            await consumer.commit(asynchronous=False)
            assert await committed() == 8

    run(main())


def test_a_task_that_fails_holding_a_message_never_commits_it(mock_cluster, topic_name, group_id):
    """A task that returns is done with what it got; one that raises or is cancelled is not: no
    commit passes its message, also after other tasks read on."""
    mock_cluster.create_topic(topic_name, 1)
    produce_n(mock_cluster.bootstrap_servers, topic_name, 10)

    async def main() -> None:
        config = consumer_config(mock_cluster.bootstrap_servers, group_id, **{"enable.auto.commit": False})
        async with AIOConsumer(config) as consumer:
            await consumer.subscribe([topic_name])
            tp = fk.TopicPartition(topic_name, 0)

            async def returns() -> int:
                msg = await consumer.poll(10)
                assert msg is not None
                return msg.offset

            async def fails() -> None:
                msg = await consumer.poll(10)
                assert msg is not None
                raise RuntimeError(f"processing offset {msg.offset} failed")

            assert await asyncio.create_task(returns()) == 0
            with pytest.raises(RuntimeError, match="offset 1 failed"):
                await asyncio.create_task(fails())
            for offset in range(2, 6):
                msg = await consumer.poll(10)
                assert msg is not None and msg.offset == offset
            await consumer.commit(asynchronous=False)
            assert [c.offset for c in await consumer.committed([tp], timeout=10)] == [1]

    run(main())


def test_deserializing_consumer_shared_by_tasks_commits_only_what_was_read(mock_cluster, topic_name, group_id):
    """The same rule for AsyncDeserializingConsumer: a task holding a message keeps the commit of
    the other tasks below it."""
    mock_cluster.create_topic(topic_name, 1)
    produce_n(mock_cluster.bootstrap_servers, topic_name, 10)

    async def main() -> None:
        config = consumer_config(
            mock_cluster.bootstrap_servers, group_id, **{"enable.auto.commit": False, "value.deserializer": bytes}
        )
        async with AsyncDeserializingConsumer(config) as consumer:
            await consumer.subscribe([topic_name])
            tp = fk.TopicPartition(topic_name, 0)
            a_got, a_go = asyncio.Event(), asyncio.Event()

            async def a() -> None:
                msg = await consumer.poll(10)
                assert msg is not None and msg.offset == 0
                a_got.set()
                await a_go.wait()
                await consumer.poll(0)  # moves on

            task_a = asyncio.create_task(a())
            await a_got.wait()
            for offset in range(1, 4):
                msg = await anext(consumer)
                assert msg.offset == offset
            await consumer.commit(asynchronous=False)
            assert [c.offset for c in await consumer.committed([tp], timeout=10)] == [0]
            a_go.set()
            await task_a
            await consumer.commit(asynchronous=False)
            committed = (await consumer.committed([tp], timeout=10))[0].offset
            assert committed >= 4, committed

    run(main())


def test_wait_for_around_anext_on_one_task_keeps_each_message_until_the_next(mock_cluster, topic_name, group_id):
    """``asyncio.wait_for(consumer.__anext__(), t)`` (an inner task on Python 3.11): the message
    belongs to the task calling wait_for, valid until it asks again; the position and commit follow
    exactly what it was handed, also when timeouts fire while nothing comes."""
    mock_cluster.create_topic(topic_name, 1)
    produce_n(mock_cluster.bootstrap_servers, topic_name, 300)

    async def main() -> None:
        config = consumer_config(mock_cluster.bootstrap_servers, group_id, **{"enable.auto.commit": False})
        async with AIOConsumer(config) as consumer:
            await consumer.subscribe([topic_name])
            offsets = []
            previous: fk.BorrowedMessage | None = None
            while len(offsets) < 300:
                msg = await asyncio.wait_for(consumer.__anext__(), 10)
                await asyncio.sleep(0)
                assert msg.valid and previous is not msg
                if previous is not None:
                    assert not previous.valid  # superseded by this task's next one
                offsets.append(msg.offset)
                previous = msg
            assert offsets == list(range(300))
            for _ in range(3):
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(consumer.__anext__(), 0.05)
            tp = fk.TopicPartition(topic_name, 0)
            assert [p.offset for p in await consumer.position([tp])] == [300]
            await consumer.commit(asynchronous=False)
            assert [c.offset for c in await consumer.committed([tp], timeout=10)] == [300]

    run(main())


def test_commit_from_a_task_of_its_own_counts_what_the_caller_was_handed(mock_cluster, topic_name, group_id):
    """``asyncio.wait_for(consumer.commit(), t)`` runs the commit in an inner task on 3.11: it
    still commits what the task calling wait_for was handed."""
    mock_cluster.create_topic(topic_name, 1)
    produce_n(mock_cluster.bootstrap_servers, topic_name, 5)

    async def main() -> None:
        config = consumer_config(mock_cluster.bootstrap_servers, group_id, **{"enable.auto.commit": False})
        async with AIOConsumer(config) as consumer:
            await consumer.subscribe([topic_name])
            for _ in range(5):
                assert await consumer.poll(10) is not None
            await asyncio.wait_for(consumer.commit(asynchronous=False), 10)
            tp = fk.TopicPartition(topic_name, 0)
            assert [c.offset for c in await consumer.committed([tp], timeout=10)] == [5]

    run(main())


@pytest.mark.parametrize("deserializing", [False, True], ids=["AIOConsumer", "AsyncDeserializingConsumer"])
def test_a_task_holding_a_message_that_ends_after_close_reports_nothing(
    mock_cluster, topic_name, group_id, deserializing
):
    """A worker still holding a message when another task closes the consumer, and returning after:
    its end (done with the message) finds the consumer closed, quietly."""
    mock_cluster.create_topic(topic_name, 1)
    produce_n(mock_cluster.bootstrap_servers, topic_name, 5)
    config: dict[str, object] = consumer_config(mock_cluster.bootstrap_servers, group_id)
    if deserializing:
        config["value.deserializer"] = lambda value, ctx: value

    async def main() -> list[dict[str, Any]]:
        reported: list[dict[str, Any]] = []
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: reported.append(context))
        consumer = AsyncDeserializingConsumer(config) if deserializing else AIOConsumer(config)
        await consumer.subscribe([topic_name])
        got, closed = asyncio.Event(), asyncio.Event()

        async def worker() -> None:
            assert await consumer.poll(30) is not None
            got.set()
            await closed.wait()

        task = asyncio.create_task(worker())
        await got.wait()
        await consumer.close()
        closed.set()
        await task
        await asyncio.sleep(0.05)  # the task's done callbacks run
        return reported

    assert run(main()) == []
