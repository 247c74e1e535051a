"""Closing the asyncio clients whatever state they are in: a rebalance callback that never ends
cannot hold ``AIOConsumer.close()`` past its bound, a client whose event loop ended refuses
every call before sending anything, while ``close()`` still closes it, a cancelled close() still
closes, close() ends an iteration that waits, and an event loop closed with clients open warns and
does not hang (on the mock cluster and the real broker; a close that could hang runs in a
subprocess).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import ferrokafka as fk
from aio_helpers import LOOPS, run
from conftest import consumer_config, produce_n
from ferrokafka.aio import (
    AIOAdminClient,
    AIOConsumer,
    AIOProducer,
    AsyncDeserializingConsumer,
    AsyncSerializingProducer,
)

# --- a rebalance callback that does not end ----------------------------------------------------------

CLOSE_WITH_A_STUCK_CALLBACK = textwrap.dedent(
    """
    import asyncio, sys, time
    import ferrokafka as fk
    from ferrokafka.aio import AIOConsumer

    bootstrap, topic, group, which, stuck, timeout = sys.argv[1:7]
    timeout = None if timeout == "none" else float(timeout)

    async def sleeps(consumer, partitions):
        await asyncio.sleep(3600)

    closed = False

    async def ignores_cancellation(consumer, partitions):
        # Until close() returned (else asyncio.run, which cancels and awaits every task, would
        # wait for it forever).
        while not closed:
            try:
                await asyncio.sleep(0.1)
            except asyncio.CancelledError:
                pass

    callback = {"sleeps": sleeps, "ignores_cancellation": ignores_cancellation}[stuck]

    async def main():
        global closed
        config = {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False}
        consumer = AIOConsumer(config)
        await consumer.subscribe([topic], **{which: callback})
        if which == "on_revoke":
            assert await consumer.poll(60) is not None
        else:  # the poll waits for on_assign, which never ends
            try:
                await asyncio.wait_for(consumer.poll(), 3)
            except TimeoutError:
                pass
        started = time.monotonic()
        await consumer.close(timeout)
        closed = True
        print(f"closed after {time.monotonic() - started:.1f} s, closed={consumer.closed}", flush=True)

    asyncio.run(main())
    print("loop ended", flush=True)
    """
)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("which", "stuck"), [("on_revoke", "sleeps"), ("on_revoke", "ignores_cancellation"), ("on_assign", "sleeps")]
)
@pytest.mark.parametrize("timeout", [None, 2.0])
def test_close_is_bounded_when_a_rebalance_callback_never_ends(backend, topic_name, group_id, which, stuck, timeout):
    """``on_revoke`` awaiting forever (or even ignoring its cancellation) when close() leaves the
    group, or ``on_assign`` still awaiting when close() starts: close() goes on after 10 s
    (`timeout` when shorter), reports the cut-short callback to the loop's exception handler, and
    closes."""
    backend.create_topic(topic_name, 1)
    produce_n(backend.bootstrap, topic_name, 3)
    args = [backend.bootstrap, topic_name, group_id, which, stuck, "none" if timeout is None else str(timeout)]
    started = time.monotonic()
    try:
        result = subprocess.run(
            [sys.executable, "-c", CLOSE_WITH_A_STUCK_CALLBACK, *args],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=Path(__file__).parent,
        )
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"close() hung: {expired.stdout!r} {expired.stderr!r}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "closed=True" in result.stdout and "loop ended" in result.stdout, result.stdout
    took = float(result.stdout.split("closed after ")[1].split(" s")[0])
    bound = 10.0 if timeout is None else timeout
    assert took < bound + 3, f"close() took {took} s (bound {bound} s)"
    assert "a rebalance callback was still running" in result.stderr, result.stderr[-3000:]
    assert time.monotonic() - started < 50


def test_close_waits_for_a_callback_that_ends_in_time(mock_cluster, topic_name, group_id):
    """The bound cuts nothing short that ends within it: a slow ``on_revoke`` that commits runs to
    its end."""
    mock_cluster.create_topic(topic_name, 1)
    produce_n(mock_cluster.bootstrap_servers, topic_name, 3)
    done: list[str] = []

    async def main() -> None:
        consumer = AIOConsumer(
            consumer_config(mock_cluster.bootstrap_servers, group_id, **{"enable.auto.commit": False})
        )

        async def on_revoke(c: AIOConsumer, partitions: list[fk.TopicPartition]) -> None:
            await asyncio.sleep(0.5)
            await c.commit()
            done.append("committed")

        await consumer.subscribe([topic_name], on_revoke=on_revoke)
        assert await consumer.poll(30) is not None
        await consumer.close(5)

    run(main())
    assert done == ["committed"]
    with fk.Consumer(consumer_config(mock_cluster.bootstrap_servers, group_id)) as check:
        assert check.committed([fk.TopicPartition(topic_name, 0)], timeout=10)[0].offset == 1


# --- a client whose loop ended -----------------------------------------------------------------------


def count_messages(bootstrap: str, topic: str) -> int:
    with fk.Consumer(consumer_config(bootstrap, "count")) as c:
        low, high = c.get_watermark_offsets(fk.TopicPartition(topic, 0), timeout=10)
        return high - low


def ended_loop_error(error: pytest.ExceptionInfo[BaseException], loop: asyncio.AbstractEventLoop) -> None:
    """The refusal names the loop the client belongs to, and says it is closed."""
    assert repr(loop) in str(error.value), str(error.value)
    assert "closed" in str(error.value)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("serializing", [False, True], ids=["AIOProducer", "AsyncSerializingProducer"])
def test_a_producer_whose_loop_ended_sends_nothing_and_still_closes(backend, topic_name, serializing):
    backend.create_topic(topic_name, 1)
    config: dict[str, object] = {"bootstrap.servers": backend.bootstrap, "linger.ms": 5}
    if serializing:
        config["value.serializer"] = lambda value, ctx: value.encode()
    made: list[Any] = []

    async def first() -> asyncio.AbstractEventLoop:
        producer = AsyncSerializingProducer(config) if serializing else AIOProducer(config)
        made.append(producer)
        await (await producer.produce(topic_name, "one" if serializing else b"one", partition=0))
        return asyncio.get_running_loop()

    loop = run(first())
    producer = made[0]

    async def second() -> None:
        with pytest.raises(fk.Error) as refused:
            await producer.produce(topic_name, "two" if serializing else b"two", partition=0)
        ended_loop_error(refused, loop)
        with pytest.raises(fk.Error):
            await producer.flush(1)
        await producer.close(5)
        assert producer.closed
        await producer.close(5)  # idempotent

    run(second())
    assert count_messages(backend.bootstrap, topic_name) == 1, "the refused message was sent"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("deserializing", [False, True], ids=["AIOConsumer", "AsyncDeserializingConsumer"])
def test_a_consumer_whose_loop_ended_takes_nothing_and_still_closes(backend, topic_name, group_id, deserializing):
    """Every call that would take messages or commit is refused (naming the loop), so nothing is
    taken or committed past what the ended loop's tasks read; close() leaves the group and closes."""
    backend.create_topic(topic_name, 1)
    produce_n(backend.bootstrap, topic_name, 5)
    config: dict[str, object] = consumer_config(backend.bootstrap, group_id, **{"enable.auto.commit": False})
    if deserializing:
        config["value.deserializer"] = lambda value, ctx: value
    made: list[Any] = []

    async def first() -> asyncio.AbstractEventLoop:
        consumer = AsyncDeserializingConsumer(config) if deserializing else AIOConsumer(config)
        made.append(consumer)
        await consumer.subscribe([topic_name])
        msg = await consumer.poll(30)
        assert msg is not None and msg.offset == 0
        await consumer.commit()
        return asyncio.get_running_loop()

    loop = run(first())
    consumer = made[0]

    async def second() -> None:
        calls = (lambda: consumer.poll(0), lambda: consumer.consume(5, 0), lambda: anext(consumer), consumer.commit)
        for call in calls:
            with pytest.raises(fk.Error) as refused:
                await call()
            ended_loop_error(refused, loop)
        await consumer.close(10)
        assert consumer.closed
        await consumer.close(10)  # idempotent

    run(second())
    with fk.Consumer(consumer_config(backend.bootstrap, group_id)) as check:
        assert check.committed([fk.TopicPartition(topic_name, 0)], timeout=10)[0].offset == 1


@pytest.mark.timeout(60)
def test_an_admin_client_whose_loop_ended_sends_nothing_and_still_closes(backend, topic_name):
    backend.create_topic(topic_name, 1)
    made: list[AIOAdminClient] = []
    bootstrap = backend.bootstrap

    async def first() -> asyncio.AbstractEventLoop:
        made.append(AIOAdminClient({"bootstrap.servers": bootstrap}))
        return asyncio.get_running_loop()

    loop = run(first())
    admin = made[0]

    async def second() -> None:
        with pytest.raises(fk.Error) as refused:
            await admin.create_topics([fk.NewTopic(topic_name + "-refused", 1, 1)])
        ended_loop_error(refused, loop)
        await admin.close()
        assert admin.closed

    run(second())
    with fk.AdminClient({"bootstrap.servers": bootstrap}) as check:
        topics = check.list_topics(timeout=10)["topics"]
    assert topic_name in topics and topic_name + "-refused" not in topics


@pytest.mark.timeout(60)
def test_a_client_closes_from_another_loop_while_its_own_runs(mock_cluster, topic_name, group_id):
    """A loop running in another thread: close() awaited elsewhere closes the client on its own
    loop (the rebalance callbacks run there)."""
    mock_cluster.create_topic(topic_name, 1)
    produce_n(mock_cluster.bootstrap_servers, topic_name, 2)
    other = asyncio.new_event_loop()
    thread = threading.Thread(target=other.run_forever)
    thread.start()
    revoked_on: list[asyncio.AbstractEventLoop] = []

    async def on_revoke(c: AIOConsumer, partitions: list[fk.TopicPartition]) -> None:
        revoked_on.append(asyncio.get_running_loop())

    async def make() -> tuple[AIOConsumer, AIOProducer]:
        consumer = AIOConsumer(consumer_config(mock_cluster.bootstrap_servers, group_id))
        await consumer.subscribe([topic_name], on_revoke=on_revoke)
        assert await consumer.poll(30) is not None
        return consumer, AIOProducer({"bootstrap.servers": mock_cluster.bootstrap_servers})

    try:
        consumer, producer = asyncio.run_coroutine_threadsafe(make(), other).result(60)

        async def elsewhere() -> None:
            with pytest.raises(fk.Error, match="another thread"):
                await consumer.poll(0)
            with pytest.raises(fk.Error, match="another thread"):
                await producer.produce(topic_name, b"x")
            await consumer.close(10)
            await producer.close(10)

        run(elsewhere())
        assert consumer.closed and producer.closed
        assert revoked_on == [other]
    finally:
        other.call_soon_threadsafe(other.stop)
        thread.join(10)
        other.close()


# --- a close cancelled, a close that wakes an iteration, a loop closed with clients open ---------


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
