"""The native primitives `ferrokafka.aio` is built on, tested directly: librdkafka's queue wake-up
written to a descriptor (`Consumer._io_event_enable`) and rebalances kept for an event loop to
apply (`_defer_rebalances`, `_pending_rebalance`, `_finish_rebalance`)."""

from __future__ import annotations

import os
import select
import tempfile
import time

import pytest

import ferrokafka as fk
from conftest import consumer_config, produce_n


def readable(fd: int, timeout: float) -> bool:
    return bool(select.select([fd], [], [], timeout)[0])


def drain(fd: int) -> int:
    total = 0
    while True:
        try:
            chunk = os.read(fd, 4096)
        except BlockingIOError:
            return total
        if not chunk:
            return total
        total += len(chunk)


def test_the_descriptor_becomes_readable_when_messages_arrive(mock_cluster, topic_name, group_id):
    mock_cluster.create_topic(topic_name, partitions=1)
    read_end, write_end = os.pipe2(os.O_NONBLOCK)
    consumer = fk.Consumer(consumer_config(mock_cluster.bootstrap_servers, group_id))
    try:
        consumer.assign([fk.TopicPartition(topic_name, 0, fk.OFFSET_BEGINNING)])
        consumer._io_event_enable(write_end)
        # Nothing yet: polled empty, the descriptor goes quiet (a wake-up means "something is
        # queued", which may be one of librdkafka's own events while the assignment starts).
        for _ in range(20):
            assert consumer.poll(0) is None
            drain(read_end)
            if not readable(read_end, 0.3):
                break
        else:
            raise AssertionError("the descriptor never went quiet without messages")
        produce_n(mock_cluster.bootstrap_servers, topic_name, 5)
        assert readable(read_end, 10), "no wake-up for new messages"
        assert drain(read_end) >= 1
        got = []
        deadline = time.monotonic() + 10
        while len(got) < 5 and time.monotonic() < deadline:
            message = consumer.poll(0)
            if message is None:
                drain(read_end)
                readable(read_end, 1)
                continue
            got.append(message.offset)
        assert got == [0, 1, 2, 3, 4]
        # Turned off: new messages write nothing.
        consumer._io_event_enable(None)
        assert consumer.poll(0) is None
        drain(read_end)
        produce_n(mock_cluster.bootstrap_servers, topic_name, 3)
        assert not readable(read_end, 1.0)
    finally:
        consumer.close()
        os.close(read_end)
        os.close(write_end)


def test_a_closed_and_reused_descriptor_number_is_never_written(mock_cluster, topic_name, group_id):
    """The consumer writes to its own duplicate: closing the descriptor given and reusing its
    number for a file must not put wake-up bytes into that file.

    The number is closed and reused in one step (dup2 onto it): closing it first and reusing it
    after would leave a moment in which one of librdkafka's threads can take the number (dup2
    then fails with EBUSY, or closes that thread's socket)."""
    mock_cluster.create_topic(topic_name, partitions=1)
    read_end, write_end = os.pipe2(os.O_NONBLOCK)
    consumer = fk.Consumer(consumer_config(mock_cluster.bootstrap_servers, group_id))
    with tempfile.TemporaryFile() as victim_file:
        try:
            consumer.assign([fk.TopicPartition(topic_name, 0, fk.OFFSET_BEGINNING)])
            consumer._io_event_enable(write_end)
            assert consumer.poll(0) is None
            # Closes the pipe's write end and makes its number name the file, atomically.
            reused = os.dup2(victim_file.fileno(), write_end)
            assert reused == write_end
            assert os.fstat(write_end).st_ino == os.fstat(victim_file.fileno()).st_ino
            produce_n(mock_cluster.bootstrap_servers, topic_name, 5)
            assert readable(read_end, 10), "the duplicate was not written"
            assert os.fstat(victim_file.fileno()).st_size == 0
        finally:
            consumer.close()
            os.close(read_end)
            os.close(write_end)


@pytest.mark.parametrize("bad", [-1, 10**6, "3", 2.5])
def test_bad_descriptors_raise(mock_cluster, group_id, bad):
    consumer = fk.Consumer(consumer_config(mock_cluster.bootstrap_servers, group_id))
    try:
        with pytest.raises((ValueError, TypeError, OverflowError)):
            consumer._io_event_enable(bad)
    finally:
        consumer.close()
    with pytest.raises(fk.Error):
        consumer._io_event_enable(None)


def poll_until_pending(consumer: fk.Consumer, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert consumer.poll(0.1) is None  # nothing is assigned before the rebalance is applied
        pending = consumer._pending_rebalance()
        if pending is not None:
            return pending
    raise AssertionError("no rebalance was kept")


def test_deferred_rebalances_wait_for_the_caller(mock_cluster, topic_name, group_id):
    mock_cluster.create_topic(topic_name, partitions=2)
    produce_n(mock_cluster.bootstrap_servers, topic_name, 10)
    called = []
    consumer = fk.Consumer(consumer_config(mock_cluster.bootstrap_servers, group_id))
    try:
        consumer._defer_rebalances(True)
        consumer.subscribe(topic_name, on_assign=lambda c, p: called.append(("assign", p)))
        kind, partitions = poll_until_pending(consumer)
        assert kind == "assign"
        assert sorted(tp.partition for tp in partitions) == [0, 1]
        assert called == [], "a deferred rebalance runs no callback inside poll"
        assert consumer.assignment() == []
        assert consumer._finish_rebalance() is True
        assert consumer._finish_rebalance() is False
        assert consumer._pending_rebalance() is None
        assert sorted(tp.partition for tp in consumer.assignment()) == [0, 1]
        got = 0
        deadline = time.monotonic() + 10
        while got < 10 and time.monotonic() < deadline:
            got += consumer.poll(0.5) is not None
        assert got == 10
        # Leaving: the revocation is kept too; the caller commits, then applies it.
        consumer.unsubscribe()
        deadline = time.monotonic() + 10
        while consumer._pending_rebalance() is None and time.monotonic() < deadline:
            consumer.poll(0.1)
        kind, partitions = consumer._pending_rebalance()
        assert kind == "revoke"
        consumer.commit(asynchronous=False)
        assert consumer._finish_rebalance() is True
    finally:
        consumer.close()
    assert called == []
    check = fk.Consumer(consumer_config(mock_cluster.bootstrap_servers, group_id))
    try:
        committed = check.committed([fk.TopicPartition(topic_name, p) for p in (0, 1)], timeout=10)
        assert sum(tp.offset for tp in committed) == 10
    finally:
        check.close()


def test_close_applies_a_kept_rebalance(mock_cluster, topic_name, group_id):
    """close() does not wait for a caller that will never apply the kept rebalance."""
    mock_cluster.create_topic(topic_name, partitions=1)
    consumer = fk.Consumer(consumer_config(mock_cluster.bootstrap_servers, group_id))
    consumer._defer_rebalances(True)
    consumer.subscribe(topic_name)
    poll_until_pending(consumer)
    start = time.monotonic()
    consumer.close(timeout=10)
    assert time.monotonic() - start < 5
    assert consumer._pending_rebalance() is None
