"""AdminClient on a real Apache Kafka broker (the mock cluster has no admin APIs).

Every operation is checked by reading the state back, where possible through confluent-kafka (an
independent client of the same broker) rather than through ferrokafka itself.
"""

from __future__ import annotations

import gc
import logging
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from types import MappingProxyType

import confluent_kafka
import pytest
from confluent_kafka.admin import AdminClient as ConfluentAdmin
from confluent_kafka.admin import ConfigResource, ResourceType

import ferrokafka as fk
from conftest import consumer_config, failure, produce_n, result

pytestmark = pytest.mark.broker

TIMEOUT = 30


def eventually(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Metadata propagates asynchronously in the broker: poll `check`, a bounded time."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout} s: {what}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def admin(kafka_bootstrap: str) -> Iterator[fk.AdminClient]:
    with fk.AdminClient({"bootstrap.servers": kafka_bootstrap}) as client:
        yield client


@pytest.fixture(scope="module")
def peer(kafka_bootstrap: str) -> ConfluentAdmin:
    """confluent-kafka's admin client: the independent witness."""
    return ConfluentAdmin({"bootstrap.servers": kafka_bootstrap})


def partition_count(peer: ConfluentAdmin, topic: str) -> int | None:
    """How many partitions confluent-kafka's metadata shows for `topic`; None if it is absent."""
    metadata = peer.list_topics(timeout=10)
    found = metadata.topics.get(topic)
    return None if found is None or found.error is not None else len(found.partitions)


def create_topic(admin: fk.AdminClient, peer: ConfluentAdmin, topic: fk.NewTopic) -> None:
    """Creates `topic` and waits until the broker's metadata shows it: KRaft acknowledges a creation
    once the controller committed it, and the broker applies it a moment later, until when other
    requests (DescribeConfigs, Produce, ...) may still answer UNKNOWN_TOPIC_OR_PART."""
    result(admin.create_topics([topic]))
    # -1 (NewTopic's default): the broker's num.partitions, 1 on the test broker.
    expected = topic.num_partitions if topic.num_partitions > 0 else 1
    eventually(lambda: partition_count(peer, topic.name) == expected, f"topic {topic.name} visible")


def peer_config(peer: ConfluentAdmin, restype: ResourceType, name: str) -> dict[str, str | None]:
    (future,) = peer.describe_configs([ConfigResource(restype, name)]).values()
    return {key: entry.value for key, entry in future.result(TIMEOUT).items()}


def watermarks(bootstrap: str, topic: str, partition: int) -> tuple[int, int]:
    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": f"w-{uuid.uuid4().hex}"})
    try:
        low, high = consumer.get_watermark_offsets(confluent_kafka.TopicPartition(topic, partition), timeout=10)
        return low, high
    finally:
        consumer.close()


def committed(bootstrap: str, group: str, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """The group's committed offsets as confluent-kafka reads them (OffsetFetch, no group join)."""
    consumer = confluent_kafka.Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False}
    )
    try:
        found = consumer.committed([confluent_kafka.TopicPartition(t, p) for t, p in partitions], timeout=10)
        return {(tp.topic, tp.partition): tp.offset for tp in found}
    finally:
        consumer.close()


# --- topics and partitions -----------------------------------------------------------------


def test_create_topics_creates_them_with_their_config(admin, peer, topic_name):
    plain, configured = f"{topic_name}-a", f"{topic_name}-b"
    future = admin.create_topics(
        [fk.NewTopic(plain), fk.NewTopic(configured, 3, 1, {"retention.ms": "123456"})], operation_timeout=20
    )
    assert isinstance(future, Future)
    assert result(future) is None
    eventually(
        lambda: partition_count(peer, plain) == 1 and partition_count(peer, configured) == 3,
        "both topics in the metadata with their partition counts",
    )
    assert peer_config(peer, ResourceType.TOPIC, configured)["retention.ms"] == "123456"


def test_creating_an_existing_topic_fails_and_names_it(admin, peer, topic_name):
    create_topic(admin, peer, fk.NewTopic(topic_name))
    fresh = f"{topic_name}-fresh"
    err = failure(admin.create_topics([fk.NewTopic(fresh, 2), fk.NewTopic(topic_name)]))
    assert err.name() == "TOPIC_ALREADY_EXISTS" and err.code() == 36
    assert not err.retriable() and not err.fatal()
    assert topic_name in str(err) and fresh not in str(err)
    # Not transactional: the other topic of the same call was created.
    eventually(lambda: partition_count(peer, fresh) == 2, "the other topic created")


def test_validate_only_checks_without_creating(admin, peer, topic_name):
    assert result(admin.create_topics([fk.NewTopic(topic_name, 2)], validate_only=True)) is None
    time.sleep(1)
    assert partition_count(peer, topic_name) is None, "validate_only created the topic"
    create_topic(admin, peer, fk.NewTopic(topic_name, 1))
    assert result(admin.create_partitions(topic_name, 3, validate_only=True)) is None
    time.sleep(1)
    assert partition_count(peer, topic_name) == 1, "validate_only grew the topic"
    # An invalid request is still refused.
    assert failure(admin.create_partitions(topic_name, 1, validate_only=True)).name() == "INVALID_PARTITIONS"


def test_create_partitions_grows_the_topic(admin, peer, topic_name):
    create_topic(admin, peer, fk.NewTopic(topic_name, 1))
    assert result(admin.create_partitions(topic_name, 3, operation_timeout=20)) is None
    eventually(lambda: partition_count(peer, topic_name) == 3, "3 partitions in the metadata")
    err = failure(admin.create_partitions(topic_name, 2))
    assert err.name() == "INVALID_PARTITIONS" and topic_name in str(err)
    assert partition_count(peer, topic_name) == 3


def test_replica_assignment_places_each_partition_s_replicas(admin, peer, topic_name):
    create_topic(admin, peer, fk.NewTopic(topic_name, 2, replica_assignment=[[1], [1]]))
    assert result(admin.create_partitions(topic_name, 3, replica_assignment=[[1]])) is None
    eventually(lambda: partition_count(peer, topic_name) == 3, "3 partitions in the metadata")
    partitions = peer.list_topics(topic_name, timeout=10).topics[topic_name].partitions
    assert {p: partitions[p].replicas for p in partitions} == {0: [1], 1: [1], 2: [1]}
    err = failure(admin.create_partitions(topic_name, 4, replica_assignment=[[99]]))
    assert err.name() == "INVALID_REPLICA_ASSIGNMENT"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: fk.NewTopic("t", 2, 1, replica_assignment=[[1], [1]]), "mutually exclusive"),
        (lambda: fk.NewTopic("t", 3, replica_assignment=[[1], [1]]), "outer size of num_partitions"),
        (lambda: fk.NewTopic("t", 1, replica_assignment=[[]]), "outer size of num_partitions"),
    ],
)
def test_new_topic_refuses_a_malformed_replica_assignment(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_create_partitions_refuses_a_malformed_replica_assignment(admin):
    for assignment in ([], [[1], [1], [1]], [[1], []]):
        with pytest.raises(ValueError, match="outer size of new_total_count"):
            admin.create_partitions("t", 2, replica_assignment=assignment)


def test_delete_topics_removes_them(admin, peer, topic_name):
    create_topic(admin, peer, fk.NewTopic(topic_name))
    assert result(admin.delete_topics([topic_name], operation_timeout=20)) is None
    eventually(lambda: partition_count(peer, topic_name) is None, "the topic gone from the metadata")
    err = failure(admin.delete_topics([topic_name]))
    assert err.name() == "UNKNOWN_TOPIC_OR_PART" and topic_name in str(err)


# --- configs ---------------------------------------------------------------------------------


def test_describe_configs_of_a_topic_and_a_broker_match_confluent(admin, peer, topic_name):
    create_topic(admin, peer, fk.NewTopic(topic_name, config={"retention.ms": "7654321"}))
    config = result(admin.describe_configs("topic", topic_name))
    assert config["retention.ms"] == "7654321"
    expected = {k: v for k, v in peer_config(peer, ResourceType.TOPIC, topic_name).items() if v is not None}
    assert config == expected

    broker_id = str(next(iter(peer.list_topics(timeout=10).brokers)))
    config = result(admin.describe_configs("broker", broker_id))
    expected = {k: v for k, v in peer_config(peer, ResourceType.BROKER, broker_id).items() if v is not None}
    assert config == expected and "num.partitions" in config


def test_describe_configs_of_a_missing_topic_fails(admin, topic_name):
    err = failure(admin.describe_configs("topic", f"{topic_name}-missing"))
    assert err.name() == "UNKNOWN_TOPIC_OR_PART" and f"{topic_name}-missing" in str(err)


def test_alter_configs_is_incremental_and_none_reverts(admin, peer, topic_name):
    created = {"retention.ms": "123456", "retention.bytes": "7777777"}
    create_topic(admin, peer, fk.NewTopic(topic_name, config=created))
    # Any Mapping will do, not only a dict.
    assert result(admin.alter_configs("topic", topic_name, MappingProxyType({"retention.ms": "654321"}))) is None
    # The controller acknowledged the change; the broker applies it a moment later.
    eventually(
        lambda: peer_config(peer, ResourceType.TOPIC, topic_name)["retention.ms"] == "654321",
        "the new retention.ms visible to confluent-kafka",
    )
    config = result(admin.describe_configs("topic", topic_name))
    assert config["retention.ms"] == "654321"
    assert config["retention.bytes"] == "7777777"  # not named, so kept (not reset to its default)

    result(admin.alter_configs("topic", topic_name, {"retention.bytes": None}))
    eventually(
        lambda: result(admin.describe_configs("topic", topic_name))["retention.bytes"] == "-1",
        "retention.bytes back to its default, -1",
    )


def test_alter_configs_with_an_invalid_value_fails_with_the_brokers_reason(admin, peer, topic_name):
    create_topic(admin, peer, fk.NewTopic(topic_name))
    err = failure(admin.alter_configs("topic", topic_name, {"retention.ms": "soon"}))
    assert err.name() == "INVALID_CONFIG"
    assert "retention.ms" in str(err) and topic_name in str(err)


# --- offsets and records ---------------------------------------------------------------------


def test_list_offsets_and_delete_records(admin, peer, kafka_bootstrap, topic_name):
    create_topic(admin, peer, fk.NewTopic(topic_name, 2))
    produce_n(kafka_bootstrap, topic_name, 10, partition=0)
    partitions = [fk.TopicPartition(topic_name, 1), fk.TopicPartition(topic_name, 0)]
    latest = result(admin.list_offsets(partitions))
    assert latest == [fk.TopicPartition(topic_name, 0, 10), fk.TopicPartition(topic_name, 1, 0)]
    assert result(admin.list_offsets(partitions, "earliest")) == [
        fk.TopicPartition(topic_name, 0, 0),
        fk.TopicPartition(topic_name, 1, 0),
    ]

    assert result(admin.delete_records([fk.TopicPartition(topic_name, 0, 4)])) is None
    assert watermarks(kafka_bootstrap, topic_name, 0) == (4, 10)
    assert result(admin.list_offsets(partitions[1:], "earliest")) == [fk.TopicPartition(topic_name, 0, 4)]

    result(admin.delete_records([fk.TopicPartition(topic_name, 0, fk.OFFSET_END)]))
    assert watermarks(kafka_bootstrap, topic_name, 0) == (10, 10)
    err = failure(admin.delete_records([fk.TopicPartition(topic_name, 0, 11)]))
    assert err.name() == "OFFSET_OUT_OF_RANGE" and topic_name in str(err)


# Rounds of the call-order test: on main before the admin client sent each request from a thread
# of its own, about one pair in ten came back out of order on the test broker.
ORDER_ROUNDS = 20


def test_requests_reach_the_broker_in_call_order(admin, peer, kafka_bootstrap, topic_name):
    """delete_records then list_offsets, the second sent before the first was answered (as
    confluent-kafka's own test_delete_records does): the listing sees the deletion. Each request
    goes to librdkafka on the calling thread, in call order (confluent-kafka's guarantee too);
    sent from a thread per call, the listing could overtake the deletion."""
    create_topic(admin, peer, fk.NewTopic(topic_name, 1))
    produce_n(kafka_bootstrap, topic_name, ORDER_ROUNDS + 1, partition=0)
    earliest = [fk.TopicPartition(topic_name, 0)]
    out_of_order = []
    for offset in range(1, ORDER_ROUNDS + 1):
        deleted = admin.delete_records([fk.TopicPartition(topic_name, 0, offset)])
        listed = admin.list_offsets(earliest, "earliest")
        assert result(deleted) is None
        (found,) = result(listed)
        if found.offset != offset:
            out_of_order.append((offset, found.offset))
    assert out_of_order == [], "(deleted before, earliest listed) of the pairs listed before their deletion"


def test_a_done_callback_may_wait_for_another_admin_call(admin):
    """A future's done-callback that makes another admin call and waits for its result gets it:
    the futures are resolved off the thread that reads the results (resolved on it, the inner call
    would wait for that very thread and time out)."""
    inner: list[object] = []

    def on_done(_: Future) -> None:
        try:
            inner.append(admin.describe_cluster().result(5).cluster_id is not None)
        except BaseException as err:  # noqa: BLE001 (the outcome is what the test checks)
            inner.append(err)

    outer = admin.describe_cluster()
    outer.add_done_callback(on_done)
    result(outer)
    deadline = time.monotonic() + 10
    while not inner and time.monotonic() < deadline:
        time.sleep(0.05)
    assert inner == [True]


# --- consumer groups -------------------------------------------------------------------------


def test_group_lifecycle(admin, peer, kafka_bootstrap, topic_name, group_id):
    create_topic(admin, peer, fk.NewTopic(topic_name, 2))
    produce_n(kafka_bootstrap, topic_name, 6, partition=0)
    produce_n(kafka_bootstrap, topic_name, 4, partition=1)
    config = consumer_config(kafka_bootstrap, group_id, **{"enable.auto.commit": False, "client.id": "admin-test"})
    with fk.Consumer(config) as consumer:
        consumer.subscribe([topic_name])
        for count, msg in enumerate(consumer, 1):  # noqa: B007 (released after the loop)
            if count == 10:
                consumer.commit(asynchronous=False)
                break
        msg.release()

        # While a member is active:
        assert group_id in result(admin.list_groups())
        (description,) = result(admin.describe_groups([group_id])).values()
        assert description["state"] == "Stable" and description["type"] == "Classic"
        assert description["protocol"]  # the assignor librdkafka chose
        (member,) = description["members"]
        assert member["client_id"] == "admin-test" and member["member_id"].startswith("admin-test-")
        err = failure(admin.delete_groups([group_id]))
        assert err.name() == "NON_EMPTY_GROUP" and group_id in str(err)
        err = failure(admin.alter_consumer_group_offsets(group_id, [fk.TopicPartition(topic_name, 0, 1)]))
        assert err.name() == "UNKNOWN_MEMBER_ID"

    assert result(admin.describe_groups([group_id]))[group_id]["state"] == "Empty"
    offsets = result(admin.list_consumer_group_offsets(group_id))
    assert offsets == [fk.TopicPartition(topic_name, 0, 6), fk.TopicPartition(topic_name, 1, 4)]
    some = result(admin.list_consumer_group_offsets(group_id, [fk.TopicPartition(topic_name, 1)]))
    assert some == [fk.TopicPartition(topic_name, 1, 4)]

    new = [fk.TopicPartition(topic_name, 0, 2), fk.TopicPartition(topic_name, 1, 3)]
    assert result(admin.alter_consumer_group_offsets(group_id, new)) is None
    assert result(admin.list_consumer_group_offsets(group_id)) == new
    assert committed(kafka_bootstrap, group_id, [(topic_name, 0), (topic_name, 1)]) == {
        (topic_name, 0): 2,
        (topic_name, 1): 3,
    }

    assert result(admin.delete_groups([group_id])) is None
    assert group_id not in result(admin.list_groups())
    assert committed(kafka_bootstrap, group_id, [(topic_name, 0)])[(topic_name, 0)] < 0  # no offset left
    err = failure(admin.delete_groups([group_id]))
    assert err.name() == "GROUP_ID_NOT_FOUND"


def test_offsets_of_an_unknown_group_or_partition(admin, topic_name, group_id):
    assert result(admin.list_consumer_group_offsets(group_id)) == []
    assert result(admin.list_consumer_group_offsets(group_id, [fk.TopicPartition(topic_name, 0)])) == [
        fk.TopicPartition(topic_name, 0, fk.OFFSET_INVALID)
    ]
    assert result(admin.describe_groups([group_id]))[group_id] == {
        "state": "Dead",
        "type": "Classic",
        "protocol": "",
        "members": [],
    }


# --- lifecycle and arguments -----------------------------------------------------------------


def test_closed_admin_client_raises_error(kafka_bootstrap):
    with fk.AdminClient({"bootstrap.servers": kafka_bootstrap}) as admin:
        assert not admin.closed
        pending = admin.list_groups()
    assert admin.closed
    admin.close()  # idempotent
    assert isinstance(result(pending), list)  # calls made before close() still complete
    calls: list[Callable[[], object]] = [
        admin.list_groups,
        lambda: admin.create_topics([fk.NewTopic("t")]),
        lambda: admin.delete_topics(["t"]),
        lambda: admin.describe_configs("topic", "t"),
        lambda: admin.list_offsets([fk.TopicPartition("t", 0)]),
    ]
    for call in calls:
        with pytest.raises(fk.Error, match="admin client is closed") as info:
            call()
        assert type(info.value) is fk.Error


def test_unreachable_cluster_times_out_with_a_retriable_error():
    config: dict[str, str | int] = {"bootstrap.servers": "127.0.0.1:9", "socket.timeout.ms": 1000}
    with fk.AdminClient(config) as admin:
        for future in (admin.list_groups(), admin.create_topics([fk.NewTopic("t")])):
            err = failure(future)
            assert err.name() == "_TIMED_OUT" and err.retriable()


def test_admin_client_not_closed_warns():
    admin = fk.AdminClient({"bootstrap.servers": "127.0.0.1:9"})
    with pytest.warns(ResourceWarning, match="AdminClient was not closed"):
        del admin
        gc.collect()


def test_invalid_arguments_raise_at_once():
    with pytest.raises(ValueError):
        fk.NewTopic("")
    with pytest.raises(ValueError):
        fk.NewTopic("t", num_partitions=0)
    with pytest.raises(ValueError):
        fk.NewTopic("t", replication_factor=0)
    with pytest.raises(ValueError):
        fk.NewTopic("t", config={"a\0": "b"})
    with pytest.raises(TypeError):
        fk.NewTopic("t", config={"retention.ms": 1})  # type: ignore[dict-item]
    topic = fk.NewTopic("t", 3, -1, {"retention.ms": "1"})
    assert (topic.name, topic.num_partitions, topic.replication_factor, topic.config) == (
        "t",
        3,
        -1,
        {"retention.ms": "1"},
    )

    with fk.AdminClient({"bootstrap.servers": "127.0.0.1:9"}) as admin:
        with pytest.raises(ValueError):
            admin.create_topics([])
        with pytest.raises(TypeError):
            admin.create_topics(["t"])  # type: ignore[list-item]
        with pytest.raises(ValueError):
            admin.create_topics([topic], operation_timeout=-1)
        with pytest.raises(ValueError):
            admin.delete_topics(["a\0b"])
        with pytest.raises(ValueError):
            admin.create_partitions("t", 0)
        with pytest.raises(ValueError):
            admin.describe_configs("group", "g")  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            admin.describe_configs("broker", "one")
        with pytest.raises(ValueError):
            admin.alter_configs("topic", "t", {})
        with pytest.raises(ValueError):
            admin.list_offsets([fk.TopicPartition("t", 0)], "middle")  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            admin.delete_records([fk.TopicPartition("a\0b", 0, 1)])
        with pytest.raises(ValueError):
            admin.list_consumer_group_offsets("g", [])
        with pytest.raises(ValueError):
            admin.describe_groups([""])


def test_error_cb_and_logger_hear_the_admin_client_s_own_errors():
    """An admin client's librdkafka errors (a refused connection here; a failed TLS handshake or
    authentication elsewhere) reach error_cb within moments, once each, with librdkafka's reason,
    and its logs reach the logger: nothing piles up unserved in the client."""
    seen: list[tuple[float, str]] = []
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("ferrokafka.test-admin-events")
    logger.addHandler(Collect())
    logger.propagate = False
    started = time.monotonic()
    config = {
        "bootstrap.servers": "127.0.0.1:1",
        "error_cb": lambda err: seen.append((time.monotonic(), str(err))),
        "logger": logger,
        "reconnect.backoff.ms": 300,
        "reconnect.backoff.max.ms": 300,
    }
    with fk.AdminClient(config):
        deadline = time.monotonic() + 10
        while len(seen) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(seen) >= 2, seen
    assert seen[0][0] - started < 1.5, f"first error after {seen[0][0] - started:.1f} s"
    assert all("127.0.0.1:1" in message and "Connection refused" in message for _, message in seen), seen
    for (t1, first), (t2, second) in zip(seen, seen[1:], strict=False):
        assert not (first == second and t2 - t1 < 0.05), f"reported twice: {first}"
    assert any("Connection refused" in r.getMessage() for r in records), [r.getMessage() for r in records]


def test_a_timed_out_admin_request_says_why():
    admin = fk.AdminClient({"bootstrap.servers": "127.0.0.1:1", "socket.timeout.ms": 1500})
    try:
        error = admin.describe_configs("topic", "t").exception(15)
    finally:
        admin.close()
    assert isinstance(error, fk.KafkaError) and error.name() == "_TIMED_OUT", error
    assert "last client error" in str(error) and "Connection refused" in str(error), error


def test_offsets_of_a_group_whose_coordinator_moved_fail_without_a_crash():
    """librdkafka#5040: a ListConsumerGroupOffsets answer "not coordinator" made librdkafka ask the
    admin client's (missing) consumer group to look again, dereferencing NULL: the process died
    (SIGSEGV). ferrokafka guards that call (src/librdkafka_fixes.rs); the future now fails with the
    broker's retriable error. In a subprocess: without the guard this is a crash."""
    script = textwrap.dedent(
        """
        import ferrokafka as fk
        with fk.MockCluster(num_brokers=1) as cluster:
            cluster.create_topic("t", partitions=1)
            with fk.AdminClient({"bootstrap.servers": cluster.bootstrap_servers}) as admin:
                for code in (fk.KafkaError.NOT_COORDINATOR, fk.KafkaError.COORDINATOR_LOAD_IN_PROGRESS):
                    cluster.inject_request_errors(9, [code] * 3)  # 9: OffsetFetch
                    future = admin.list_consumer_group_offsets("g", [fk.TopicPartition("t", 0)])
                    try:
                        print("result", future.result(30))
                    except fk.KafkaError as error:
                        print("error", error.name(), error.retriable())
                    cluster.clear_request_errors(9)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-2000:]}"
    lines = result.stdout.splitlines()
    assert lines == ["error NOT_COORDINATOR True", "error COORDINATOR_LOAD_IN_PROGRESS True"], lines
