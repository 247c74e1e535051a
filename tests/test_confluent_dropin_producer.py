"""ferrokafka.confluent's Producer: delivery callbacks ``(err, msg)`` served by poll() and flush() on
the calling thread, failed deliveries, a full queue, messages refused at once, produce_batch() and
the configuration shapes confluent-kafka accepts. With confluent-kafka itself (installed in the
test environment) as the expected value, on the same mock cluster."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import ferrokafka.confluent as fc
from dropin_helpers import BOTH, ck

pytestmark = pytest.mark.timeout(120)


def _produce_collect(mod: Any, bootstrap: str, topic: str, n: int, **extra: Any) -> list[tuple[Any, ...]]:
    """Produces n messages with a delivery callback; returns what the callbacks saw, in order, and
    on which thread."""
    seen: list[tuple[Any, ...]] = []

    def on_delivery(err: Any, msg: Any) -> None:
        seen.append(
            (
                err,
                type(msg).__name__,
                msg.topic(),
                msg.partition(),
                msg.offset() is not None and msg.offset() >= 0,
                msg.key(),
                msg.value(),
                msg.headers(),
                threading.current_thread() is threading.main_thread(),
            )
        )

    producer = mod.Producer({"bootstrap.servers": bootstrap, **extra})
    for i in range(n):
        producer.produce(topic, value=b"v%d" % i, key=f"k{i}", headers=[("h", b"x")], on_delivery=on_delivery)
    assert len(producer) == n
    assert seen == [], "delivery callbacks run only inside poll()/flush()"
    assert producer.flush(10) == 0
    assert len(producer) == 0
    return seen


@BOTH
def test_delivery_callback_is_err_msg_served_by_flush_on_the_calling_thread(mod, mock_cluster, topic_name):
    mock_cluster.create_topic(topic_name, partitions=1)
    seen = _produce_collect(mod, mock_cluster.bootstrap_servers, topic_name, 3)
    assert seen == [
        # A delivery report carries no headers.
        (None, "Message", topic_name, 0, True, b"k%d" % i, b"v%d" % i, None, True)
        for i in range(3)
    ]


def test_delivery_callbacks_match_confluent_kafka(mock_cluster, topic_name):
    mock_cluster.create_topic(topic_name, partitions=1)
    expected = _produce_collect(ck, mock_cluster.bootstrap_servers, topic_name, 4)
    assert _produce_collect(fc, mock_cluster.bootstrap_servers, topic_name, 4) == expected


@BOTH
def test_poll_serves_delivery_callbacks_and_counts_them(mod, mock_cluster, topic_name):
    mock_cluster.create_topic(topic_name)
    got: list[Any] = []
    producer = mod.Producer({"bootstrap.servers": mock_cluster.bootstrap_servers, "linger.ms": 0})
    producer.produce(topic_name, b"a", callback=lambda err, msg: got.append((err, msg.value())))
    served = 0
    for _ in range(100):
        served += producer.poll(0.1)
        if got:
            break
    assert served == 1
    assert got == [(None, b"a")]
    assert producer.poll(0) == 0


@BOTH
def test_failed_delivery_gets_a_kafka_error(mod, topic_name):
    got: list[Any] = []
    producer = mod.Producer({"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 200})
    producer.produce(topic_name, b"lost", on_delivery=lambda err, msg: got.append((err, msg.value())))
    assert producer.flush(10) == 0
    ((err, value),) = got
    assert value == b"lost"
    assert isinstance(err, mod.KafkaError)
    assert err.code() == mod.KafkaError._MSG_TIMED_OUT
    assert err == mod.KafkaError._MSG_TIMED_OUT


@BOTH
def test_full_queue_raises_buffer_error(mod, topic_name):
    producer = mod.Producer({"bootstrap.servers": "127.0.0.1:1", "queue.buffering.max.messages": 2})
    producer.produce(topic_name, b"1")
    producer.produce(topic_name, b"2")
    with pytest.raises(BufferError):
        producer.produce(topic_name, b"3")
    producer.purge()
    assert producer.flush(5) == 0


@BOTH
def test_exception_in_delivery_callback_propagates_from_poll(mod, mock_cluster, topic_name):
    mock_cluster.create_topic(topic_name)

    def boom(err: Any, msg: Any) -> None:
        raise ZeroDivisionError("from callback")

    producer = mod.Producer({"bootstrap.servers": mock_cluster.bootstrap_servers})
    producer.produce(topic_name, b"x", on_delivery=boom)
    with pytest.raises(ZeroDivisionError):
        producer.flush(10)
    assert producer.flush(10) == 0


@BOTH
def test_produce_batch_queues_dicts(mod, mock_cluster, topic_name):
    mock_cluster.create_topic(topic_name)
    got: list[Any] = []
    producer = mod.Producer({"bootstrap.servers": mock_cluster.bootstrap_servers})
    messages = [{"value": b"a"}, {"value": "b", "key": b"k"}, {"value": b"c", "partition": 0}]
    assert producer.produce_batch(topic_name, messages, on_delivery=lambda e, m: got.append((e, m.value()))) == 3
    assert producer.flush(10) == 0
    assert sorted(v for _, v in got) == [b"a", b"b", b"c"]
    assert all(e is None for e, _ in got)


@BOTH
def test_a_message_refused_at_once_raises_from_produce_without_callback(mod, topic_name):
    got: list[Any] = []
    producer = mod.Producer({"bootstrap.servers": "127.0.0.1:1", "message.max.bytes": 1000})
    with pytest.raises(mod.KafkaException) as info:
        producer.produce(topic_name, b"x" * 10_000, on_delivery=lambda err, msg: got.append(err))
    assert info.value.args[0].code() == mod.KafkaError.MSG_SIZE_TOO_LARGE
    # The traceback holds this frame, which holds `info`: without the del, confluent-kafka's producer
    # (it has no close()) would live in that cycle until a collection, reconnecting to port 1.
    del info
    assert producer.flush(1) == 0
    assert got == []
    assert len(producer) == 0


@BOTH
def test_each_message_gets_its_callback_or_a_produce_exception_once(mod, topic_name):
    """Messages failing on ferrokafka's thread while the application is inside produce() are
    reported to their callback, not mistaken for messages refused at once."""
    producer = mod.Producer({"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 1, "linger.ms": 0})
    calls: list[bytes] = []
    raised = 0
    for i in range(500):
        try:
            producer.produce(topic_name, b"%d" % i, on_delivery=lambda err, msg: calls.append(msg.value()))
        except mod.KafkaException:
            raised += 1
        except BufferError:
            producer.poll(0.01)
            raised += 1
    assert producer.flush(10) == 0
    assert raised + len(calls) == 500
    assert len(set(calls)) == len(calls)


@BOTH
def test_config_shapes_confluent_kafka_accepts(mod):
    with pytest.raises(TypeError, match="expected configuration dict"):
        mod.Producer()
    # None leaves a property at its default; the deprecated default.topic.config still applies.
    producer = mod.Producer({"bootstrap.servers": None, "default.topic.config": {"message.timeout.ms": 100}})
    got: list[Any] = []
    producer.produce("t", b"x", on_delivery=lambda err, msg: got.append(err.code()))
    assert producer.flush(10) == 0
    assert got == [mod.KafkaError._MSG_TIMED_OUT]
