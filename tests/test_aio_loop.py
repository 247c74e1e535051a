"""ferrokafka.aio's clients on one event loop: consumers waiting leave the loop free, many consumers
and producers share one loop, 100,000 awaits start no thread, and a client needs a running loop.
On the default event loop and uvloop.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import uuid

import pytest

import ferrokafka as fk
from aio_helpers import LOOPS, run, thread_counts, thread_names
from conftest import consumer_config
from ferrokafka.aio import AIOConsumer, AIOProducer


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
