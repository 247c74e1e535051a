"""No committed offset ever passes the last message handed to the application + 1.

Every way a consumer leaves its partitions, with auto-commit on (the default) and off, on the mock
cluster and on a real broker: the group's committed offsets are checked against what the
application was handed. The topics are long (librdkafka prefetches thousands of messages) and each
test reads only a few, so a consumer that commits what it fetched rather than what it handed out
fails by thousands. See src/consumer/offsets.rs for the mechanism.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from dataclasses import dataclass, field

import pytest

import ferrokafka as fk
from conftest import Backend, consumer_config

MESSAGES = 20_000
PARTITIONS = 2


@pytest.fixture
def long_topic(backend: Backend, topic_name: str) -> str:
    """A topic of MESSAGES small messages spread over PARTITIONS partitions."""
    backend.create_topic(topic_name, PARTITIONS)
    with fk.Producer({"bootstrap.servers": backend.bootstrap, "linger.ms": 20}) as producer:
        for i in range(MESSAGES):
            producer.produce(topic_name, b"v%d" % i, partition=i % PARTITIONS)
        assert producer.flush(60) == 0
    return topic_name


@dataclass
class Handed:
    """The highest offset handed to the application, per partition."""

    last: dict[int, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, msg: fk.BorrowedMessage | None) -> fk.BorrowedMessage | None:
        if msg is not None:
            with self.lock:
                self.last[msg.partition] = max(self.last.get(msg.partition, -1), msg.offset)
        return msg

    def count(self) -> int:
        return sum(last + 1 for last in self.last.values())


def committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """The group's committed offsets (OFFSET_INVALID where none), read without joining it."""
    with fk.Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False}) as reader:
        tps = reader.committed([fk.TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=30)
    return {tp.partition: tp.offset for tp in tps}


def assert_committed_within_handed(
    bootstrap: str, group: str, topic: str, handed: Handed, *, exact: bool
) -> dict[int, int]:
    """Committed <= last handed + 1 for every partition; with `exact`, equal (nothing redelivered)."""
    offsets = committed(bootstrap, group, topic)
    for partition, offset in offsets.items():
        limit = handed.last.get(partition, -1) + 1
        if offset >= 0:
            assert offset <= limit, (
                f"partition {partition}: committed {offset}, but only offsets < {limit} were handed "
                f"out: {offset - limit} messages the application never saw would be skipped"
            )
        if exact:
            expected = limit if limit > 0 else fk.OFFSET_INVALID
            assert offset == expected, f"partition {partition}: committed {offset}, handed up to {limit}"
    return offsets


def subscribed(bootstrap: str, group: str, topic: str, **extra: object) -> fk.Consumer:
    consumer = fk.Consumer(consumer_config(bootstrap, group, **extra))
    consumer.subscribe([topic])
    return consumer


AUTO_COMMIT = pytest.mark.parametrize("auto_commit", [True, False], ids=["auto-commit", "manual"])


@AUTO_COMMIT
@pytest.mark.parametrize("how", ["poll-once", "iterate-10", "consume-50"])
def test_close_commits_only_what_was_handed_out(backend, long_topic, group_id, how, auto_commit):
    handed = Handed()
    consumer = subscribed(backend.bootstrap, group_id, long_topic, **{"enable.auto.commit": auto_commit})
    if how == "poll-once":
        while handed.take(consumer.poll(10)) is None:
            pass
    elif how == "iterate-10":
        for iterated, msg in enumerate(consumer, 1):
            handed.take(msg)
            if iterated == 10:
                break
    else:
        while not handed.last:
            for msg in consumer.consume(50, timeout=10):
                handed.take(msg)
    # Let librdkafka prefetch a lot behind what was handed out.
    time.sleep(0.5)
    if not auto_commit:
        consumer.commit(asynchronous=False)
    consumer.close()
    assert_committed_within_handed(backend.bootstrap, group_id, long_topic, handed, exact=True)


@AUTO_COMMIT
def test_commit_in_on_revoke_during_close(backend, long_topic, group_id, auto_commit):
    handed = Handed()
    revoked: list[list[fk.TopicPartition]] = []

    def on_revoke(consumer: fk.Consumer, partitions: list[fk.TopicPartition]) -> None:
        revoked.append(partitions)
        consumer.commit(asynchronous=False)  # what was handed out, not what close() drained

    consumer = fk.Consumer(consumer_config(backend.bootstrap, group_id, **{"enable.auto.commit": auto_commit}))
    consumer.subscribe([long_topic], on_revoke=on_revoke)
    for _ in range(30):
        handed.take(consumer.poll(10))
    time.sleep(0.5)
    consumer.close()
    assert revoked, "on_revoke ran during close()"
    assert_committed_within_handed(backend.bootstrap, group_id, long_topic, handed, exact=True)


def test_unsubscribe_then_close(backend, long_topic, group_id):
    handed = Handed()
    consumer = subscribed(backend.bootstrap, group_id, long_topic)
    for _ in range(20):
        handed.take(consumer.poll(10))
    time.sleep(0.5)
    consumer.unsubscribe()
    # Serve the revocation; whatever poll still returns was handed out and counts.
    deadline = time.monotonic() + 10
    while consumer.assignment() and time.monotonic() < deadline:
        msg = handed.take(consumer.poll(0.1))
        if msg is not None:
            msg.release()
    assert consumer.assignment() == []
    assert_committed_within_handed(backend.bootstrap, group_id, long_topic, handed, exact=True)
    consumer.close()
    assert_committed_within_handed(backend.bootstrap, group_id, long_topic, handed, exact=True)


def test_rebalance_revoke_to_a_second_member(backend, long_topic, group_id):
    """A second member joins: the first loses a partition mid-stream. The group's commits never pass
    what the two members handed out, and nothing is skipped."""
    handed = Handed()
    first = subscribed(backend.bootstrap, group_id, long_topic)
    for _ in range(20):
        handed.take(first.poll(10))
    second = subscribed(backend.bootstrap, group_id, long_topic)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (len(first.assignment()) != 1 or len(second.assignment()) != 1):
        for consumer in (first, second):
            msg = handed.take(consumer.poll(0.05))
            if msg is not None:
                msg.release()
    assert len(first.assignment()) == 1 and len(second.assignment()) == 1, "the group split the partitions"
    for consumer in (first, second):
        for _ in range(5):
            handed.take(consumer.poll(1))
    time.sleep(0.5)
    first.close()
    second.close()
    assert_committed_within_handed(backend.bootstrap, group_id, long_topic, handed, exact=False)


def test_lost_assignment_commits_nothing_unseen(mock_cluster, topic_name, group_id):
    """max.poll.interval.ms exceeded: the assignment is lost, and nothing beyond what was handed out
    is committed, neither then nor at close."""
    bootstrap = mock_cluster.bootstrap_servers
    mock_cluster.create_topic(topic_name, PARTITIONS)
    with fk.Producer({"bootstrap.servers": bootstrap, "linger.ms": 20}) as producer:
        for i in range(MESSAGES):
            producer.produce(topic_name, b"v", partition=i % PARTITIONS)
    handed = Handed()
    lost: list[int] = []
    consumer = fk.Consumer(
        consumer_config(
            bootstrap,
            group_id,
            **{"session.timeout.ms": 1000, "heartbeat.interval.ms": 200, "max.poll.interval.ms": 1000},
        )
    )
    consumer.subscribe([topic_name], on_lost=lambda c, p: lost.append(len(p)))
    for _ in range(10):
        handed.take(consumer.poll(10))
    time.sleep(2.5)
    deadline = time.monotonic() + 10
    while not lost and time.monotonic() < deadline:
        msg = handed.take(consumer.poll(0.2))
        if msg is not None:
            msg.release()
    assert lost, "the assignment was lost"
    consumer.close()
    assert_committed_within_handed(bootstrap, group_id, topic_name, handed, exact=False)


def test_close_from_another_thread_while_polling(backend, long_topic, group_id):
    handed = Handed()
    consumer = subscribed(backend.bootstrap, group_id, long_topic)
    started = threading.Event()
    errors: list[BaseException] = []

    def read() -> None:
        try:
            while True:
                msg = handed.take(consumer.poll(0.05))
                if msg is not None:
                    started.set()
                    time.sleep(0.001)  # "processing"
        except fk.Error:
            return  # closed under us: the documented end
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    reader = threading.Thread(target=read)
    reader.start()
    assert started.wait(15)
    time.sleep(0.3)
    consumer.close()
    reader.join(10)
    assert not reader.is_alive() and not errors, errors
    assert_committed_within_handed(backend.bootstrap, group_id, long_topic, handed, exact=False)


def test_consumer_collected_without_close(backend, long_topic, group_id):
    handed = Handed()
    consumer = subscribed(backend.bootstrap, group_id, long_topic)
    for _ in range(25):
        msg = handed.take(consumer.poll(10))
    del msg
    time.sleep(0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        del consumer
        gc.collect()
    # The group is left on a background thread: wait until the commit of the unassign is in (or
    # the group has nothing), then check it.
    deadline = time.monotonic() + 30
    offsets = committed(backend.bootstrap, group_id, long_topic)
    while time.monotonic() < deadline and all(o < 0 for o in offsets.values()):
        time.sleep(0.3)
        offsets = committed(backend.bootstrap, group_id, long_topic)
    assert_committed_within_handed(backend.bootstrap, group_id, long_topic, handed, exact=False)


SIGKILL_CONSUMER = textwrap.dedent("""
    import os, sys, time
    import ferrokafka as fk
    bootstrap, group, topic = sys.argv[1:4]
    consumer = fk.Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                            "auto.offset.reset": "earliest", "auto.commit.interval.ms": 50})
    consumer.subscribe([topic])
    out = os.fdopen(1, "w", buffering=1)
    for msg in consumer:
        out.write(f"start {msg.partition} {msg.offset}\\n")
        time.sleep(0.002)  # processing: a SIGKILL lands here most of the time
        out.write(f"done {msg.partition} {msg.offset}\\n")
""")


def test_sigkill_with_auto_commit_loses_nothing(backend, long_topic, group_id):
    """Auto-commit on, killed mid-processing: every message is either finished by the first process
    or delivered to the next; every started-but-unfinished one is delivered again."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SIGKILL_CONSUMER, backend.bootstrap, group_id, long_topic],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while len(lines) < 600 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
    proc.kill()
    rest, _ = proc.communicate(timeout=10)
    lines += rest.splitlines(keepends=True)
    done: dict[int, set[int]] = {p: set() for p in range(PARTITIONS)}
    started: dict[int, set[int]] = {p: set() for p in range(PARTITIONS)}
    for line in lines:
        if not line.endswith("\n"):
            continue
        kind, partition, offset = line.split()
        (done if kind == "done" else started)[int(partition)].add(int(offset))
    assert sum(map(len, done.values())) >= 100, "the first process got going"
    offsets = committed(backend.bootstrap, group_id, long_topic)
    for partition in range(PARTITIONS):
        resume = offsets[partition] if offsets[partition] >= 0 else 0
        finished = done[partition]
        unfinished = started[partition] - finished
        assert all(o >= resume for o in unfinished), (
            f"partition {partition}: resumes at {resume}, but started-unfinished {sorted(unfinished)} "
            "would never be delivered again"
        )
        assert set(range(resume)) <= finished, (
            f"partition {partition}: resumes at {resume}, but "
            f"{sorted(set(range(resume)) - finished)[:10]}... were never finished"
        )
