"""What a codebase moving from confluent-kafka trips on first: `Consumer.unassign()`,
`Consumer.memberid()`, `Producer.list_topics()`, `set_sasl_credentials()`, `throttle_cb`, partition
EOF raised as `PartitionEOF` with `enable.partition.eof`, and `KafkaException`."""

from __future__ import annotations

import pickle
import socket
import struct
import time
import uuid

import pytest

import ferrokafka as fk
from conftest import consumer_config, produce_n

TIMEOUT = 30


# --- KafkaException ---------------------------------------------------------------------------


def test_a_raised_kafka_error_is_a_kafka_exception_carrying_itself() -> None:
    assert issubclass(fk.KafkaError, fk.KafkaException) and fk.KafkaException is not fk.KafkaError
    with pytest.raises(fk.KafkaException) as info:
        raise fk.KafkaError(fk.KafkaError._TRANSPORT, "boom", retriable=True)
    assert info.value.code() == fk.KafkaError._TRANSPORT and info.value.retriable()
    # confluent-kafka's idiom: the KafkaError object in args[0] — here the error itself.
    err = info.value.args[0]
    assert err is info.value and err.str() == "boom"
    assert str(err) == 'KafkaError{code=_TRANSPORT,val=-195,str="boom"}'
    assert (err.code(), err.name(), err.retriable(), err.fatal(), err.txn_requires_abort()) == (
        fk.KafkaError._TRANSPORT,
        "_TRANSPORT",
        True,
        False,
        False,
    )
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is fk.KafkaError and (again.code(), again.str(), again.retriable()) == (-195, "boom", True)
    assert again.args[0] is again
    eof = fk.PartitionEOF("t", 1, 5, "end")
    assert isinstance(eof, fk.KafkaException) and isinstance(eof, fk.KafkaError)
    assert eof.code() == fk.KafkaError._PARTITION_EOF and eof.name() == "_PARTITION_EOF" and eof.str() == "end"
    again = pickle.loads(pickle.dumps(eof))
    assert (again.topic, again.partition, again.offset, again.str(), again) == ("t", 1, 5, "end", eof)


# --- partition EOF ----------------------------------------------------------------------------


def _read_until_eofs(consumer: fk.Consumer, partitions: int, read: str) -> tuple[list[tuple[int, int]], list]:
    got: list[tuple[int, int]] = []
    eofs: list[fk.PartitionEOF] = []
    deadline = time.monotonic() + TIMEOUT
    while len(eofs) < partitions and time.monotonic() < deadline:
        try:
            if read == "poll":
                message = consumer.poll(0.5)
                messages = [message] if message is not None else []
            elif read == "consume":
                messages = consumer.consume(100, 0.5)
            else:
                messages = [next(iter(consumer))]
            got.extend((m.partition, m.offset) for m in messages)
        except fk.PartitionEOF as eof:
            eofs.append(eof)
    return got, eofs


@pytest.mark.parametrize("read", ["poll", "consume", "iterate"])
def test_partition_eof_is_raised_after_the_last_message(backend, topic_name, group_id, read) -> None:  # type: ignore[no-untyped-def]
    backend.create_topic(topic_name, 2)
    produce_n(backend.bootstrap, topic_name, 3, partition=0)
    produce_n(backend.bootstrap, topic_name, 2, partition=1)
    config = consumer_config(backend.bootstrap, group_id, **{"enable.partition.eof": True})
    with fk.Consumer(config) as consumer:
        consumer.subscribe([topic_name])
        got, eofs = _read_until_eofs(consumer, 2, read)
        assert sorted(got) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]
        ends = sorted((e.topic, e.partition, e.offset) for e in eofs)
        assert ends == [(topic_name, 0, 3), (topic_name, 1, 2)]
        assert all(e.code() == fk.KafkaError._PARTITION_EOF and not e.fatal() for e in eofs)
        # Every message of a partition comes before its end.
        for eof in eofs:
            assert "_PARTITION_EOF" in str(eof)
        # Consumption goes on: a new message, then that partition's next end.
        produce_n(backend.bootstrap, topic_name, 1, partition=1)
        got, eofs = _read_until_eofs(consumer, 1, read)
        assert got == [(1, 2)] and [(e.partition, e.offset) for e in eofs] == [(1, 3)]


def test_without_partition_eof_nothing_is_raised(mock_cluster, topic_name, group_id) -> None:  # type: ignore[no-untyped-def]
    mock_cluster.create_topic(topic_name, 1)
    produce_n(mock_cluster.bootstrap_servers, topic_name, 2)
    with fk.Consumer(consumer_config(mock_cluster.bootstrap_servers, group_id)) as consumer:
        consumer.subscribe([topic_name])
        offsets = []
        for message in consumer:
            offsets.append(message.offset)
            if len(offsets) == 2:
                break
        assert offsets == [0, 1]
        assert consumer.poll(1.0) is None  # the end: no exception


# --- unassign, memberid -----------------------------------------------------------------------


def test_unassign_and_memberid(backend, topic_name, group_id) -> None:  # type: ignore[no-untyped-def]
    backend.create_topic(topic_name, 1)
    produce_n(backend.bootstrap, topic_name, 2)
    with fk.Consumer(consumer_config(backend.bootstrap, group_id)) as consumer:
        assert consumer.memberid() is None  # not a member yet
        consumer.assign([fk.TopicPartition(topic_name, 0, fk.OFFSET_BEGINNING)])
        assert [(tp.topic, tp.partition) for tp in consumer.assignment()] == [(topic_name, 0)]
        assert consumer.poll(TIMEOUT) is not None
        consumer.unassign()
        assert consumer.assignment() == []
        assert consumer.poll(0.5) is None
        consumer.unassign()  # twice is fine
    with fk.Consumer(consumer_config(backend.bootstrap, group_id)) as consumer:
        consumer.subscribe([topic_name])
        deadline = time.monotonic() + TIMEOUT
        while not consumer.assignment() and time.monotonic() < deadline:
            consumer.poll(0.2)
        member_id = consumer.memberid()
        assert isinstance(member_id, str) and member_id
    with pytest.raises(fk.Error):
        consumer.memberid()
    with pytest.raises(fk.Error):
        consumer.unassign()


# --- Producer.list_topics ---------------------------------------------------------------------


def test_producer_list_topics(backend, topic_name) -> None:  # type: ignore[no-untyped-def]
    backend.create_topic(topic_name, 2)
    with fk.Producer({"bootstrap.servers": backend.bootstrap}) as producer:
        metadata = producer.list_topics(topic_name, timeout=TIMEOUT)
        assert sorted(metadata["topics"][topic_name]) == [0, 1]
        assert metadata["brokers"]
        everything = producer.list_topics(timeout=TIMEOUT)
        assert topic_name in everything["topics"]
        with pytest.raises(ValueError):
            producer.list_topics("", timeout=1)
        with pytest.raises(ValueError):
            producer.list_topics(topic_name, timeout=-1)
        with pytest.raises(TypeError):
            producer.list_topics(5)  # type: ignore[arg-type]
    with pytest.raises(fk.Error):
        producer.list_topics(topic_name, timeout=1)


# --- set_sasl_credentials ---------------------------------------------------------------------


@pytest.mark.broker
def test_set_sasl_credentials_takes_effect_for_new_connections(secure_broker, topic_name) -> None:  # type: ignore[no-untyped-def]
    base = {
        "bootstrap.servers": secure_broker.address("SASL_PLAINTEXT"),
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-256",
    }
    wrong = base | {"sasl.username": "alice", "sasl.password": "wrong", "message.timeout.ms": 60000}
    with fk.Producer(wrong) as producer:
        producer.set_sasl_credentials("alice", secure_broker.users["alice"])
        producer.produce(topic_name, b"v").result(TIMEOUT)
        producer.set_sasl_credentials("bob", secure_broker.users["bob"])
    admin_config = base | {"sasl.username": "nobody", "sasl.password": "x"}
    with fk.AdminClient(admin_config) as admin:
        admin.set_sasl_credentials("alice", secure_broker.users["alice"])
        assert topic_name in admin.list_offsets([fk.TopicPartition(topic_name, 0)]).result(TIMEOUT)[0].topic
    consumer_conf = base | {
        "sasl.username": "x",
        "sasl.password": "y",
        "group.id": "g",
        "auto.offset.reset": "earliest",
    }
    with fk.Consumer(consumer_conf) as consumer:
        consumer.set_sasl_credentials("alice", secure_broker.users["alice"])
        consumer.assign([fk.TopicPartition(topic_name, 0, fk.OFFSET_BEGINNING)])
        message = consumer.poll(TIMEOUT)
        assert message is not None and bytes(message.payload) == b"v"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("a\0b", "p"), ValueError),
        (("a", "p\0"), ValueError),
        ((None, "p"), TypeError),
        (("a", 5), TypeError),
        (("a",), TypeError),
    ],
)
def test_set_sasl_credentials_bad_input(mock_cluster, args, error) -> None:  # type: ignore[no-untyped-def]
    with fk.Producer({"bootstrap.servers": mock_cluster.bootstrap_servers}) as producer:
        with pytest.raises(error):
            producer.set_sasl_credentials(*args)
    with fk.Consumer({"bootstrap.servers": mock_cluster.bootstrap_servers, "group.id": "g"}) as consumer:
        with pytest.raises(error):
            consumer.set_sasl_credentials(*args)
    with fk.AdminClient({"bootstrap.servers": mock_cluster.bootstrap_servers}) as admin:
        with pytest.raises(error):
            admin.set_sasl_credentials(*args)


# --- throttle_cb ------------------------------------------------------------------------------


def test_throttle_cb_must_be_callable(mock_cluster) -> None:  # type: ignore[no-untyped-def]
    for client in (fk.Consumer, fk.Producer, fk.AdminClient):
        with pytest.raises(fk.ConfigError, match="throttle_cb"):
            client({"bootstrap.servers": mock_cluster.bootstrap_servers, "group.id": "g", "throttle_cb": 5})
    # A plugin of the user's is still loaded with a throttle_cb: beside ferrokafka's own for the
    # admin client (src/native/throttle.rs), as given for the producer (the callback is set on its
    # configuration, src/native/producer.rs).
    for client in (fk.Producer, fk.AdminClient):
        with pytest.raises(fk.ConfigError, match="no-such-plugin"):
            client(
                {
                    "bootstrap.servers": mock_cluster.bootstrap_servers,
                    "throttle_cb": print,
                    "plugin.library.paths": "no-such-plugin",
                }
            )


def _set_client_quota(bootstrap: str, client_id: str, key: str, value: float) -> None:
    """AlterClientQuotas v0 (librdkafka has no such admin call), with the harness's protocol client."""
    from realkafka.harness import _request

    def string(text: str) -> bytes:
        return struct.pack(">h", len(text)) + text.encode()

    entity = struct.pack(">i", 1) + string("client-id") + string(client_id)
    ops = struct.pack(">i", 1) + string(key) + struct.pack(">d?", value, False)
    body = struct.pack(">i", 1) + entity + ops + struct.pack(">?", False)
    host, port = bootstrap.split(",")[0].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        reader = _request(sock, 49, 0, 1, body)  # AlterClientQuotas v0
        reader.i32()  # throttle_time_ms
        assert reader.i32() == 1  # entries
        error_code, message = reader.i16(), reader.string()
    assert error_code == 0, message


@pytest.mark.broker
def test_throttle_cb_hears_a_fetch_quota(kafka_bootstrap, topic_name, group_id) -> None:  # type: ignore[no-untyped-def]
    client_id = f"throttled-{uuid.uuid4().hex[:8]}"
    _set_client_quota(kafka_bootstrap, client_id, "consumer_byte_rate", 2048)
    with fk.AdminClient({"bootstrap.servers": kafka_bootstrap}) as admin:
        admin.create_topics([fk.NewTopic(topic_name, 1, 1)]).result(TIMEOUT)
    produce_n(kafka_bootstrap, topic_name, 50, size=4096)
    events: list[fk.ThrottleEvent] = []
    config = consumer_config(kafka_bootstrap, group_id, **{"client.id": client_id, "throttle_cb": events.append})
    with fk.Consumer(config) as consumer:
        consumer.subscribe([topic_name])
        deadline = time.monotonic() + 60
        while not events and time.monotonic() < deadline:
            consumer.consume(100, 0.5)
    assert events, "no throttle event within 60 s"
    event = events[0]
    assert isinstance(event, fk.ThrottleEvent)
    assert event.throttle_time > 0 and event.broker_id == 1 and event.broker_name
    assert "ThrottleEvent(" in repr(event)


@pytest.mark.broker
def test_throttle_cb_hears_a_produce_quota(kafka_bootstrap, topic_name) -> None:  # type: ignore[no-untyped-def]
    client_id = f"throttled-{uuid.uuid4().hex[:8]}"
    _set_client_quota(kafka_bootstrap, client_id, "producer_byte_rate", 2048)
    events: list[fk.ThrottleEvent] = []
    config = {"bootstrap.servers": kafka_bootstrap, "client.id": client_id, "throttle_cb": events.append}
    with fk.Producer(config) as producer:
        # The broker applies a new quota asynchronously: produce in rounds until it throttles.
        deadline = time.monotonic() + 30
        while not events and time.monotonic() < deadline:
            for _ in range(50):
                producer.produce(topic_name, b"x" * 4096)
            assert producer.flush(60) == 0
            producer.poll(0.2)
    assert events and events[0].throttle_time > 0 and events[0].broker_id == 1


@pytest.mark.broker
def test_throttle_cb_hears_a_controller_mutation_quota(kafka_bootstrap) -> None:  # type: ignore[no-untyped-def]
    client_id = f"throttled-{uuid.uuid4().hex[:8]}"
    _set_client_quota(kafka_bootstrap, client_id, "controller_mutation_rate", 1)
    events: list[fk.ThrottleEvent] = []
    config = {"bootstrap.servers": kafka_bootstrap, "client.id": client_id, "throttle_cb": events.append}
    with fk.AdminClient(config) as admin:
        for i in range(2):
            admin.create_topics([fk.NewTopic(f"{client_id}-{i}", 20, 1)]).result(TIMEOUT)
        deadline = time.monotonic() + 10
        while not events and time.monotonic() < deadline:
            time.sleep(0.1)
    assert events and events[0].throttle_time > 0


# --- asyncio ----------------------------------------------------------------------------------


@pytest.mark.broker
def test_aio_clients_have_the_new_calls(kafka_bootstrap, topic_name, group_id) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from ferrokafka.aio import AIOAdminClient, AIOConsumer, AIOProducer

    async def main() -> None:
        async with AIOAdminClient({"bootstrap.servers": kafka_bootstrap}) as admin:
            cluster = await admin.describe_cluster()
            assert [node.id for node in cluster.nodes] == [1]
            await admin.create_topics([fk.NewTopic(topic_name, 1, 1)])
            tp = fk.TopicPartition(topic_name, 0)
            deadline = time.monotonic() + TIMEOUT
            while True:
                try:
                    answers = await admin.list_offsets({tp: fk.OffsetSpec.latest()})
                    break
                except fk.KafkaError:
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.2)
            assert answers[tp].offset == 0
            assert topic_name in await admin.describe_topics([topic_name])
            assert isinstance((await admin.list_consumer_groups()).valid, list)
            entries = await admin.describe_configs("topic", topic_name, detailed=True)
            assert entries["cleanup.policy"].source == "DEFAULT_CONFIG"
        async with AIOProducer({"bootstrap.servers": kafka_bootstrap}) as producer:
            metadata = await producer.list_topics(topic_name, TIMEOUT)
            assert list(metadata["topics"]) == [topic_name]
        async with AIOConsumer(consumer_config(kafka_bootstrap, group_id)) as consumer:
            assert await consumer.memberid() is None
            await consumer.assign([fk.TopicPartition(topic_name, 0, fk.OFFSET_BEGINNING)])
            await consumer.unassign()
            assert await consumer.assignment() == []

    asyncio.run(main())


# --- TopicPartition.metadata / .leader_epoch / .error, Message.leader_epoch -----------------------


def test_topic_partition_fields_and_their_bad_inputs() -> None:
    tp = fk.TopicPartition("t", 1, 5, metadata="m", leader_epoch=3)
    assert (tp.topic, tp.partition, tp.offset, tp.metadata, tp.leader_epoch, tp.error) == ("t", 1, 5, "m", 3, None)
    plain = fk.TopicPartition("t", 1, 5)
    assert (plain.metadata, plain.leader_epoch, plain.error) == (None, None, None)
    assert fk.TopicPartition("t", 1, 5, leader_epoch=-1).leader_epoch is None  # librdkafka's "unknown"
    # Comparisons and hash look at topic, partition and offset, as before these fields existed.
    assert tp == plain and hash(tp) == hash(plain) and len({tp, plain}) == 1
    again = pickle.loads(pickle.dumps(tp))
    assert (again.metadata, again.leader_epoch) == ("m", 3)
    # The drop-in's commit metadata (a C string with its NUL) pickles too, and stays a C string.
    c_string = fk.TopicPartition._with_c_string_metadata("t", 1, 5, "m", 3)
    again = pickle.loads(pickle.dumps(c_string))
    assert (again.topic, again.partition, again.offset, again.metadata, again.leader_epoch) == ("t", 1, 5, "m\0", 3)
    assert repr(tp) == 'TopicPartition(topic="t", partition=1, offset=5, metadata="m", leader_epoch=3)'
    assert repr(plain) == 'TopicPartition(topic="t", partition=1, offset=5)'
    for kwargs, error in [
        ({"leader_epoch": -2}, ValueError),
        ({"leader_epoch": 2**31}, ValueError),
        ({"leader_epoch": "1"}, TypeError),
        ({"metadata": "a\0b"}, ValueError),
        ({"metadata": b"bytes"}, TypeError),
    ]:
        with pytest.raises(error):
            fk.TopicPartition("t", 0, 0, **kwargs)  # type: ignore[arg-type]


def test_commit_metadata_round_trips(backend, topic_name, group_id) -> None:  # type: ignore[no-untyped-def]
    """Commit metadata reaches the broker and comes back from committed(), sync and asyncio; the
    message's leader epoch is committed with its offset (real broker: epoch 0 of a fresh topic)."""
    backend.create_topic(topic_name, 2)
    produce_n(backend.bootstrap, topic_name, 3, partition=0)
    config = consumer_config(backend.bootstrap, group_id, **{"enable.auto.commit": False})
    with fk.Consumer(config) as consumer:
        consumer.assign([fk.TopicPartition(topic_name, 0, fk.OFFSET_BEGINNING)])
        message = consumer.poll(TIMEOUT)
        assert message is not None
        epoch = message.leader_epoch
        if backend.name == "kafka":
            assert epoch == 0
        owned = message.detach()
        assert owned.leader_epoch == epoch
        assert pickle.loads(pickle.dumps(owned)).leader_epoch == epoch
        consumer.commit(message, asynchronous=False)
        [committed] = consumer.committed([fk.TopicPartition(topic_name, 0)], timeout=TIMEOUT)
        assert (committed.offset, committed.leader_epoch) == (1, epoch)
        consumer.commit(offsets=[fk.TopicPartition(topic_name, 1, 0, metadata="checkpoint ✓ 42")], asynchronous=False)
        [other] = consumer.committed([fk.TopicPartition(topic_name, 1)], timeout=TIMEOUT)
        assert (other.offset, other.metadata, other.error) == (0, "checkpoint ✓ 42", None)

    async def from_the_loop() -> None:
        from ferrokafka.aio import AIOConsumer

        async with AIOConsumer(config) as consumer:
            await consumer.commit(offsets=[fk.TopicPartition(topic_name, 1, 1, metadata="aio")], asynchronous=False)
            [tp] = await consumer.committed([fk.TopicPartition(topic_name, 1)], timeout=TIMEOUT)
            assert (tp.offset, tp.metadata) == (1, "aio")
            await consumer.assign([fk.TopicPartition(topic_name, 0, 1)])
            message = await consumer.poll(TIMEOUT)
            assert message is not None and (message.offset, message.leader_epoch) == (1, epoch)
            await consumer.commit(message, asynchronous=False)
            [tp] = await consumer.committed([fk.TopicPartition(topic_name, 0)], timeout=TIMEOUT)
            assert (tp.offset, tp.leader_epoch) == (2, epoch)

    import asyncio

    asyncio.run(from_the_loop())


def test_owned_message_leader_epoch() -> None:
    message = fk.OwnedMessage("t", 0, 7, b"v", leader_epoch=4)
    assert message.leader_epoch == 4 and fk.OwnedMessage("t", 0, 7, b"v").leader_epoch is None
    # Equality is by content: the epoch says how a message was fetched, not what it is (a detached
    # message equals the one a test builds without an epoch).
    assert message == fk.OwnedMessage("t", 0, 7, b"v")
    assert pickle.loads(pickle.dumps(message)) == message
    with pytest.raises(ValueError):
        fk.OwnedMessage("t", 0, 7, b"v", leader_epoch=-2)


def test_a_partition_error_reaches_on_commit(backend, topic_name, group_id, request) -> None:  # type: ignore[no-untyped-def]
    """A commit the broker refuses for one partition: commit() raises naming it, and on_commit gets
    that partition with its `.error` (real broker: metadata past offset.metadata.max.bytes; mock:
    an injected OFFSET_METADATA_TOO_LARGE)."""
    backend.create_topic(topic_name, 1)
    heard: list[tuple[object, list[fk.TopicPartition]]] = []
    config = consumer_config(
        backend.bootstrap,
        group_id,
        **{"enable.auto.commit": False, "on_commit": lambda err, partitions: heard.append((err, partitions))},
    )
    too_large = "x" * 5000  # the broker's offset.metadata.max.bytes is 4096
    with fk.Consumer(config) as consumer:
        consumer.assign([fk.TopicPartition(topic_name, 0, fk.OFFSET_BEGINNING)])
        if backend.name == "mock":
            # OffsetCommit (8): OFFSET_METADATA_TOO_LARGE (12)
            request.getfixturevalue("mock_cluster").inject_request_errors(8, [12])
        with pytest.raises(fk.KafkaError) as refused:
            consumer.commit(offsets=[fk.TopicPartition(topic_name, 0, 0, metadata=too_large)], asynchronous=False)
        assert refused.value.name() == "OFFSET_METADATA_TOO_LARGE"
        deadline = time.monotonic() + TIMEOUT
        while not heard and time.monotonic() < deadline:
            consumer.poll(0.1)
        [(error, [tp])] = heard
        assert isinstance(tp.error, fk.KafkaError) and tp.error.name() == "OFFSET_METADATA_TOO_LARGE"
        assert topic_name in str(tp.error) and "OFFSET_METADATA_TOO_LARGE" in repr(tp)
        # A commit that succeeds: no error on the partition.
        heard.clear()
        consumer.commit(offsets=[fk.TopicPartition(topic_name, 0, 0, metadata="ok")], asynchronous=False)
        while not heard and time.monotonic() < deadline:
            consumer.poll(0.1)
        [(error, [tp])] = heard
        assert error is None and tp.error is None and tp.metadata == "ok"


# --- cluster_id, AdminClient.list_topics --------------------------------------------------------


def test_cluster_id_on_every_client(backend, topic_name) -> None:  # type: ignore[no-untyped-def]
    backend.create_topic(topic_name, 1)
    bootstrap = {"bootstrap.servers": backend.bootstrap}
    with fk.AdminClient(bootstrap) as admin:
        cluster_id = admin.cluster_id(TIMEOUT)
        assert isinstance(cluster_id, str) and cluster_id
        if backend.name == "kafka":
            assert cluster_id == admin.describe_cluster().result(TIMEOUT).cluster_id
        listed = admin.list_topics(topic_name, timeout=TIMEOUT)
        assert sorted(listed["topics"][topic_name]) == [0] and listed["brokers"]
        assert topic_name in admin.list_topics(timeout=TIMEOUT)["topics"]
    with fk.Producer(bootstrap) as producer:
        assert producer.cluster_id(TIMEOUT) == cluster_id
    with fk.Consumer({**bootstrap, "group.id": "g"}) as consumer:
        assert consumer.cluster_id(TIMEOUT) == cluster_id
        assert consumer.list_topics(topic_name, timeout=TIMEOUT)["topics"] == listed["topics"]
    for client in (admin, producer, consumer):
        with pytest.raises(fk.Error):
            client.cluster_id(1)


def test_cluster_id_of_an_unreachable_cluster_is_none_in_time() -> None:
    nowhere = {"bootstrap.servers": "127.0.0.1:1"}
    with fk.AdminClient(nowhere) as admin, fk.Producer(nowhere) as producer:
        with fk.Consumer({**nowhere, "group.id": "g"}) as consumer:
            for client in (admin, producer, consumer):
                began = time.monotonic()
                assert client.cluster_id(0.3) is None
                assert time.monotonic() - began < 2
                with pytest.raises(ValueError):
                    client.cluster_id(-1)
                with pytest.raises(TypeError):
                    client.cluster_id("1")  # type: ignore[arg-type]
            with pytest.raises(fk.KafkaError) as timed_out:
                admin.list_topics(timeout=0.3)
            assert timed_out.value.name() in ("_TIMED_OUT", "_TRANSPORT")
            with pytest.raises(ValueError):
                admin.list_topics("", timeout=1)
