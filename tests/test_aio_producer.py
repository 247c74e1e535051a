"""ferrokafka.aio's AIOProducer: delivery reports reach the loop in batches, refused and cancelled
messages resolve on the loop, close() leaves no descriptor behind, produce() waits while the queue
is full, produce_batch() and poll(), and failed deliveries and error_cb on the loop's thread.
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
from typing import Any

import pytest

import ferrokafka as fk
from aio_helpers import run, until
from ferrokafka import aio
from ferrokafka.aio import AIOProducer


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
