"""A client called back from its own callbacks either works or raises a clear Error at once:
never waits for itself (docs/concepts.md, "Where callbacks run")."""

from __future__ import annotations

import threading
import time

import pytest

import ferrokafka as fk
from conftest import consumer_config, produce_n


@pytest.mark.parametrize("call", ["flush", "close"])
def test_producer_blocking_call_from_on_delivery_raises_at_once(mock_cluster, topic_name, call):
    outcome: list[BaseException | None] = []
    producer = fk.Producer({"bootstrap.servers": mock_cluster.bootstrap_servers})

    def on_delivery(error: object, report: object) -> None:
        started = time.monotonic()
        try:
            getattr(producer, call)(None)
            outcome.append(None)
        except fk.Error as err:
            outcome.append(err)
        assert time.monotonic() - started < 1

    producer.produce(topic_name, b"x", on_delivery=on_delivery)
    assert producer.flush(10) == 0
    assert len(outcome) == 1 and isinstance(outcome[0], fk.Error) and "callback" in str(outcome[0])
    producer.close(10)


def test_producer_flush_from_a_done_callback_raises_at_once(mock_cluster, topic_name):
    producer = fk.Producer({"bootstrap.servers": mock_cluster.bootstrap_servers})
    errors: list[BaseException] = []
    done = threading.Event()

    def callback(future: object) -> None:
        try:
            producer.flush(None)
        except fk.Error as err:
            errors.append(err)
        done.set()

    producer.produce(topic_name, b"x").add_done_callback(callback)
    assert done.wait(10) and len(errors) == 1
    producer.close(10)


@pytest.mark.parametrize("where", ["on_revoke", "on_assign"])
def test_consumer_close_from_rebalance_callback_raises_at_once(mock_cluster, topic_name, group_id, where):
    produce_n(mock_cluster.bootstrap_servers, topic_name, 5)
    errors: list[BaseException] = []

    def callback(consumer: fk.Consumer, partitions: list[fk.TopicPartition]) -> None:
        started = time.monotonic()
        try:
            consumer.close()
        except fk.Error as err:
            errors.append(err)
        assert time.monotonic() - started < 1

    consumer = fk.Consumer(consumer_config(mock_cluster.bootstrap_servers, group_id))
    consumer.subscribe([topic_name], **{where: callback})
    deadline = time.monotonic() + 15
    while not consumer.assignment() and time.monotonic() < deadline:
        msg = consumer.poll(0.1)
        if msg is not None:
            msg.release()
    if where == "on_revoke":
        consumer.unsubscribe()
        while consumer.assignment() and time.monotonic() < deadline:
            consumer.poll(0.1)
    assert len(errors) == 1 and "rebalance callback" in str(errors[0])
    started = time.monotonic()
    consumer.close()
    assert time.monotonic() - started < 10 and consumer.closed


def test_replaced_rebalance_callbacks_may_call_back_when_collected(mock_cluster, topic_name, group_id):
    """The old callbacks are dropped outside the consumer's lock: a finaliser that subscribes again
    does not deadlock."""
    consumer = fk.Consumer(consumer_config(mock_cluster.bootstrap_servers, group_id))

    class Callback:
        def __call__(self, consumer: fk.Consumer, partitions: list[fk.TopicPartition]) -> None:
            pass

        def __del__(self) -> None:
            consumer.subscribe([topic_name])

    consumer.subscribe([topic_name], on_assign=Callback())
    finished = threading.Event()

    def replace() -> None:
        consumer.subscribe([topic_name], on_assign=lambda c, p: None)
        finished.set()

    thread = threading.Thread(target=replace, daemon=True)
    thread.start()
    assert finished.wait(5), "subscribe() deadlocked on the finaliser of the callbacks it replaced"
    consumer.close()
