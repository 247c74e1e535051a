"""ferrokafka.confluent's Consumer reading: what poll() hands out (the same as confluent-kafka's, end of
partition included), messages kept across polls, the native poll under it and when the Python path
runs instead, error events, and close() meeting a poll() blocked on another thread. On the mock
cluster, with confluent-kafka (installed in the test environment) as the expected value."""

from __future__ import annotations

import threading
import time
import weakref
from typing import Any

import pytest

import ferrokafka as fk
import ferrokafka.confluent as fc
from dropin_helpers import BOTH, ck

pytestmark = pytest.mark.timeout(120)


def _consume_all(mod: Any, bootstrap: str, topic: str, group: str, **extra: Any) -> list[tuple[Any, ...]]:
    consumer = mod.Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": True,
            **extra,
        }
    )
    consumer.subscribe([topic])
    seen: list[tuple[Any, ...]] = []
    try:
        while True:
            msg = consumer.poll(10)
            assert msg is not None, "timed out before the end of the partition"
            err = msg.error()
            if err is not None:
                seen.append(("error", err.code(), err.name(), msg.topic(), msg.partition(), msg.offset()))
                # After the end of the partition, the position is the end offset (the next message's).
                position = consumer.position([mod.TopicPartition(msg.topic(), msg.partition())])
                seen.append(("position", [(tp.topic, tp.partition, tp.offset) for tp in position]))
                break
            seen.append(
                (
                    msg.topic(),
                    msg.partition(),
                    msg.offset(),
                    msg.key(),
                    msg.value(),
                    msg.headers(),
                    msg.timestamp()[0],
                    msg.timestamp()[1] > 0,
                    msg.leader_epoch(),
                    len(msg),
                    msg.latency(),
                )
            )
    finally:
        consumer.close()
    return seen


def test_consumed_messages_and_eof_match_confluent_kafka(mock_cluster, topic_name, group_id):
    mock_cluster.create_topic(topic_name)
    bootstrap = mock_cluster.bootstrap_servers
    with fk.Producer({"bootstrap.servers": bootstrap}) as producer:
        producer.produce(topic_name, b"v0", b"k0", headers=[("h", b"1"), ("h", b"2")]).result(10)
        producer.produce(topic_name, None, None).result(10)
        producer.produce(topic_name, b"", b"k2").result(10)
        # Past what poll() copies at once (_COPY_AT_MOST): handed out as views instead.
        producer.produce(topic_name, b"b" * 9000, b"k3", headers=[("h", b"3")]).result(10)
        producer.produce(topic_name, b"v4", b"k4", headers=[("h", b"4")]).result(10)
    expected = _consume_all(ck, bootstrap, topic_name, group_id + "-ck")
    got = _consume_all(fc, bootstrap, topic_name, group_id + "-fc")
    assert got == expected
    assert got[-2][:3] == ("error", fc.KafkaError._PARTITION_EOF, "_PARTITION_EOF")
    assert got[-1] == ("position", [(topic_name, 0, 5)])


@pytest.mark.parametrize("padding", [0, 9000, -1], ids=["copied", "views", "mixed"])
def test_messages_held_across_polls_keep_their_bytes(mock_cluster, topic_name, group_id, padding):
    """poll() copies small messages at once; bigger ones it hands out as views of the borrowed
    messages, copied only when the application keeps a message: held messages read the same bytes
    after many more polls and after close(), whichever way they came (mixed: every other one)."""
    mock_cluster.create_topic(topic_name)
    bootstrap = mock_cluster.bootstrap_servers

    def value(i: int) -> bytes:
        pad = (9000 if i % 2 else 0) if padding < 0 else padding
        return b"value-%d" % i + b"." * pad

    with fk.Producer({"bootstrap.servers": bootstrap}) as producer:
        for i in range(20):
            producer.produce(topic_name, value(i), b"key-%d" % i)
        producer.flush(10)
    consumer = fc.Consumer({"bootstrap.servers": bootstrap, "group.id": group_id, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic_name])
    held = []
    while len(held) < 20:
        msg = consumer.poll(10)
        assert msg is not None and msg.error() is None
        held.append(msg)
    consumer.close()
    assert [(m.key(), m.value()) for m in held] == [(b"key-%d" % i, value(i)) for i in range(20)]
    assert all(type(m.value()) is bytes and type(m.key()) is bytes for m in held)


def test_the_native_poll_copies_small_messages_and_lends_bigger_ones(mock_cluster, topic_name, group_id):
    """The native call under the drop-in's poll(): a message within the copy limit (key and value)
    comes as a ready Message with both copied, a bigger one as the borrowed message."""
    mock_cluster.create_topic(topic_name)
    bootstrap = mock_cluster.bootstrap_servers
    with fk.Producer({"bootstrap.servers": bootstrap}) as producer:
        producer.produce(topic_name, b"x" * 10, b"k", headers=[("h", b"1")]).result(10)
        producer.produce(topic_name, b"y" * 100, None).result(10)
    consumer = fk.Consumer({"bootstrap.servers": bootstrap, "group.id": group_id, "auto.offset.reset": "earliest"})
    owner = threading.Event()  # any object a weak reference can point to
    try:
        consumer.subscribe([topic_name])
        small = fk._native.DropInPoll(consumer, weakref.ref(owner), [], 11)
        first = small._receive(10.0)
        assert type(first) is fc.Message
        assert (first.topic(), first.partition(), first.offset(), first.key(), first.value(), first.headers()) == (
            topic_name,
            0,
            0,
            b"k",
            b"x" * 10,
            [("h", b"1")],
        )
        assert type(first.value()) is bytes and first._lazy == 0
        assert first.timestamp()[0] == 1 and first.timestamp()[1] > 0 and first.error() is None
        assert first.latency() is None and first.delivery_count() is None
        second = small._receive(10.0)
        assert isinstance(second, fk.BorrowedMessage)
        assert (second.offset, bytes(second.payload), second.key) == (1, b"y" * 100, None)
        with pytest.raises(ValueError):
            small._receive(-1.0)
        # _receive records nothing: handing out is the caller's (the fast path's or _hand_out's)
        assert small.handed() == {}
        small.record(topic_name, 0, 5)
        small.record("".join([topic_name]), 0, 7)  # an equal topic, not the same object
        small.record(topic_name, 1, 3)
        assert small.handed() == {(topic_name, 0): 7, (topic_name, 1): 3}
    finally:
        consumer.close()


def _dropin_consumer(bootstrap: str, group: str, **extra: Any) -> Any:
    return fc.Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest", **extra})


@pytest.mark.parametrize("compression", ["none", "lz4"])
def test_headers_of_every_record_shape_read_as_confluent_kafka_reads_them(backend, topic_name, compression):
    # A record without headers is told from its bytes (NativeMessage::surely_headerless: the value's
    # length varint before it, a 0 header count after it) instead of by librdkafka's parse. Every
    # shape near that check's edges (1- and 2-byte value lengths, past its 8191-byte limit, no key,
    # an empty key, no or an empty value, headers with a None value), compressed or not, still
    # reads as confluent-kafka reads it, through the drop-in and ferrokafka's own consumer.
    backend.create_topic(topic_name)
    shapes: list[tuple[Any, Any, Any]] = []
    for size in (1, 63, 64, 8191, 8192, 9000):
        for key in (None, b"", b"k"):
            for headers in (None, [("a", b"1")], [("x", None), ("y", b"")]):
                shapes.append((key, b"v" * size, headers))
    for key in (None, b"k"):
        for headers in (None, [("a", b"1")]):
            shapes += [(key, None, headers), (key, b"", headers)]
    producer = ck.Producer({"bootstrap.servers": backend.bootstrap, "compression.type": compression, "linger.ms": 20})
    for key, value, headers in shapes:
        producer.produce(topic_name, value, key=key, headers=headers)
    assert producer.flush(30) == 0

    def config() -> dict[str, Any]:
        group = f"g-{time.monotonic_ns()}"
        return {"bootstrap.servers": backend.bootstrap, "group.id": group, "auto.offset.reset": "earliest"}

    def read(mod: Any) -> list[tuple[Any, Any, Any]]:
        consumer = mod.Consumer(config())
        consumer.subscribe([topic_name])
        got: list[tuple[Any, Any, Any]] = []
        deadline = time.monotonic() + 60
        try:
            while len(got) < len(shapes) and time.monotonic() < deadline:
                msg = consumer.poll(1.0)
                if msg is not None and msg.error() is None:
                    got.append((msg.key(), msg.value(), msg.headers()))
        finally:
            consumer.close()
        return got

    expected = read(ck)
    assert [headers for _, _, headers in expected] == [headers for _, _, headers in shapes]
    assert read(fc) == expected
    native: list[Any] = []
    with fk.Consumer(config()) as consumer:
        consumer.subscribe([topic_name])
        deadline = time.monotonic() + 60
        while len(native) < len(shapes) and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is not None:
                native.append(msg.headers or None)
    assert native == [headers for _, _, headers in expected]


def test_poll_takes_the_native_path_only_when_nothing_is_queued(mock_cluster, topic_name, group_id):
    """poll() is one native call unless the Python side has something queued (callbacks, error
    events, held or aging messages, synchronous commits awaiting their result) or the timeout is
    no number: then _poll_slow runs. Both hand out the same messages, and commit() commits the
    offset after the last one handed out either way."""
    mock_cluster.create_topic(topic_name)
    bootstrap = mock_cluster.bootstrap_servers
    with fk.Producer({"bootstrap.servers": bootstrap}) as producer:
        for i in range(6):
            producer.produce(topic_name, b"v%d" % i).result(10)
    consumer = _dropin_consumer(bootstrap, group_id)
    slow_calls: list[Any] = []
    slow = consumer._poll_slow

    def counting(timeout: Any) -> Any:
        slow_calls.append(timeout)
        return slow(timeout)

    consumer._poll_slow = counting
    try:
        consumer.subscribe([topic_name])
        values = []
        first = consumer.poll(10.0)  # a float: native
        values.append(first.value())
        assert slow_calls == []
        values.append(consumer.poll(10).value())  # an int: native too
        assert slow_calls == []

        class Seconds(float):
            pass

        values.append(consumer.poll(Seconds(10)).value())  # no plain number: the Python way
        assert slow_calls == [10.0] and type(slow_calls[0]) is Seconds
        reported: list[Any] = []
        consumer._queue_callback(reported.append, "served")  # a queued callback (as on_commit's)
        values.append(consumer.poll(10.0).value())
        assert slow_calls == [10.0, 10.0] and reported == ["served"]
        values.append(consumer.poll(timeout=10.0).value())
        assert len(slow_calls) == 2
        assert values == [b"v0", b"v1", b"v2", b"v3", b"v4"]
        committed = consumer.commit(asynchronous=False)
        assert [(tp.topic, tp.partition, tp.offset) for tp in committed] == [(topic_name, 0, 5)]
        # a subclass overriding poll() keeps it; Consumer.poll runs the same native path
        assert type(consumer).poll is fc.Consumer.poll and consumer.poll.__self__ is consumer._poller
        assert fc.Consumer.poll(consumer, 10.0).value() == b"v5" and len(slow_calls) == 2
    finally:
        consumer.close()
    with pytest.raises(RuntimeError, match="Consumer closed"):
        consumer.poll(0.0)
    with pytest.raises(RuntimeError, match="Consumer closed"):
        fc.Consumer.poll(consumer)


def test_a_poll_bound_before_close_raises_consumer_closed_after(mock_cluster, topic_name, group_id):
    mock_cluster.create_topic(topic_name)
    consumer = _dropin_consumer(mock_cluster.bootstrap_servers, group_id)
    consumer.subscribe([topic_name])
    poll = consumer.poll
    assert poll(0.0) is None
    consumer.close()
    for timeout in (0.0, 1, None, -1):
        with pytest.raises(RuntimeError, match="Consumer closed"):
            poll(timeout)


def test_the_containers_the_native_poll_watches_are_only_changed_in_place(mock_cluster, topic_name, group_id):
    """The native poll holds the drop-in consumer's queues and lists themselves: aging, seek() and
    forgetting synchronous commits must not replace them (or queued work would go unnoticed)."""
    mock_cluster.create_topic(topic_name)
    bootstrap = mock_cluster.bootstrap_servers
    with fk.Producer({"bootstrap.servers": bootstrap}) as producer:
        for i in range(4):
            producer.produce(topic_name, b"z" * 10_000 + b"%d" % i).result(10)  # big: aged views
    consumer = _dropin_consumer(bootstrap, group_id, on_commit=lambda err, partitions: None)
    callbacks = consumer._callbacks
    watched = [consumer._previous, consumer._latest, callbacks.pending, callbacks.errors, consumer._held]
    sync = callbacks.sync_commits
    try:
        consumer.subscribe([topic_name])
        held = [consumer.poll(10.0) for _ in range(3)]
        assert [m.value()[-1:] for m in held] == [b"0", b"1", b"2"]
        consumer._held.append(fc.Message(topic=topic_name, partition=0, offset=3))
        consumer.seek(fc.TopicPartition(topic_name, 0, 3))
        assert not consumer._held
        consumer.commit(asynchronous=False)
        callbacks.forget_sync_commits(time.monotonic() + 10)
        ids = [
            id(c) for c in (consumer._previous, consumer._latest, callbacks.pending, callbacks.errors, consumer._held)
        ]
        assert ids == [id(c) for c in watched] and callbacks.sync_commits is sync
        # a queued error event is what the next poll returns, whatever is fetched
        error = fc.Message(error=fc.KafkaError(fc.KafkaError._TRANSPORT))
        callbacks.event(error)
        assert consumer.poll(10.0) is error
        assert consumer.poll(10.0).value()[-1:] == b"3"
    finally:
        consumer.close()


@BOTH
def test_a_consume_error_arriving_during_a_native_poll_is_what_that_poll_returns(mod, mock_cluster, group_id):
    """An error event that arrives while poll() waits natively (its error_cb queues it and sets
    the flag the native poll reads) is what that same poll() returns; then nothing is left queued
    and the drop-in's next poll() is native again."""
    consumer = mod.Consumer(
        {"bootstrap.servers": mock_cluster.bootstrap_servers, "group.id": group_id, "allow.auto.create.topics": False}
    )
    slow_calls: list[Any] = []
    if mod is fc:
        slow = consumer._poll_slow
        consumer._poll_slow = lambda timeout: slow_calls.append(timeout) or slow(timeout)
    try:
        consumer.subscribe([f"absent-{group_id}"])
        event = consumer.poll(10.0)
        assert event is not None and event.error().code() == mod.KafkaError.UNKNOWN_TOPIC_OR_PART
        assert consumer.poll(0.2) is None
        if mod is fc:
            assert slow_calls == [] and consumer._poller._settle() is False
    finally:
        consumer.close()


@BOTH
@pytest.mark.parametrize("call", ["poll", "consume"])
def test_close_from_another_thread_ends_a_blocked_call_with_nothing_received(mod, call, mock_cluster, group_id):
    """A poll()/consume() that close() (another thread) meets ends as if nothing came — None or
    [] — not with an error; the next call raises confluent-kafka's RuntimeError("Consumer closed").
    (confluent-kafka's close() waits for the call's timeout; the drop-in's interrupts it.)"""
    mock_cluster.create_topic(f"{group_id}-t")
    consumer = mod.Consumer({"bootstrap.servers": mock_cluster.bootstrap_servers, "group.id": group_id})
    consumer.subscribe([f"{group_id}-t"])
    poll = consumer.poll
    outcome: list[Any] = []

    def blocked() -> None:
        try:
            outcome.append(consumer.poll(2) if call == "poll" else consumer.consume(10, 2))
        except BaseException as error:  # noqa: BLE001 - what it raised is the result
            outcome.append(error)

    thread = threading.Thread(target=blocked)
    thread.start()
    # Well inside the 2 s call (a call that started only after close() would raise instead): 1 s
    # leaves a loaded machine time to enter it.
    time.sleep(1.0)
    consumer.close()
    thread.join(10)
    assert outcome == [None if call == "poll" else []]
    with pytest.raises(RuntimeError, match="Consumer closed"):
        consumer.poll(0) if call == "poll" else consumer.consume(1, 0)
    with pytest.raises(RuntimeError, match="Consumer closed"):
        poll(0)  # the bound poll taken before close() (a loop's local) too


@BOTH
def test_a_closed_consumer_s_poll_raises_however_it_was_looked_up(mod, mock_cluster, group_id):
    consumer = mod.Consumer({"bootstrap.servers": mock_cluster.bootstrap_servers, "group.id": group_id})
    poll = consumer.poll
    consumer.close()
    for each in (poll, consumer.poll, lambda timeout: type(consumer).poll(consumer, timeout)):
        with pytest.raises(RuntimeError, match="Consumer closed"):
            each(0)
