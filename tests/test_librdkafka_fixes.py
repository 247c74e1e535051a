"""Bugs of the librdkafka we link (2.12.1) that later releases fixed, and that reach ferrokafka:
each test plays the scenario of the upstream fix and checks that ferrokafka's guard holds
(docs/librdkafka-fixes.md lists every fix of 2.13-2.16 and why the others cannot reach us)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import textwrap
import time

import pytest

import ferrokafka as fk
from conftest import consumer_config, produce_n

TIMEOUT = 30


def read_until(consumer: fk.Consumer, read: str, *, messages: int = 0, eof: bool = True) -> tuple[list[int], list[int]]:
    """Offsets of the messages read and of the partition ends raised, until `messages` were read
    and (with `eof`) an end was raised after them."""
    got: list[int] = []
    ends: list[int] = []
    deadline = time.monotonic() + TIMEOUT
    while len(got) < messages or (eof and not (ends and ends[-1] > (got[-1] if got else -1))):
        assert time.monotonic() < deadline, f"read {got}, ends {ends}"
        try:
            if read == "poll":
                message = consumer.poll(0.2)
                batch = [] if message is None else [message]
            else:
                batch = consumer.consume(10, 0.2)
        except fk.PartitionEOF as end:
            ends.append(end.offset)
            continue
        for message in batch:
            got.append(message.offset)
            message.release()
    return got, ends


@pytest.mark.parametrize("read", ["poll", "consume"])
def test_the_end_of_a_partition_leaves_position_and_pause_where_the_messages_end(backend, topic_name, group_id, read):
    """librdkafka 2.13.2: the batch call moved the position one past a partition end it handed out
    (end at 3: position 4). position() said 4, and pause() restarts fetching at the position: a
    message produced while paused at offset 3 was skipped on resume."""
    backend.create_topic(topic_name, 1)
    produce_n(backend.bootstrap, topic_name, 3)
    config = consumer_config(backend.bootstrap, group_id, **{"enable.partition.eof": True})
    tp = fk.TopicPartition(topic_name, 0)
    with fk.Consumer(config) as consumer:
        consumer.assign([fk.TopicPartition(topic_name, 0, fk.OFFSET_BEGINNING)])
        got, ends = read_until(consumer, read, messages=3)
        assert (got, ends) == ([0, 1, 2], [3])
        assert [p.offset for p in consumer.position([tp])] == [3], "the position after the last message"
        consumer.pause([tp])
        assert [p.offset for p in consumer.position([tp])] == [3]
        produce_n(backend.bootstrap, topic_name, 1)  # offset 3, while paused
        consumer.resume([tp])
        got, ends = read_until(consumer, read, messages=1)
        assert (got, ends) == ([3], [4]), "the message produced while paused is read, then the new end"
        assert [p.offset for p in consumer.position([tp])] == [4]
        consumer.commit(asynchronous=False)
        assert [p.offset for p in consumer.committed([tp], timeout=TIMEOUT)] == [4]


def test_pause_at_the_end_without_a_message_since(mock_cluster, topic_name, group_id):
    """The end raised twice in a row (resumed, nothing new): the position stays at the end, and a
    pause there still restarts at it."""
    mock_cluster.create_topic(topic_name, 1)
    produce_n(mock_cluster.bootstrap_servers, topic_name, 2)
    config = consumer_config(mock_cluster.bootstrap_servers, group_id, **{"enable.partition.eof": True})
    tp = fk.TopicPartition(topic_name, 0)
    with fk.Consumer(config) as consumer:
        consumer.assign([fk.TopicPartition(topic_name, 0, fk.OFFSET_BEGINNING)])
        assert read_until(consumer, "poll", messages=2) == ([0, 1], [2])
        for _ in range(2):
            consumer.pause([tp])
            consumer.resume([tp])
            assert [p.offset for p in consumer.position([tp])] == [2]
        produce_n(mock_cluster.bootstrap_servers, topic_name, 2)
        got, _ = read_until(consumer, "poll", messages=2)
        assert got[:2] == [2, 3]


def test_asyncio_commit_after_the_end_commits_the_end(backend, topic_name, group_id):
    """AIOConsumer.commit() without arguments commits the position: read to the end at 3, it
    committed 4, past the next message, which a restarted group would then never read."""
    from ferrokafka.aio import AIOConsumer

    backend.create_topic(topic_name, 1)
    produce_n(backend.bootstrap, topic_name, 3)
    config = consumer_config(backend.bootstrap, group_id, **{"enable.partition.eof": True})
    tp = fk.TopicPartition(topic_name, 0)

    async def main() -> list[int]:
        async with AIOConsumer(config) as consumer:
            await consumer.assign([fk.TopicPartition(topic_name, 0, fk.OFFSET_BEGINNING)])
            got: list[int] = []
            deadline = time.monotonic() + TIMEOUT
            while True:
                assert time.monotonic() < deadline, got
                try:
                    message = await consumer.poll(0.2)
                except fk.PartitionEOF as end:
                    assert (got, end.offset) == ([0, 1, 2], 3)
                    break
                if message is not None:
                    got.append(message.offset)
            await consumer.commit(asynchronous=False)
            return [p.offset for p in await consumer.committed([tp], timeout=TIMEOUT)]

    assert asyncio.run(main()) == [3]


@pytest.mark.xfail(
    strict=True,
    reason="librdkafka 2.12.1 built with CMake (rdkafka-sys cmake-build): rd_atomic32_set returns the "
    "new value, so the 0 -> 1 'broker down' transition is never seen (fixed in librdkafka 2.15.0)",
)
def test_all_brokers_down_reaches_error_cb():
    """confluent-kafka's error_cb hears _ALL_BROKERS_DOWN once every broker is down; ferrokafka's
    librdkafka build never raises it (docs/librdkafka-fixes.md). The port is held bound but not
    listening for the whole test: connections are refused, and no other process can take it."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        errors: list[str] = []
        config = {
            "bootstrap.servers": f"127.0.0.1:{held.getsockname()[1]}",
            "error_cb": lambda e: errors.append(e.name()),
        }
        with fk.Producer(config) as producer:
            deadline = time.monotonic() + 10
            while "_ALL_BROKERS_DOWN" not in errors and time.monotonic() < deadline:
                producer.poll(0.2)
    assert "_ALL_BROKERS_DOWN" in errors, errors


LEAVE_WITHOUT_COORDINATOR = textwrap.dedent("""
    import sys, time, uuid
    import ferrokafka as fk
    protocol = sys.argv[1]
    with fk.MockCluster(2) as cluster:
        topic = "t-" + uuid.uuid4().hex[:8]
        cluster.create_topic(topic, 1)
        config = {"bootstrap.servers": cluster.bootstrap_servers, "group.id": "g-" + topic,
                  "group.protocol": protocol, "error_cb": lambda e: None}
        if protocol == "classic":
            config.update({"session.timeout.ms": 6000, "heartbeat.interval.ms": 1000})
        consumer = fk.Consumer(config)
        consumer.subscribe([topic])
        deadline = time.monotonic() + 20
        while not consumer.assignment():
            assert time.monotonic() < deadline, "no assignment"
            consumer.poll(0.2)
        for broker in (1, 2):  # the coordinator with them
            cluster.broker_down(broker)
        time.sleep(1)  # the consumer notices the coordinator is gone: time has to pass
        started = time.monotonic()
        consumer.close()
        print("closed", round(time.monotonic() - started, 1), flush=True)
""")


@pytest.mark.parametrize("protocol", ["classic", "consumer"])
def test_close_without_a_coordinator_does_not_crash(protocol):
    """librdkafka 2.14.2: closing a consumer whose coordinator is unavailable could crash in the
    LeaveGroup response handler (a NULL broker dereferenced). librdkafka's reproduction (coordinator
    down, then close), in a child process: it closes, promptly, without a signal."""
    child = subprocess.run(
        [sys.executable, "-c", LEAVE_WITHOUT_COORDINATOR, protocol], capture_output=True, text=True, timeout=120
    )
    assert child.returncode == 0, child.stderr[-2000:]
    closed = [line for line in child.stdout.splitlines() if line.startswith("closed ")]
    assert closed and float(closed[0].split()[1]) < 15, child.stdout


@pytest.mark.parametrize("read", ["poll", "consume"])
def test_a_resumed_partition_is_fetched_at_once_and_loses_nothing(backend, topic_name, group_id, read):
    """librdkafka 2.12 does not wake its fetcher on resume(): the partition started at the
    fetcher's next wake-up, 0.5-1 s later. resume() seeks it to its own position, which wakes it;
    every message still comes once, in order."""
    backend.create_topic(topic_name)
    produce_n(backend.bootstrap, topic_name, 12000, size=100)
    config = consumer_config(backend.bootstrap, group_id, **{"fetch.wait.max.ms": 100})
    offsets: list[int] = []

    def take(consumer: fk.Consumer) -> int:
        if read == "poll":
            message = consumer.poll(5)
            taken = [] if message is None else [message.offset]
        else:
            taken = [m.offset for m in consumer.consume(500, 5)]
        offsets.extend(taken)
        return len(taken)

    with fk.Consumer(config) as consumer:
        consumer.subscribe([topic_name])
        while not offsets:
            take(consumer)
        slowest = 0.0
        for _ in range(3):
            consumer.pause(consumer.assignment())
            stopped = time.monotonic()
            while time.monotonic() - stopped < 1.2:  # the fetcher goes back to sleep meanwhile
                assert consumer.poll(0.1) is None
            consumer.resume(consumer.assignment())
            resumed, taken = time.monotonic(), 0
            while taken < 3000:
                taken += take(consumer)
            slowest = max(slowest, time.monotonic() - resumed)
        while len(offsets) < 12000 and take(consumer):
            pass
    assert offsets == list(range(12000))
    assert slowest < 0.35, slowest  # 0.46-0.54 s (mock) / ~1 s (broker) without the wake-up
