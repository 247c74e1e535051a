"""Cancelling ferrokafka.aio's calls loses nothing: poll(), consume(), anext() and commit() cancelled at
every await point hand out every message once, in order, and move no offset; a cancelled flush()
leaves its messages to be delivered.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Coroutine
from typing import Any

import pytest

import ferrokafka as fk
from aio_helpers import run
from conftest import consumer_config
from ferrokafka.aio import AIOConsumer, AIOProducer


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
