"""AIOProducer's transactions: commit, abort and consume-transform-produce on the real broker; the
transactional calls step on the loop without threads (commit_transaction on one of its own), and
init_transactions outlasts a coordinator that is not ready yet.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import pytest

import ferrokafka as fk
from aio_helpers import committed_offsets, run
from conftest import consumer_config, produce_n
from ferrokafka import aio
from ferrokafka.aio import AIOConsumer, AIOProducer


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
