"""AIOConsumer's commits and offset queries: they wait on the loop without a thread, whether or not
another task polls, on_commit hears of them, errors raise, and committed(), get_watermark_offsets()
and offsets_for_times() answer what the synchronous consumer answers (and time out while the broker
is down).
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import ferrokafka as fk
from aio_helpers import recording_start, run, until
from conftest import consumer_config, produce_n
from ferrokafka import aio
from ferrokafka.aio import AIOConsumer


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
