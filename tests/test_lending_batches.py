"""poll() and the lending iterator take messages from librdkafka in batches and lend them one at a
time (src/consumer/lent_ahead.rs). The messages fetched but not lent yet have left librdkafka and
not reached the application: every way a position can change while they wait must neither skip
nor reorder a message. Each test counts offsets: consecutive, each once (or, where a partition
changes hands, at least once), on the mock cluster and the real broker.
"""

from __future__ import annotations

import gc
import time
import weakref

import pytest

import ferrokafka as fk
from conftest import consumer_config, produce_n

N = 300  # more than one lending batch (256)


def offsets_of(messages: list[fk.BorrowedMessage]) -> list[int]:
    return [m.offset for m in messages]


def poll_one(consumer: fk.Consumer, timeout: float = 30.0) -> fk.BorrowedMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = consumer.poll(0.2)
        if message is not None:
            return message
    raise AssertionError("no message")


def read_rest(consumer: fk.Consumer, until: int, offsets: list[int]) -> None:
    """Polls until offset `until - 1` has been read, appending what it reads."""
    deadline = time.monotonic() + 30
    while (not offsets or offsets[-1] < until - 1) and time.monotonic() < deadline:
        message = consumer.poll(0.2)
        if message is not None:
            offsets.append(message.offset)


@pytest.fixture
def filled(backend, topic_name):
    backend.create_topic(topic_name, 1)
    produce_n(backend.bootstrap, topic_name, N)
    return backend, topic_name


def test_mixing_poll_iteration_and_consume_keeps_order(filled, group_id):
    backend, topic = filled
    with fk.Consumer(consumer_config(backend.bootstrap, group_id)) as consumer:
        consumer.subscribe([topic])
        offsets = [poll_one(consumer).offset]
        offsets += offsets_of(consumer.consume(10, 10))  # from those waiting: no fetch overtakes them
        for message in consumer:
            offsets.append(message.offset)
            if len(offsets) == 20:
                break
        read_rest(consumer, N, offsets)
    assert offsets == list(range(N))


def test_pause_holds_waiting_messages_and_resume_lends_them_in_order(filled, group_id):
    backend, topic = filled
    with fk.Consumer(consumer_config(backend.bootstrap, group_id)) as consumer:
        consumer.subscribe([topic])
        offsets = [poll_one(consumer).offset]
        partition = fk.TopicPartition(topic, 0)
        consumer.pause([partition])
        assert consumer.poll(1.0) is None, "a paused partition lent a message"
        assert consumer.consume(10, 0.5) == []
        consumer.resume([partition])
        read_rest(consumer, N, offsets)
    assert offsets == list(range(N))


def test_seek_replaces_waiting_messages(filled, group_id):
    backend, topic = filled
    with fk.Consumer(consumer_config(backend.bootstrap, group_id)) as consumer:
        consumer.subscribe([topic])
        assert poll_one(consumer).offset == 0
        consumer.seek(fk.TopicPartition(topic, 0, 200), timeout=10)
        assert poll_one(consumer).offset == 200


def test_position_counts_only_what_was_lent(filled, group_id):
    backend, topic = filled
    with fk.Consumer(consumer_config(backend.bootstrap, group_id)) as consumer:
        consumer.subscribe([topic])
        assert poll_one(consumer).offset == 0
        assert consumer.position()[0].offset == 1  # librdkafka's own is past the batch
        for _ in range(4):
            poll_one(consumer)
        assert consumer.position()[0].offset == 5


def test_assign_restarts_from_its_offsets(filled):
    backend, topic = filled
    config = {"bootstrap.servers": backend.bootstrap, "group.id": "unused", "enable.auto.commit": False}
    with fk.Consumer(config) as consumer:
        consumer.assign([fk.TopicPartition(topic, 0, 0)])
        assert poll_one(consumer).offset == 0
        consumer.assign([fk.TopicPartition(topic, 0, 100)])
        assert poll_one(consumer).offset == 100
        consumer.incremental_unassign([fk.TopicPartition(topic, 0)])
        assert consumer.poll(0.5) is None, "an unassigned partition lent a message"


@pytest.mark.parametrize("strategy", ["range", "cooperative-sticky"])
def test_a_rebalance_loses_no_waiting_message(backend, topic_name, group_id, strategy):
    """Consumer A holds waiting messages of both partitions when B joins and takes one: what A had
    not lent of it is read by B (from the committed offset); together they read every message."""
    backend.create_topic(topic_name, 2)
    produce_n(backend.bootstrap, topic_name, 2 * N)
    config = consumer_config(
        backend.bootstrap, group_id, **{"partition.assignment.strategy": strategy, "enable.auto.commit": False}
    )
    seen: set[tuple[int, int]] = set()

    def take(consumer: fk.Consumer, message: fk.BorrowedMessage | None) -> None:
        if message is not None:
            seen.add((message.partition, message.offset))
            consumer.commit(message, asynchronous=True)  # one that fails mid-rebalance: read again

    a = fk.Consumer(config)
    b = fk.Consumer(config)
    try:
        a.subscribe([topic_name])
        take(a, poll_one(a))
        b.subscribe([topic_name])
        deadline = time.monotonic() + 60
        while len(seen) < 2 * N and time.monotonic() < deadline:
            take(a, a.poll(0.05))
            take(b, b.poll(0.05))
        assert len(seen) == 2 * N, f"{2 * N - len(seen)} messages never read"
    finally:
        a.close()
        b.close()


def test_close_and_collection_free_waiting_messages(filled, group_id):
    backend, topic = filled
    consumer = fk.Consumer(consumer_config(backend.bootstrap, group_id))
    consumer.subscribe([topic])
    message = poll_one(consumer)
    # The lent one and those fetched with it and waiting (a first fetch may bring just one).
    deadline = time.monotonic() + 10
    while fk._native._live_native_messages() < 2 and time.monotonic() < deadline:
        message = poll_one(consumer)
    assert fk._native._live_native_messages() > 1
    consumer.close()
    assert not message.valid  # close invalidated the lent one too
    assert fk._native._live_native_messages() == 0

    consumer = fk.Consumer(consumer_config(backend.bootstrap, group_id + "-gc"))
    consumer.subscribe([topic])
    poll_one(consumer).release()
    alive = weakref.ref(consumer)
    with pytest.warns(ResourceWarning):
        del consumer
        gc.collect()
    assert alive() is None
    deadline = time.monotonic() + 10
    while fk._native._live_native_messages() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fk._native._live_native_messages() == 0
