"""ferrokafka.parallel.AsyncParallelProcessor on the mock cluster: handlers as asyncio tasks, key
order, gap-aware commits, dead-letter topic, cancellation draining and committing, deadlines."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import textwrap
import time
from collections import defaultdict

import pytest
from test_parallel import committed, dlq_messages, keyed, processed, produce, wait_for

import ferrokafka as fk
from conftest import consumer_config
from ferrokafka.parallel import AsyncParallelProcessor, DeadLetter, HandlerError

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def bootstrap(mock_cluster: fk.MockCluster) -> str:
    return mock_cluster.bootstrap_servers


async def until(condition, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def test_key_order_concurrency_and_commit(mock_cluster, bootstrap, topic_name, group_id):
    mock_cluster.create_topic(topic_name, 2)
    produce(bootstrap, topic_name, keyed(300, 10))
    order: dict[bytes, list[int]] = defaultdict(list)
    busy: set[bytes] = set()
    overlaps: list[bytes] = []
    state = {"running": 0, "max": 0, "done": 0}

    async def handler(message: fk.OwnedMessage) -> None:
        key = bytes(message.key or b"")
        if key in busy:
            overlaps.append(key)
        busy.add(key)
        order[key].append(int(bytes(message.payload or b"")))
        state["running"] += 1
        state["max"] = max(state["max"], state["running"])
        await asyncio.sleep(0.001 * (message.offset % 4))
        state["running"] -= 1
        busy.discard(key)
        state["done"] += 1

    async def main() -> None:
        processor = AsyncParallelProcessor(
            consumer_config(bootstrap, group_id), topic_name, handler, concurrency=16, commit_interval=0.05
        )
        task = asyncio.create_task(processor.run())
        await until(lambda: state["done"] == 300)
        processor.stop()
        await task

    asyncio.run(main())
    assert not overlaps
    assert all(numbers == sorted(numbers) for numbers in order.values())
    assert state["max"] > 1
    assert sum(committed(bootstrap, group_id, topic_name, 2).values()) == 300


def test_poison_message_to_dead_letter_topic_others_go_on(mock_cluster, bootstrap, topic_name, group_id):
    mock_cluster.create_topic(topic_name, 1)
    mock_cluster.create_topic(topic_name + "-dlq", 1)
    items = keyed(20, 2)
    items[3] = (b"k1", b"poison")
    produce(bootstrap, topic_name, items)
    done: list[int] = []

    async def handler(message: fk.OwnedMessage) -> None:
        if bytes(message.payload or b"") == b"poison":
            raise ValueError("poison")
        done.append(message.offset)

    async def main() -> None:
        processor = AsyncParallelProcessor(
            consumer_config(bootstrap, group_id),
            topic_name,
            handler,
            on_failure=DeadLetter(topic_name + "-dlq"),
        )
        task = asyncio.create_task(processor.run())
        await until(lambda: len(done) == 19)
        processor.stop()
        await task

    asyncio.run(main())
    assert committed(bootstrap, group_id, topic_name, 1) == {0: 20}
    (dead,) = dlq_messages(bootstrap, topic_name + "-dlq", 1)
    assert dict(dead.headers)["ferrokafka.dlq.offset"] == b"3"
    assert dict(dead.headers)["ferrokafka.dlq.error"] == b"ValueError: poison"


def test_stop_policy_raises_handler_error(mock_cluster, bootstrap, topic_name, group_id):
    mock_cluster.create_topic(topic_name, 1)
    produce(bootstrap, topic_name, keyed(10, 10))

    async def handler(message: fk.OwnedMessage) -> None:
        if message.offset == 2:
            raise RuntimeError("stop here")

    processor = AsyncParallelProcessor(consumer_config(bootstrap, group_id), topic_name, handler)
    with pytest.raises(HandlerError) as info:
        asyncio.run(processor.run())
    assert isinstance(info.value.__cause__, RuntimeError)
    assert committed(bootstrap, group_id, topic_name, 1)[0] <= 2


def test_cancel_drains_commits_and_cancels_stuck_handlers_at_the_deadline(
    mock_cluster, bootstrap, topic_name, group_id
):
    mock_cluster.create_topic(topic_name, 1)
    produce(bootstrap, topic_name, keyed(10, 10))
    done: list[int] = []
    cancelled: list[int] = []

    async def handler(message: fk.OwnedMessage) -> None:
        try:
            await asyncio.sleep(60 if message.offset == 4 else 0.01)
        except asyncio.CancelledError:
            cancelled.append(message.offset)
            raise
        done.append(message.offset)

    async def main() -> float:
        processor = AsyncParallelProcessor(consumer_config(bootstrap, group_id), topic_name, handler, drain_timeout=0.5)
        task = asyncio.create_task(processor.run())
        await until(lambda: len(done) == 9)
        started = time.monotonic()
        task.cancel()  # what asyncio.run does on Ctrl-C
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - started

    took = asyncio.run(main())
    assert took < 5
    assert cancelled == [4]
    assert committed(bootstrap, group_id, topic_name, 1) == {0: 4}


ASYNC_CHILD = textwrap.dedent(
    """
    import asyncio, sys
    import signal
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with SIGINT ignored
    from ferrokafka.parallel import AsyncParallelProcessor
    bootstrap, topic, group, log = sys.argv[1:5]
    out = open(log, "a", buffering=1)
    async def handler(message):
        out.write("s %d %d\\n" % (message.partition, message.offset))
        await asyncio.sleep(0.02)
        out.write("d %d %d\\n" % (message.partition, message.offset))
    config = {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
              "session.timeout.ms": 6000, "heartbeat.interval.ms": 500}
    processor = AsyncParallelProcessor(config, topic, handler, concurrency=8, max_in_flight=20)
    try:
        asyncio.run(processor.run())
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(3)
    print("stopped", flush=True)
    """
)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_drain_and_commit(mock_cluster, bootstrap, topic_name, group_id, tmp_path, sig):
    mock_cluster.create_topic(topic_name, 1)
    produce(bootstrap, topic_name, keyed(5000, 40))
    log = tmp_path / "processed.log"
    log.touch()
    child = subprocess.Popen(
        [sys.executable, "-c", ASYNC_CHILD, bootstrap, topic_name, group_id, str(log)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: len(processed(log)) >= 100, timeout=60)
        child.send_signal(sig)
        out, _ = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == (3 if sig == signal.SIGINT else 0), out
    done = {o for _, o in processed(log)}
    assert len(processed(log, "s")) == len(processed(log, "d")), "running handlers finished before the exit"
    (offset,) = committed(bootstrap, group_id, topic_name, 1).values()
    assert offset > 0 and set(range(offset)) <= done
    assert offset >= max(done) + 1 - 20, "what finished was committed (up to the window: max_in_flight)"
