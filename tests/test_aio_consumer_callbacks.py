"""AIOConsumer's callbacks: coroutine and plain rebalance callbacks (a commit in on_revoke, nothing lent
while a coroutine on_assign runs, an exception from on_assign), two consumers of one group on one
loop splitting a topic, and a coroutine stats_cb and a logger.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any

import pytest

import ferrokafka as fk
from aio_helpers import LOOPS, committed_offsets, run, until
from conftest import consumer_config, produce_n
from ferrokafka.aio import AIOConsumer


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
