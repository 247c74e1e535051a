"""ferrokafka.confluent's Consumer in a group: on_assign setting offsets, and what poll() returns and
when on_revoke runs once the consumer has been away past max.poll.interval.ms, in librdkafka's
order, as confluent-kafka (installed in the test environment) does. On the mock cluster and the
real broker."""

from __future__ import annotations

import time
from typing import Any

import pytest

import ferrokafka as fk
from dropin_helpers import BOTH, ck_admin

pytestmark = pytest.mark.timeout(120)


@BOTH
def test_on_assign_can_set_offsets_with_mutable_topic_partitions(mod, mock_cluster, topic_name, group_id):
    mock_cluster.create_topic(topic_name)
    bootstrap = mock_cluster.bootstrap_servers
    with fk.Producer({"bootstrap.servers": bootstrap}) as producer:
        for i in range(5):
            producer.produce(topic_name, b"%d" % i)
        producer.flush(10)
    assigned: list[Any] = []

    def on_assign(consumer: Any, partitions: list[Any]) -> None:
        assigned.append(consumer)
        for tp in partitions:
            tp.offset = 3
        consumer.assign(partitions)

    consumer = mod.Consumer({"bootstrap.servers": bootstrap, "group.id": group_id, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic_name], on_assign=on_assign)
    msg = consumer.poll(10)
    consumer.close()
    assert assigned == [consumer]
    assert msg is not None and msg.error() is None
    assert (msg.offset(), msg.value()) == (3, b"3")


@pytest.mark.broker
@BOTH
def test_max_poll_exceeded_comes_before_the_messages_of_the_rejoin(mod, kafka_bootstrap, topic_name):
    """Past max.poll.interval.ms the consumer leaves the group; the next poll() gives the
    _MAX_POLL_EXCEEDED event first and the message fetched again after the rejoin only after it,
    in librdkafka's queue order (confluent's integration test_cooperative_rebalance_1). The
    drop-in returned the message first when both came in one poll."""
    admin = ck_admin.AdminClient({"bootstrap.servers": kafka_bootstrap})
    admin.create_topics([ck_admin.NewTopic(topic_name, 1, 1)])[topic_name].result(10)
    with fk.Producer({"bootstrap.servers": kafka_bootstrap}) as producer:
        producer.produce(topic_name, b"a").result(10)
    consumer = mod.Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": f"maxpoll-{topic_name}",
            "partition.assignment.strategy": "cooperative-sticky",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "heartbeat.interval.ms": 2000,
            "session.timeout.ms": 6000,
            "max.poll.interval.ms": 6500,
        }
    )
    try:
        consumer.subscribe([topic_name])
        first = consumer.poll(15)
        assert first is not None and first.value() == b"a"
        assert consumer.poll(1) is None
        time.sleep(8)
        seen = []
        for _ in range(3):
            message = consumer.poll(10)
            if message is None:
                break
            seen.append(message.error().code() if message.error() else message.value())
        assert seen[:2] == [mod.KafkaError._MAX_POLL_EXCEEDED, b"a"]
    finally:
        consumer.close()


@BOTH
def test_partitions_lost_past_max_poll_interval_reach_on_revoke_at_the_poll_after_the_error(mod, backend, topic_name):
    """librdkafka queues _MAX_POLL_EXCEEDED and then the lost partitions' rebalance: poll()
    returns the error event, and on_revoke (no on_lost given) runs in the next poll(), not in
    the same one (confluent's integration test_cooperative_rebalance_2). The drop-in ran it in the
    poll that returned the error. The group is the broker's (or the mock's) to end."""
    backend.create_topic(topic_name)
    with fk.Producer({"bootstrap.servers": backend.bootstrap}) as producer:
        producer.produce(topic_name, b"a").result(10)
    # the broker's minimum session timeout is 6 s (confluent's test's settings); the mock's none
    session, max_poll, past = (6000, 6500, 8.0) if backend.name == "kafka" else (1000, 1500, 3.0)
    revoked: list[int] = []
    assigned: list[int] = []
    consumer = mod.Consumer(
        {
            "bootstrap.servers": backend.bootstrap,
            "group.id": f"lost-{topic_name}",
            "partition.assignment.strategy": "cooperative-sticky",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "heartbeat.interval.ms": min(2000, session // 3),
            "session.timeout.ms": session,
            "max.poll.interval.ms": max_poll,
        }
    )
    try:
        consumer.subscribe(
            [topic_name],
            on_assign=lambda _c, partitions: assigned.append(len(partitions)),
            on_revoke=lambda _c, partitions: revoked.append(len(partitions)),
        )
        first = consumer.poll(15)
        assert first is not None and first.value() == b"a" and assigned == [1]
        time.sleep(past)
        event = consumer.poll(1)
        assert event is not None and event.error() is not None
        assert event.error().code() == mod.KafkaError._MAX_POLL_EXCEEDED
        assert revoked == [], "on_revoke ran in the poll that returned _MAX_POLL_EXCEEDED"
        consumer.poll(1)
        assert revoked == [1]
    finally:
        consumer.close()
