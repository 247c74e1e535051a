"""The admin calls and result shapes of confluent-kafka that migrating code needs, on a real broker:
describe_cluster, describe_topics, list_consumer_groups (states, types), describe_configs with
ConfigEntry, list_offsets with OffsetSpec, ACLs, SCRAM users, elect_leaders. Where possible the
answers are checked against confluent-kafka, an independent client of the same broker."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from confluent_kafka.admin import AclOperation as ConfluentAclOperation
from confluent_kafka.admin import AdminClient as ConfluentAdmin
from confluent_kafka.admin import ResourceType as ConfluentResourceType

import ferrokafka as fk
from conftest import consumer_config, failure, result

TIMEOUT = 30


def wait_for(condition: Any, what: str, timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def admin(kafka_bootstrap: str) -> Any:
    with fk.AdminClient({"bootstrap.servers": kafka_bootstrap}) as client:
        yield client


def create_topic(admin: fk.AdminClient, name: str, partitions: int = 1, config: dict[str, str] | None = None) -> None:
    result(admin.create_topics([fk.NewTopic(name, partitions, 1, config or {})]))
    wait_for(lambda: _described(admin, name), f"topic {name} to be visible")


def _described(admin: fk.AdminClient, name: str) -> bool:
    try:
        return name in admin.describe_topics([name]).result(TIMEOUT)
    except fk.KafkaError:
        return False


# --- describe_cluster, describe_topics --------------------------------------------------------


@pytest.mark.broker
def test_describe_cluster_matches_confluent(admin, kafka_bootstrap) -> None:  # type: ignore[no-untyped-def]
    cluster = result(admin.describe_cluster())
    confluent = ConfluentAdmin({"bootstrap.servers": kafka_bootstrap})  # alive until its answer
    theirs = confluent.describe_cluster().result(TIMEOUT)
    assert cluster.cluster_id == theirs.cluster_id
    assert [(n.id, n.host, n.port, n.rack) for n in cluster.nodes] == [
        (n.id, n.host, n.port, n.rack) for n in theirs.nodes
    ]
    assert cluster.controller is not None and cluster.controller.id == theirs.controller.id
    assert cluster.controller == cluster.nodes[0] and cluster.nodes[0].id_string == str(cluster.nodes[0].id)
    assert cluster.authorized_operations is None
    assert "DescribeClusterResult(" in repr(cluster)


@pytest.mark.broker
def test_describe_topics_matches_confluent(admin, kafka_bootstrap, topic_name) -> None:  # type: ignore[no-untyped-def]
    from confluent_kafka import TopicCollection

    create_topic(admin, topic_name, 3)
    described = result(admin.describe_topics([topic_name]))
    topic = described[topic_name]
    confluent = ConfluentAdmin({"bootstrap.servers": kafka_bootstrap})
    theirs = confluent.describe_topics(TopicCollection([topic_name]))[topic_name].result(TIMEOUT)
    assert (topic.name, topic.topic_id, topic.is_internal) == (theirs.name, str(theirs.topic_id), theirs.is_internal)
    assert [p.id for p in topic.partitions] == [0, 1, 2]
    for ours, their in zip(topic.partitions, sorted(theirs.partitions, key=lambda p: p.id), strict=True):
        assert ours.leader is not None and ours.leader.id == their.leader.id
        assert [n.id for n in ours.replicas] == [n.id for n in their.replicas]
        assert [n.id for n in ours.isr] == [n.id for n in their.isr]
    assert topic.authorized_operations is None
    # confluent-kafka's TopicCollection works as the argument too
    assert list(result(admin.describe_topics(TopicCollection([topic_name])))) == [topic_name]
    missing = failure(admin.describe_topics([topic_name, f"missing-{uuid.uuid4().hex}"]))
    assert missing.code() == fk.KafkaError.UNKNOWN_TOPIC_OR_PART and "missing-" in str(missing)


@pytest.mark.broker
def test_authorized_operations_with_an_authorizer(secure_broker, topic_name) -> None:  # type: ignore[no-untyped-def]
    with fk.AdminClient({"bootstrap.servers": secure_broker.address("PLAINTEXT")}) as admin:
        create_topic(admin, topic_name)
        cluster = result(admin.describe_cluster(include_authorized_operations=True))
        assert cluster.authorized_operations is not None and "DESCRIBE" in cluster.authorized_operations
        topic = result(admin.describe_topics([topic_name], include_authorized_operations=True))[topic_name]
        assert topic.authorized_operations is not None
        assert {"READ", "WRITE", "DESCRIBE"} <= set(topic.authorized_operations)


# --- list_consumer_groups ---------------------------------------------------------------------


@pytest.mark.broker
def test_list_consumer_groups_with_states_and_types(admin, kafka_bootstrap, topic_name, group_id) -> None:  # type: ignore[no-untyped-def]
    create_topic(admin, topic_name)
    simple_group = f"{group_id}-simple"
    with fk.Consumer(consumer_config(kafka_bootstrap, simple_group)) as simple:
        simple.commit(offsets=[fk.TopicPartition(topic_name, 0, 0)], asynchronous=False)
    with fk.Consumer(consumer_config(kafka_bootstrap, group_id)) as consumer:
        consumer.subscribe([topic_name])
        wait_for(lambda: consumer.poll(0.2) is None and consumer.assignment(), "an assignment")

        def listed(**filters: Any) -> dict[str, fk.ConsumerGroupListing]:
            answer = result(admin.list_consumer_groups(**filters))
            assert answer.errors == []
            return {g.group_id: g for g in answer.valid}

        everything = listed()
        ours = everything[group_id]
        assert (ours.state, ours.type, ours.is_simple_consumer_group) == ("STABLE", "CLASSIC", False)
        assert everything[simple_group].state == "EMPTY"
        assert everything[simple_group].is_simple_consumer_group
        assert group_id in listed(states=["STABLE"]) and group_id not in listed(states={"EMPTY"})
        assert simple_group in listed(states=["empty", "Dead"])
        assert group_id in listed(types=["CLASSIC"]) and group_id not in listed(types=["CONSUMER"])
        assert group_id in listed(states=["STABLE"], types=["CLASSIC"])
        from confluent_kafka import ConsumerGroupState, ConsumerGroupType

        assert group_id in listed(states=[ConsumerGroupState.STABLE], types=[ConsumerGroupType.CLASSIC])
        names = [g.group_id for g in result(admin.list_consumer_groups()).valid]
        assert names == sorted(names)
    assert "ConsumerGroupListing(" in repr(ours)


# --- describe_configs(detailed=True) ----------------------------------------------------------


@pytest.mark.broker
def test_config_entries_with_source_and_sensitivity(admin, topic_name) -> None:  # type: ignore[no-untyped-def]
    create_topic(admin, topic_name, config={"retention.ms": "3600000"})
    entries = result(admin.describe_configs("topic", topic_name, detailed=True))
    plain = result(admin.describe_configs("topic", topic_name))
    assert plain["retention.ms"] == "3600000"  # the existing form is unchanged
    retention = entries["retention.ms"]
    assert isinstance(retention, fk.ConfigEntry)
    assert (retention.value, retention.source, retention.is_default) == ("3600000", "DYNAMIC_TOPIC_CONFIG", False)
    assert not retention.is_sensitive and not retention.is_read_only and not retention.is_synonym
    synonym = retention.synonyms["retention.ms"]  # the entry itself, as confluent-kafka shows it
    assert (synonym.value, synonym.source, synonym.is_synonym) == ("3600000", "DYNAMIC_TOPIC_CONFIG", True)
    default = entries["cleanup.policy"]
    assert default.value == "delete" and default.is_default and default.source == "DEFAULT_CONFIG"
    assert {name for name, e in entries.items() if e.value is not None} == set(plain)
    broker = result(admin.describe_configs("broker", "1", detailed=True))
    sensitive = [e for e in broker.values() if e.is_sensitive]
    assert sensitive and all(e.value is None for e in sensitive)
    assert broker["broker.id"].is_read_only and broker["broker.id"].source == "STATIC_BROKER_CONFIG"
    assert "ConfigEntry(retention.ms=" in repr(retention) and str(retention) == 'retention.ms="3600000"'


# --- list_offsets with OffsetSpec -------------------------------------------------------------


@pytest.mark.broker
def test_list_offsets_with_timestamp_specs(admin, kafka_bootstrap, topic_name) -> None:  # type: ignore[no-untyped-def]
    create_topic(admin, topic_name)
    with fk.Producer({"bootstrap.servers": kafka_bootstrap}) as producer:
        for timestamp in (1_000_000, 3_000_000, 2_000_000):
            producer.produce(topic_name, b"v", timestamp=timestamp).result(TIMEOUT)
    tp = fk.TopicPartition(topic_name, 0)
    specs = {
        fk.OffsetSpec.earliest(): (0, -1),
        fk.OffsetSpec.latest(): (3, -1),
        fk.OffsetSpec.max_timestamp(): (1, 3_000_000),
        fk.OffsetSpec.for_timestamp(1_500_000): (1, 3_000_000),
        fk.OffsetSpec.for_timestamp(2_000_000): (1, 3_000_000),
        fk.OffsetSpec.for_timestamp(9_000_000): (-1, -1),
    }
    for spec, (offset, timestamp) in specs.items():
        answers = result(admin.list_offsets({tp: spec}))
        assert list(answers) == [tp], spec
        info = answers[tp]
        assert (info.offset, info.timestamp) == (offset, timestamp), spec
        assert info.leader_epoch is None or info.leader_epoch >= 0
    assert [p.offset for p in result(admin.list_offsets([tp], "max_timestamp"))] == [1]
    assert [p.offset for p in result(admin.list_offsets([tp], fk.OffsetSpec.for_timestamp(0)))] == [0]
    assert [p.offset for p in result(admin.list_offsets([tp]))] == [3]  # "latest", as before
    # TopicPartitions are dict keys by topic and partition (as confluent-kafka's): one entry here.
    once = {tp: fk.OffsetSpec.earliest(), fk.TopicPartition(topic_name, 0, 7): fk.OffsetSpec.latest()}
    assert len(once) == 1
    with pytest.raises(ValueError, match="twice"):
        admin.list_offsets([tp, tp])
    assert repr(fk.OffsetSpec.for_timestamp(5)) == "OffsetSpec.for_timestamp(5)"


# --- ACLs -------------------------------------------------------------------------------------


@pytest.mark.broker
def test_acls_create_describe_delete_and_enforce(secure_broker, topic_name) -> None:  # type: ignore[no-untyped-def]
    from confluent_kafka.admin import AclPermissionType, ResourcePatternType

    plaintext = secure_broker.address("PLAINTEXT")
    with fk.AdminClient({"bootstrap.servers": plaintext}) as admin:
        create_topic(admin, topic_name)
        deny = fk.AclBinding("TOPIC", topic_name, "LITERAL", "User:alice", "*", "WRITE", "DENY")
        allow = fk.AclBinding(
            ConfluentResourceType.TOPIC, topic_name, ResourcePatternType.LITERAL, "User:bob", "*",
            ConfluentAclOperation.READ, AclPermissionType.ALLOW,
        )  # fmt: skip
        assert (allow.restype, allow.operation, allow.permission_type) == ("TOPIC", "READ", "ALLOW")
        assert result(admin.create_acls([deny, allow])) is None
        on_topic = fk.AclBindingFilter("TOPIC", topic_name, "MATCH", None, None, "ANY", "ANY")
        described = wait_for(lambda: result(admin.describe_acls(on_topic)), "the ACLs")
        assert sorted(described, key=repr) == sorted([deny, allow], key=repr)
        # confluent-kafka sees the same ACLs
        from confluent_kafka.admin import AclBindingFilter as ConfluentFilter

        confluent = ConfluentAdmin({"bootstrap.servers": plaintext})
        theirs = confluent.describe_acls(
            ConfluentFilter(ConfluentResourceType.TOPIC, topic_name, ResourcePatternType.MATCH, None, None,
                            ConfluentAclOperation.ANY, AclPermissionType.ANY)
        ).result(TIMEOUT)  # fmt: skip
        assert sorted(b.principal for b in theirs) == ["User:alice", "User:bob"]
        # The broker enforces it: alice may not write to the topic.
        alice = {
            "bootstrap.servers": secure_broker.address("SASL_PLAINTEXT"),
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "SCRAM-SHA-256",
            "sasl.username": "alice",
            "sasl.password": secure_broker.users["alice"],
            "message.timeout.ms": 10000,
        }
        with fk.Producer(alice) as producer:
            refused = failure(producer.produce(topic_name, b"v"))
            assert refused.code() == fk.KafkaError.TOPIC_AUTHORIZATION_FAILED
        only_deny = fk.AclBindingFilter("TOPIC", topic_name, "LITERAL", "User:alice", None, "ANY", "DENY")
        nothing = fk.AclBindingFilter("TOPIC", f"none-{uuid.uuid4().hex}", "LITERAL", None, None, "ANY", "ANY")
        assert result(admin.delete_acls([only_deny, nothing])) == [[deny], []]
        assert wait_for(lambda: result(admin.describe_acls(on_topic)) == [allow], "the deletion")
        assert result(admin.delete_acls([on_topic])) == [[allow]]


# --- SCRAM users ------------------------------------------------------------------------------


@pytest.mark.broker
def test_scram_users_describe_alter_and_log_in(secure_broker, topic_name) -> None:  # type: ignore[no-untyped-def]
    user = f"carol-{uuid.uuid4().hex[:8]}"
    with fk.AdminClient({"bootstrap.servers": secure_broker.address("PLAINTEXT")}) as admin:
        create_topic(admin, topic_name)
        existing = result(admin.describe_user_scram_credentials())
        assert {"alice", "bob"} <= set(existing)
        assert {i.mechanism for i in existing["alice"].scram_credential_infos} == {"SCRAM_SHA_256", "SCRAM_SHA_512"}
        info = fk.ScramCredentialInfo("SCRAM-SHA-256", 8192)
        upsert = fk.UserScramCredentialUpsertion(user, info, b"carol-secret")
        assert result(admin.alter_user_scram_credentials([upsert])) is None
        described = wait_for(lambda: _scram_of(admin, user), "the new user")
        assert described.user == user and described.scram_credential_infos == [info]
        config = {
            "bootstrap.servers": secure_broker.address("SASL_PLAINTEXT"),
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "SCRAM-SHA-256",
            "sasl.username": user,
            "sasl.password": "carol-secret",
        }
        with fk.Producer(config) as producer:
            producer.produce(topic_name, b"by carol").result(TIMEOUT)
        assert (
            result(admin.alter_user_scram_credentials([fk.UserScramCredentialDeletion(user, "SCRAM_SHA_256")])) is None
        )
        gone = wait_for(lambda: _scram_error(admin, user), "the deletion")
        assert gone.code() == fk.KafkaError.RESOURCE_NOT_FOUND
        # Deleting what does not exist is the user's error, named.
        error = failure(admin.alter_user_scram_credentials([fk.UserScramCredentialDeletion(user, "SCRAM_SHA_512")]))
        assert user in str(error)


def _scram_of(admin: fk.AdminClient, user: str) -> Any:
    try:
        return admin.describe_user_scram_credentials([user]).result(TIMEOUT)[user]
    except fk.KafkaError:
        return None


def _scram_error(admin: fk.AdminClient, user: str) -> fk.KafkaError | None:
    try:
        admin.describe_user_scram_credentials([user]).result(TIMEOUT)
    except fk.KafkaError as err:
        return err
    return None


# --- elect_leaders ----------------------------------------------------------------------------


@pytest.mark.broker
def test_elect_leaders(admin, topic_name) -> None:  # type: ignore[no-untyped-def]
    from confluent_kafka import ElectionType

    create_topic(admin, topic_name, 2)
    partitions = [fk.TopicPartition(topic_name, 0), fk.TopicPartition(topic_name, 1)]
    outcome = result(admin.elect_leaders("PREFERRED", partitions))
    assert sorted(outcome) == partitions
    # One broker: the preferred leader leads already.
    assert all(e is not None and e.code() == fk.KafkaError.ELECTION_NOT_NEEDED for e in outcome.values())
    outcome = result(admin.elect_leaders(ElectionType.UNCLEAN, [fk.TopicPartition(topic_name, 0)]))
    assert [e.code() for e in outcome.values() if e is not None] == [fk.KafkaError.ELECTION_NOT_NEEDED]
    missing = fk.TopicPartition(f"missing-{uuid.uuid4().hex}", 0)
    outcome = result(admin.elect_leaders("PREFERRED", [missing]))
    assert outcome[missing] is not None and outcome[missing].code() == fk.KafkaError.UNKNOWN_TOPIC_OR_PART
    assert isinstance(result(admin.elect_leaders("preferred")), dict)  # every partition


# --- bad inputs: TypeError / ValueError at once, never a panic ----------------------------------


def _binding(**change: Any) -> Any:
    fields = {
        "restype": "TOPIC", "name": "t", "resource_pattern_type": "LITERAL", "principal": "User:a",
        "host": "*", "operation": "READ", "permission_type": "ALLOW",
    }  # fmt: skip
    fields.update(change)
    return fields


BAD_CALLS: list[tuple[str, Any, type[Exception]]] = [
    ("describe_topics", lambda a: a.describe_topics([]), ValueError),
    ("describe_topics", lambda a: a.describe_topics(["ok", ""]), ValueError),
    ("describe_topics", lambda a: a.describe_topics("topic"), TypeError),
    ("describe_topics", lambda a: a.describe_topics([1]), TypeError),
    ("describe_topics", lambda a: a.describe_topics(["a\0b"]), ValueError),
    ("describe_topics", lambda a: a.describe_topics(None), TypeError),
    ("describe_cluster", lambda a: a.describe_cluster(include_authorized_operations="yes"), TypeError),
    ("list_consumer_groups", lambda a: a.list_consumer_groups(states=[]), ValueError),
    ("list_consumer_groups", lambda a: a.list_consumer_groups(states=["RUNNING"]), ValueError),
    ("list_consumer_groups", lambda a: a.list_consumer_groups(states="STABLE"), TypeError),
    ("list_consumer_groups", lambda a: a.list_consumer_groups(states=[3]), TypeError),
    ("list_consumer_groups", lambda a: a.list_consumer_groups(types=["OLD"]), ValueError),
    ("list_consumer_groups", lambda a: a.list_consumer_groups(types=5), TypeError),
    ("describe_configs", lambda a: a.describe_configs("topic", "t", detailed="yes"), TypeError),
    ("describe_configs", lambda a: a.describe_configs("group", "g", detailed=True), ValueError),
    ("list_offsets", lambda a: a.list_offsets([fk.TopicPartition("t", 0)], "newest"), ValueError),
    ("list_offsets", lambda a: a.list_offsets([fk.TopicPartition("t", 0)], 5), TypeError),
    ("list_offsets", lambda a: a.list_offsets({}), ValueError),
    ("list_offsets", lambda a: a.list_offsets({fk.TopicPartition("t", 0): "latest"}), TypeError),
    ("list_offsets", lambda a: a.list_offsets({"t": fk.OffsetSpec.latest()}), TypeError),
    (
        "list_offsets",
        lambda a: a.list_offsets({fk.TopicPartition("t", 0): fk.OffsetSpec.latest()}, "latest"),
        TypeError,
    ),
    ("list_offsets", lambda a: a.list_offsets({fk.TopicPartition("", 0): fk.OffsetSpec.latest()}), ValueError),
    ("OffsetSpec", lambda a: fk.OffsetSpec.for_timestamp(-5), ValueError),
    ("OffsetSpec", lambda a: fk.OffsetSpec.for_timestamp("now"), TypeError),
    ("OffsetSpec", lambda a: fk.OffsetSpec.for_timestamp(2**70), (OverflowError, ValueError)),
    ("AclBinding", lambda a: fk.AclBinding(**_binding(restype="TABLE")), ValueError),
    ("AclBinding", lambda a: fk.AclBinding(**_binding(restype="ANY")), ValueError),
    ("AclBinding", lambda a: fk.AclBinding(**_binding(resource_pattern_type="MATCH")), ValueError),
    ("AclBinding", lambda a: fk.AclBinding(**_binding(operation="ANY")), ValueError),
    ("AclBinding", lambda a: fk.AclBinding(**_binding(permission_type="MAYBE")), ValueError),
    ("AclBinding", lambda a: fk.AclBinding(**_binding(name=None)), TypeError),
    ("AclBinding", lambda a: fk.AclBinding(**_binding(principal="a\0b")), ValueError),
    ("AclBinding", lambda a: fk.AclBinding(**_binding(operation=3)), TypeError),
    ("AclBindingFilter", lambda a: fk.AclBindingFilter(**_binding(restype="UNKNOWN")), ValueError),
    ("create_acls", lambda a: a.create_acls([]), ValueError),
    ("create_acls", lambda a: a.create_acls(["acl"]), TypeError),
    ("create_acls", lambda a: a.create_acls([fk.AclBindingFilter(**_binding())]), TypeError),
    ("describe_acls", lambda a: a.describe_acls(fk.AclBinding(**_binding())), TypeError),
    ("describe_acls", lambda a: a.describe_acls(None), TypeError),
    ("delete_acls", lambda a: a.delete_acls([]), ValueError),
    ("delete_acls", lambda a: a.delete_acls(fk.AclBindingFilter(**_binding())), TypeError),
    ("ScramCredentialInfo", lambda a: fk.ScramCredentialInfo("SCRAM_SHA_1"), ValueError),
    ("ScramCredentialInfo", lambda a: fk.ScramCredentialInfo("UNKNOWN"), ValueError),
    ("ScramCredentialInfo", lambda a: fk.ScramCredentialInfo("SCRAM_SHA_256", 0), ValueError),
    ("ScramCredentialInfo", lambda a: fk.ScramCredentialInfo(None), TypeError),
    (
        "UserScramCredentialUpsertion",
        lambda a: fk.UserScramCredentialUpsertion("", fk.ScramCredentialInfo("SCRAM_SHA_256"), b"p"),
        ValueError,
    ),
    (
        "UserScramCredentialUpsertion",
        lambda a: fk.UserScramCredentialUpsertion("u", fk.ScramCredentialInfo("SCRAM_SHA_256"), b""),
        ValueError,
    ),
    (
        "UserScramCredentialUpsertion",
        lambda a: fk.UserScramCredentialUpsertion("u", fk.ScramCredentialInfo("SCRAM_SHA_256"), 5),
        TypeError,
    ),
    ("UserScramCredentialUpsertion", lambda a: fk.UserScramCredentialUpsertion("u", "SCRAM_SHA_256", b"p"), TypeError),
    ("UserScramCredentialDeletion", lambda a: fk.UserScramCredentialDeletion("u\0", "SCRAM_SHA_256"), ValueError),
    ("describe_user_scram_credentials", lambda a: a.describe_user_scram_credentials([]), ValueError),
    ("describe_user_scram_credentials", lambda a: a.describe_user_scram_credentials([""]), ValueError),
    ("describe_user_scram_credentials", lambda a: a.describe_user_scram_credentials("alice"), TypeError),
    ("alter_user_scram_credentials", lambda a: a.alter_user_scram_credentials([]), ValueError),
    ("alter_user_scram_credentials", lambda a: a.alter_user_scram_credentials(["x"]), TypeError),
    ("alter_user_scram_credentials", lambda a: a.alter_user_scram_credentials("x"), TypeError),
    ("alter_user_scram_credentials", lambda a: a.alter_user_scram_credentials(None), TypeError),
    ("elect_leaders", lambda a: a.elect_leaders("RANDOM"), ValueError),
    ("elect_leaders", lambda a: a.elect_leaders(0), TypeError),
    ("elect_leaders", lambda a: a.elect_leaders("PREFERRED", []), ValueError),
    ("elect_leaders", lambda a: a.elect_leaders("PREFERRED", [fk.TopicPartition("", 0)]), ValueError),
    ("elect_leaders", lambda a: a.elect_leaders("PREFERRED", ["t"]), TypeError),
]


@pytest.mark.parametrize(
    ("call", "error"), [(c, e) for _, c, e in BAD_CALLS], ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(BAD_CALLS)]
)
def test_bad_inputs_raise_at_once(mock_cluster, call, error) -> None:  # type: ignore[no-untyped-def]
    with fk.AdminClient({"bootstrap.servers": mock_cluster.bootstrap_servers}) as admin:
        with pytest.raises(error):
            call(admin)


def test_calls_after_close_raise(mock_cluster) -> None:  # type: ignore[no-untyped-def]
    admin = fk.AdminClient({"bootstrap.servers": mock_cluster.bootstrap_servers})
    admin.close()
    for call in (
        lambda: admin.describe_cluster(),
        lambda: admin.describe_topics(["t"]),
        lambda: admin.list_consumer_groups(),
        lambda: admin.describe_acls(fk.AclBindingFilter("ANY", None, "ANY", None, None, "ANY", "ANY")),
        lambda: admin.describe_user_scram_credentials(),
        lambda: admin.elect_leaders("PREFERRED"),
    ):
        with pytest.raises(fk.Error):
            call()


def test_value_types_compare_and_show() -> None:
    binding = fk.AclBinding(**_binding())
    assert binding == fk.AclBinding(**_binding()) and hash(binding) == hash(fk.AclBinding(**_binding()))
    assert binding != fk.AclBinding(**_binding(operation="WRITE"))
    assert binding != fk.AclBindingFilter(**_binding())
    assert repr(binding).startswith('AclBinding(restype="TOPIC", name="t"')
    assert fk.AclBindingFilter("ANY", None, "ANY", None, None, "ANY", "ANY").name is None
    info = fk.ScramCredentialInfo("scram-sha-512", 4096)
    assert (info.mechanism, info.iterations) == ("SCRAM_SHA_512", 4096)
    assert fk.OffsetSpec.latest() == fk.OffsetSpec.latest() != fk.OffsetSpec.earliest()
    upsert = fk.UserScramCredentialUpsertion("u", info, "pw", salt=b"salt")
    assert upsert.user == "u" and upsert.scram_credential_info == info and "pw" not in repr(upsert)
