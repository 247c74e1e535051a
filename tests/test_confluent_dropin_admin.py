"""ferrokafka.confluent.admin's AdminClient: futures per topic, replica assignments (placed by the
real broker, malformed ones refused at once), requests that time out, and a closed client's errors,
each as confluent-kafka's (installed in the test environment)."""

from __future__ import annotations

import time

import pytest

from dropin_helpers import BOTH_ADMIN, ck_admin
from ferrokafka.confluent import admin as fc_admin

pytestmark = pytest.mark.timeout(120)


@pytest.mark.broker
@BOTH_ADMIN
def test_admin_returns_futures_per_topic(admin_mod, kafka_bootstrap, topic_name):
    client = admin_mod.AdminClient({"bootstrap.servers": kafka_bootstrap})
    futures = client.create_topics([admin_mod.NewTopic(topic_name, 2, 1)], operation_timeout=10)
    assert list(futures) == [topic_name]
    assert futures[topic_name].result(10) is None
    metadata = client.list_topics(timeout=10)
    assert len(metadata.topics[topic_name].partitions) == 2
    again = client.create_topics([admin_mod.NewTopic(topic_name, 2, 1)])
    with pytest.raises(Exception) as info:
        again[topic_name].result(10)
    assert info.value.args[0].code() == 36  # TOPIC_ALREADY_EXISTS


@pytest.mark.broker
@BOTH_ADMIN
def test_admin_replica_assignment_places_the_replicas(admin_mod, kafka_bootstrap, topic_name):
    """create_topics() and create_partitions() with a replica_assignment: the broker puts each
    partition's replicas where it says; a broker that does not exist fails the topic's future."""
    client = admin_mod.AdminClient({"bootstrap.servers": kafka_bootstrap})
    created = client.create_topics([admin_mod.NewTopic(topic_name, 2, replica_assignment=[[1], [1]])])
    assert created[topic_name].result(10) is None
    grown = client.create_partitions([admin_mod.NewPartitions(topic_name, 3, replica_assignment=[[1]])])
    assert grown[topic_name].result(10) is None
    deadline = time.monotonic() + 10
    while True:  # the metadata shows the new partition a moment after the request succeeded
        partitions = client.list_topics(topic_name, timeout=10).topics[topic_name].partitions
        if len(partitions) == 3 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert sorted((p, partitions[p].replicas) for p in partitions) == [(0, [1]), (1, [1]), (2, [1])]
    nowhere = client.create_partitions([admin_mod.NewPartitions(topic_name, 4, replica_assignment=[[99]])])
    with pytest.raises(Exception) as info:
        nowhere[topic_name].result(10)
    assert info.value.args[0].name() == "INVALID_REPLICA_ASSIGNMENT"


@pytest.mark.parametrize(
    "request_",
    [
        "create_topics([NewTopic('t', 2, 1, replica_assignment=[[1], [2]])])",
        "create_topics([NewTopic('t', 3, replica_assignment=[[1], [2]])])",
        "create_topics([NewTopic('t', replica_assignment=[[1], [2]])])",
        "create_topics([NewTopic('t', 2, replica_assignment=[[1], []])])",
        "create_topics([NewTopic('t', 2, replica_assignment=[[1], ['a']])])",
        "create_topics([NewTopic('t', 1, replica_assignment='x')])",
        "create_topics([NewTopic('ok', 1), NewTopic('t', 1, replica_assignment=[[]])])",
        "create_partitions([NewPartitions('t', 2, replica_assignment=[[1], [2], [3]])])",
        "create_partitions([NewPartitions('t', 2, replica_assignment=[])])",
        "create_partitions([NewPartitions('t', 2, replica_assignment=[[1], 2])])",
    ],
)
def test_admin_refuses_a_malformed_replica_assignment_at_once(request_):
    """A malformed replica assignment raises ValueError from the call itself, with confluent-kafka's
    message, before any request is sent (also for the good topics before it)."""
    messages = []
    for mod in (ck_admin, fc_admin):
        client = mod.AdminClient({"bootstrap.servers": "127.0.0.1:1"})
        names = {"NewTopic": mod.NewTopic, "NewPartitions": mod.NewPartitions, "client": client}
        with pytest.raises(ValueError) as info:
            eval("client." + request_, names)
        messages.append(str(info.value))
    assert messages[1] == messages[0]


@BOTH_ADMIN
def test_admin_after_close_raises_confluent_kafka_s_errors(admin_mod):
    with admin_mod.AdminClient({"bootstrap.servers": "127.0.0.1:1", "stats_cb": lambda s: None}) as client:
        pass
    with pytest.raises(RuntimeError, match="AdminClient has been closed"):
        client.create_topics([admin_mod.NewTopic("t", 1, 1)])
    with pytest.raises(RuntimeError, match="Handle has been closed"):
        client.list_topics(timeout=0.1)
    with pytest.raises(RuntimeError, match="Handle has been closed"):
        client.list_groups(timeout=0.1)


@BOTH_ADMIN
def test_admin_futures_fail_with_the_request_s_own_error(admin_mod):
    """A request that times out fails its futures with KafkaException(KafkaError(_TIMED_OUT)): the
    error itself, not wrapped in a second KafkaError."""
    with admin_mod.AdminClient({"bootstrap.servers": "127.0.0.1:1", "socket.timeout.ms": 10}) as client:
        futures = client.delete_topics(["a", "b"], request_timeout=0.3, operation_timeout=30)
        for future in futures.values():
            error = future.exception(timeout=10)
            assert type(error) is admin_mod.KafkaException
            assert error.args[0].code() == admin_mod.KafkaError._TIMED_OUT
            assert not error.args[0].str().startswith("KafkaError{")
