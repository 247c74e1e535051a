"""ferrokafka.serialization: SerializingProducer and DeserializingConsumer with confluent-kafka's
schema-registry serializers (Avro, against a real Apicurio Registry speaking the Confluent API) and
with plain callables (json, orjson, msgspec), on the mock cluster and the real broker.

What is checked besides round trips: deserializers get librdkafka's buffer itself (a read-only
memoryview exported by the BorrowedMessage, no copy); the hook's context (topic, field, headers);
batch consume(n) and iteration; a deserializer's error names its message and leaves the group's
offset before it (a restarted group gets it again); interop with confluent-kafka's own
SerializingProducer/DeserializingConsumer both ways; bad hook configurations fail at construction.
"""

from __future__ import annotations

import inspect
import json
import pickle
import threading
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import ferrokafka as fk
from conftest import Backend, consumer_config
from ferrokafka.serialization import (
    DeserializationError,
    DeserializedMessage,
    DeserializingConsumer,
    KeyDeserializationError,
    MessageField,
    SerializationContext,
    SerializationError,
    SerializingProducer,
    ValueDeserializationError,
    ValueSerializationError,
)

ck = pytest.importorskip("confluent_kafka")
orjson = pytest.importorskip("orjson")
msgspec = pytest.importorskip("msgspec")
pytest.importorskip("fastavro")
from confluent_kafka.schema_registry import SchemaRegistryClient  # noqa: E402
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer  # noqa: E402
from confluent_kafka.serialization import StringDeserializer, StringSerializer  # noqa: E402

from realkafka.registry import RegistryUnavailable, SchemaRegistry, java_or_none  # noqa: E402

USER_SCHEMA = json.dumps(
    {
        "type": "record",
        "name": "User",
        "namespace": "dev.ferrokafka.test",
        "fields": [
            {"name": "name", "type": "string"},
            {"name": "favorite_number", "type": ["null", "int"], "default": None},
            {"name": "tags", "type": {"type": "array", "items": "string"}},
        ],
    }
)
USERS = [
    {"name": "ada", "favorite_number": 7, "tags": ["math"]},
    {"name": "grace", "favorite_number": None, "tags": []},
    {"name": "\u00e9mile", "favorite_number": -1, "tags": ["a", "b\u2713"]},
]


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def schema_registry() -> Iterator[SchemaRegistry]:
    """A real Apicurio Registry (Confluent-compatible API) for the session; skips only without Java."""
    if java_or_none() is None:
        pytest.skip("schema registry unavailable: `java` not found on PATH (Apicurio Registry needs Java 17+)")
    registry = SchemaRegistry()
    try:
        registry.start()
    except RegistryUnavailable as err:
        pytest.fail(f"Apicurio Registry did not start: {err}", pytrace=False)
    try:
        yield registry
    finally:
        registry.stop()


@pytest.fixture
def registry_client(schema_registry: SchemaRegistry) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": schema_registry.url})


@pytest.fixture
def topic(backend: Backend) -> str:
    name = f"ser-{uuid.uuid4().hex[:10]}"
    backend.create_topic(name)
    return name


@pytest.fixture
def mock_topic(mock_cluster: fk.MockCluster) -> str:
    name = f"ser-{uuid.uuid4().hex[:10]}"
    mock_cluster.create_topic(name)
    return name


def group() -> str:
    return f"g-{uuid.uuid4().hex[:12]}"


def drain(
    consumer: DeserializingConsumer[Any, Any], n: int, timeout: float = 30.0
) -> list[DeserializedMessage[Any, Any]]:
    """Polls until `n` messages arrived (fails after `timeout` seconds without one)."""
    out: list[DeserializedMessage[Any, Any]] = []
    while len(out) < n:
        msg = consumer.poll(timeout)
        assert msg is not None, f"got {len(out)} of {n} messages"
        out.append(msg)
    return out


def deserializing(bootstrap: str, group_id: str, **extra: object) -> DeserializingConsumer[Any, Any]:
    return DeserializingConsumer(consumer_config(bootstrap, group_id, **extra))


# --- Avro through a real schema registry --------------------------------------------------------


def test_avro_round_trip_through_apicurio(
    backend: Backend, topic: str, registry_client: SchemaRegistryClient, schema_registry: SchemaRegistry
) -> None:
    """confluent-kafka's AvroSerializer/AvroDeserializer as hooks, for keys and values: the schemas
    are registered in the registry under "<topic>-key" and "<topic>-value" (confluent-kafka's subject
    name strategy reads our SerializationContext), the wire format carries the id, and batch
    consume(n) gives the records back, with keys and headers."""
    producer: SerializingProducer[str, dict[str, Any]] = SerializingProducer(
        {
            "bootstrap.servers": backend.bootstrap,
            "key.serializer": AvroSerializer(registry_client, '"string"'),
            "value.serializer": AvroSerializer(registry_client, USER_SCHEMA),
        }
    )
    with producer:
        futures = [
            producer.produce(topic, user, key=user["name"], headers=[("n", str(i).encode())])
            for i, user in enumerate(USERS)
        ]
        assert producer.flush(30) == 0
        assert [f.result(0).offset for f in futures] == [0, 1, 2]

    registered = registry_client.get_latest_version(f"{topic}-value")
    assert json.loads(registered.schema.schema_str)["name"] == "User"
    assert sorted(s for s in registry_client.get_subjects() if s.startswith(topic)) == [
        f"{topic}-key",
        f"{topic}-value",
    ]

    # The raw bytes: Confluent's wire format, magic byte 0 and the registry's id.
    with fk.Consumer(consumer_config(backend.bootstrap, group())) as raw:
        raw.subscribe(topic)
        msg = None
        while msg is None:
            msg = raw.poll(30)
        payload = bytes(msg.payload)  # type: ignore[arg-type]
    assert payload[0] == 0
    assert int.from_bytes(payload[1:5], "big") == registered.schema_id

    config = consumer_config(
        backend.bootstrap,
        group(),
        **{
            "key.deserializer": AvroDeserializer(registry_client),
            "value.deserializer": AvroDeserializer(registry_client),
        },
    )
    with DeserializingConsumer(config) as consumer:
        consumer.subscribe(topic)
        got: list[DeserializedMessage[Any, Any]] = []
        while len(got) < 3:
            got += consumer.consume(10, timeout=30)
    assert [m.value for m in got] == USERS
    assert [m.key for m in got] == [u["name"] for u in USERS]
    assert [m.headers for m in got] == [(("n", b"0"),), (("n", b"1"),), (("n", b"2"),)]
    assert [(m.topic, m.partition, m.offset) for m in got] == [(topic, 0, 0), (topic, 0, 1), (topic, 0, 2)]
    assert all(isinstance(m.timestamp, int) and m.timestamp_type == fk.TimestampType.CREATE_TIME for m in got)


def test_interop_with_confluent_serializing_clients(
    backend: Backend, topic: str, registry_client: SchemaRegistryClient
) -> None:
    """confluent-kafka's SerializingProducer -> ferrokafka's DeserializingConsumer, and ferrokafka's
    SerializingProducer -> confluent-kafka's DeserializingConsumer, Avro both ways."""
    from confluent_kafka import DeserializingConsumer as CkDeserializingConsumer
    from confluent_kafka import SerializingProducer as CkSerializingProducer

    theirs = CkSerializingProducer(
        {
            "bootstrap.servers": backend.bootstrap,
            "key.serializer": StringSerializer(),
            "value.serializer": AvroSerializer(registry_client, USER_SCHEMA),
        }
    )
    theirs.produce(topic, key="from-confluent", value=USERS[0], headers=[("src", b"ck")])
    assert theirs.flush(30) == 0

    with SerializingProducer(
        {
            "bootstrap.servers": backend.bootstrap,
            "key.serializer": StringSerializer(),
            "value.serializer": AvroSerializer(registry_client, USER_SCHEMA),
        }
    ) as ours:
        ours.produce(topic, USERS[2], key="from-ferrokafka", headers=[("src", b"fk")]).result(30)

    with deserializing(
        backend.bootstrap,
        group(),
        **{"key.deserializer": StringDeserializer(), "value.deserializer": AvroDeserializer(registry_client)},
    ) as consumer:
        consumer.subscribe(topic)
        got = drain(consumer, 2)
    assert [(m.key, m.value, m.headers) for m in got] == [
        ("from-confluent", USERS[0], (("src", b"ck"),)),
        ("from-ferrokafka", USERS[2], (("src", b"fk"),)),
    ]

    their_consumer = CkDeserializingConsumer(
        {
            **consumer_config(backend.bootstrap, group()),
            "key.deserializer": StringDeserializer(),
            "value.deserializer": AvroDeserializer(registry_client),
        }
    )
    try:
        their_consumer.subscribe([topic])
        seen = []
        while len(seen) < 2:
            msg = their_consumer.poll(30)
            assert msg is not None
            seen.append((msg.key(), msg.value(), msg.headers()))
    finally:
        their_consumer.close()
    assert seen == [
        ("from-confluent", USERS[0], [("src", b"ck")]),
        ("from-ferrokafka", USERS[2], [("src", b"fk")]),
    ]


def test_avro_deserializer_reads_the_zero_copy_view(
    mock_cluster: fk.MockCluster, mock_topic: str, registry_client: SchemaRegistryClient
) -> None:
    """AvroDeserializer reads the memoryview as it is (it wraps the data in a BytesIO itself), so a
    hook of one's own may hand it the view. (Given directly as a hook, confluent-kafka's
    Deserializers get bytes, their documented argument: its StringDeserializer calls .decode().)"""
    seen: list[memoryview] = []
    avro = AvroDeserializer(registry_client)

    def spy(data: memoryview, ctx: SerializationContext) -> object:
        seen.append(data)
        return avro(data, ctx)

    with SerializingProducer(
        {
            "bootstrap.servers": mock_cluster.bootstrap_servers,
            "value.serializer": AvroSerializer(registry_client, USER_SCHEMA),
        }
    ) as producer:
        producer.produce(mock_topic, USERS[1]).result(10)
    with deserializing(mock_cluster.bootstrap_servers, group(), **{"value.deserializer": spy}) as consumer:
        consumer.subscribe(mock_topic)
        (msg,) = drain(consumer, 1)
    assert msg.value == USERS[1]
    assert type(seen[0]) is memoryview and type(seen[0].obj) is fk.BorrowedMessage


# --- plain callables and zero copy --------------------------------------------------------------


class Point(msgspec.Struct):  # type: ignore[misc,name-defined]
    x: int
    y: list[str]


@pytest.mark.parametrize(
    "name, serialize, deserialize",
    [
        ("json", lambda obj: json.dumps(obj).encode(), lambda data: json.loads(bytes(data))),  # wants bytes
        ("orjson", orjson.dumps, orjson.loads),
        ("msgspec", msgspec.json.encode, msgspec.json.decode),
        ("msgspec-typed", msgspec.json.encode, msgspec.json.Decoder(Point).decode),
    ],
)
def test_plain_callables_get_librdkafkas_buffer(
    mock_cluster: fk.MockCluster,
    mock_topic: str,
    name: str,
    serialize: Callable[[Any], bytes],
    deserialize: Callable[[Any], Any],
) -> None:
    """One-argument callables work as hooks; the deserializer is handed a read-only memoryview whose
    exporter is the BorrowedMessage (librdkafka's fetch buffer), not bytes: json, orjson and msgspec
    decode it as it is."""
    seen: list[memoryview] = []

    def spy(data: memoryview) -> Any:
        seen.append(data)
        return deserialize(data)

    value: Any = Point(x=3, y=["a"]) if name == "msgspec-typed" else {"x": 3, "y": ["a"]}
    with SerializingProducer(
        {
            "bootstrap.servers": mock_cluster.bootstrap_servers,
            "value.serializer": serialize,
            "key.serializer": serialize,
        }
    ) as producer:
        producer.produce(mock_topic, value, key=value).result(10)
    with deserializing(
        mock_cluster.bootstrap_servers, group(), **{"value.deserializer": spy, "key.deserializer": spy}
    ) as consumer:
        consumer.subscribe(mock_topic)
        (msg,) = drain(consumer, 1)
    assert msg.value == value and msg.key == value
    assert len(seen) == 2
    for view in seen:
        assert type(view) is memoryview and view.readonly
        assert type(view.obj) is fk.BorrowedMessage  # exported by the message: librdkafka's memory
        assert bytes(view) == serialize(value)  # still readable: views outlive the message


def test_large_value_is_decoded_without_a_python_copy(mock_cluster: fk.MockCluster, mock_topic: str) -> None:
    """tracemalloc sees every Python-level allocation. Decoding a 600 KB JSON string from the view
    peaks one payload lower than decoding it from bytes(view): no copy is made on the way. (msgspec
    allocates just the resulting str; orjson's parser has a scratch buffer of its own on top.)"""
    size = 600_000
    with fk.Producer({"bootstrap.servers": mock_cluster.bootstrap_servers}) as producer:
        producer.produce(mock_topic, orjson.dumps({"s": "x" * size})).result(10)

    def peak_of(hook: Callable[[memoryview], Any]) -> int:
        with deserializing(mock_cluster.bootstrap_servers, group(), **{"value.deserializer": hook}) as consumer:
            consumer.subscribe(mock_topic)
            tracemalloc.start()
            try:
                msg = consumer.poll(30)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        assert msg is not None and len(msg.value["s"]) == size
        return peak

    for decode in (orjson.loads, msgspec.json.decode):
        from_view = peak_of(decode)
        from_copy = peak_of(lambda data: decode(bytes(data)))
        assert from_copy - from_view > 0.9 * size, f"{decode}: peak {from_view} from the view, {from_copy} from bytes"
    assert peak_of(msgspec.json.decode) < 1.5 * size


def test_hook_context_key_value_and_headers(mock_cluster: fk.MockCluster, mock_topic: str) -> None:
    """Two-argument hooks get a SerializationContext: topic, field KEY/VALUE, and the headers (a
    serializer may add to them, as confluent's header_schema_id_serializer does)."""
    contexts: list[tuple[str, MessageField, object]] = []

    def ser(obj: str, ctx: SerializationContext) -> bytes:
        contexts.append((ctx.topic, ctx.field, list(ctx.headers)))
        ctx.headers.append((f"{ctx.field}-by", b"ser"))
        return obj.encode()

    def des(data: memoryview, ctx: SerializationContext) -> str:
        contexts.append((ctx.topic, ctx.field, list(ctx.headers)))
        return str(data, "utf-8") + f"@{ctx.field}"

    with SerializingProducer(
        {"bootstrap.servers": mock_cluster.bootstrap_servers, "key.serializer": ser, "value.serializer": ser}
    ) as producer:
        producer.produce(mock_topic, "v1", key="k1", headers=[("h", b"1")]).result(10)
        producer.produce(mock_topic, "v2", key="k2").result(10)  # no headers given: a fresh list
    with deserializing(
        mock_cluster.bootstrap_servers, group(), **{"key.deserializer": des, "value.deserializer": des}
    ) as consumer:
        consumer.subscribe(mock_topic)
        first, second = drain(consumer, 2)
    assert (first.key, first.value) == ("k1@key", "v1@value")
    assert first.headers == (("h", b"1"), ("key-by", b"ser"), ("value-by", b"ser"))
    assert second.headers == (("key-by", b"ser"), ("value-by", b"ser"))
    assert contexts[:2] == [
        (mock_topic, MessageField.KEY, [("h", b"1")]),
        (mock_topic, MessageField.VALUE, [("h", b"1"), ("key-by", b"ser")]),
    ]
    assert contexts[4] == (mock_topic, MessageField.KEY, list(first.headers))
    assert contexts[5][1] is MessageField.VALUE


def test_iteration_batches_and_none_never_reaches_a_hook(mock_cluster: fk.MockCluster, mock_topic: str) -> None:
    """Iteration and consume(n) deserialize; a missing key or a tombstone stays None (hooks are not
    called with None); without a deserializer the data is bytes."""
    calls: list[object] = []

    def loads(data: memoryview) -> Any:
        calls.append(data)
        return orjson.loads(data)

    with SerializingProducer(
        {"bootstrap.servers": mock_cluster.bootstrap_servers, "value.serializer": orjson.dumps}
    ) as producer:
        futures = [producer.produce(mock_topic, {"i": i}, key=b"k%d" % i) for i in range(10)]
        futures.append(producer.produce(mock_topic, None))  # tombstone, no key
        assert producer.flush(10) == 0
        assert all(f.result(0) for f in futures)
        assert len(producer) == 0

    with deserializing(mock_cluster.bootstrap_servers, group(), **{"value.deserializer": loads}) as consumer:
        consumer.subscribe(mock_topic)
        got = []
        for msg in consumer:
            got.append(msg)
            if len(got) == 4:
                break
        while len(got) < 11:
            got += consumer.consume(100, timeout=10)
    assert [m.value for m in got] == [{"i": i} for i in range(10)] + [None]
    assert [m.key for m in got] == [b"k%d" % i for i in range(10)] + [None]
    assert len(calls) == 10


def test_produce_batch_serializes_every_message(mock_cluster: fk.MockCluster, mock_topic: str) -> None:
    with SerializingProducer(
        {
            "bootstrap.servers": mock_cluster.bootstrap_servers,
            "value.serializer": orjson.dumps,
            "key.serializer": str.encode,
        }
    ) as producer:
        values = [{"i": 0}, (1, 2), None]  # a tuple and a dict are values, not the native batch forms
        results = producer.produce_batch(
            mock_topic, values, keys=["a", None, "c"], headers=[[("h", b"0")], None, []]
        ).result(10)
        assert results.delivered == 3 and not results.errors
    with deserializing(mock_cluster.bootstrap_servers, group(), **{"value.deserializer": orjson.loads}) as consumer:
        consumer.subscribe(mock_topic)
        got = drain(consumer, 3)
    assert [(m.key, m.value, m.headers) for m in got] == [
        (b"a", {"i": 0}, (("h", b"0"),)),
        (None, [1, 2], ()),
        (b"c", None, ()),
    ]


# --- errors -------------------------------------------------------------------------------------


def _picky(data: memoryview) -> str:
    text = str(data, "utf-8")
    if text.startswith("bad"):
        raise ValueError(f"cannot read {text!r}")
    return text


def _produce_raw(bootstrap: str, topic: str, values: list[bytes]) -> None:
    with fk.Producer({"bootstrap.servers": bootstrap}) as producer:
        for value in values:
            producer.produce(topic, value, key=b"k")
        assert producer.flush(30) == 0


def _committed(bootstrap: str, group_id: str, topic: str) -> int:
    with fk.Consumer(consumer_config(bootstrap, group_id)) as probe:
        (tp,) = probe.committed([fk.TopicPartition(topic, 0)], timeout=30)
        return tp.offset


def test_deserializer_error_names_the_message_and_it_is_delivered_again(backend: Backend, topic: str) -> None:
    """A failing deserializer: poll raises ValueDeserializationError with topic/partition/offset, the
    raw message and the cause; the next poll raises it again (position kept); auto-commit and
    commit() never pass it, so a restarted group gets it again; seeking past it moves on."""
    _produce_raw(backend.bootstrap, topic, [b"good0", b"bad1", b"good2"])
    group_id = group()
    # The mock cluster lets a restarted group in only once the old member's session is over.
    fast = {"session.timeout.ms": 1000, "heartbeat.interval.ms": 100} if backend.name == "mock" else {}
    config = consumer_config(
        backend.bootstrap, group_id, **{"value.deserializer": _picky, "auto.commit.interval.ms": 100, **fast}
    )
    with DeserializingConsumer(config) as consumer:
        consumer.subscribe(topic)
        (first,) = drain(consumer, 1)
        assert first.value == "good0"
        for _ in range(2):  # raised again: the partition was sought back to it
            with pytest.raises(ValueDeserializationError) as caught:
                consumer.poll(30)
            err = caught.value
            assert (err.topic, err.partition, err.offset, err.field) == (topic, 0, 1, MessageField.VALUE)
            assert err.code == fk.KafkaError._VALUE_DESERIALIZATION
            assert isinstance(err.__cause__, ValueError) and err.exception is err.__cause__
            assert err.kafka_message is not None and bytes(err.kafka_message.payload or b"") == b"bad1"
            assert isinstance(err, DeserializationError) and isinstance(err, fk.KafkaError)
            assert f"{topic} [0] at offset 1" in str(err)
        consumer.commit(asynchronous=False)  # what was handed out: good0 only
        assert consumer.committed([fk.TopicPartition(topic, 0)], timeout=30)[0].offset == 1
    assert _committed(backend.bootstrap, group_id, topic) == 1  # close's final commit did not pass it

    # A restart of the group starts at the failed message; skipping it is explicit.
    with DeserializingConsumer(config) as consumer:
        consumer.subscribe(topic)
        while True:
            try:
                msg = consumer.poll(30)
            except ValueDeserializationError as err:
                assert err.offset == 1
                consumer.seek(fk.TopicPartition(err.topic, err.partition, err.offset + 1))
                break
            assert msg is None, "the failed message must come first"
        (last,) = drain(consumer, 1)
        assert (last.offset, last.value) == (2, "good2")
    assert _committed(backend.bootstrap, group_id, topic) == 3


def test_batch_consume_returns_the_messages_before_a_failure(mock_cluster: fk.MockCluster, mock_topic: str) -> None:
    """consume(n) hands out what precedes a failing message; the next call raises for it; nothing
    after it is skipped or committed."""
    bootstrap = mock_cluster.bootstrap_servers
    _produce_raw(bootstrap, mock_topic, [b"g0", b"g1", b"bad2", b"g3", b"g4"])
    group_id = group()
    config = consumer_config(  # a short session: see the test above
        bootstrap,
        group_id,
        **{
            "key.deserializer": bytes,
            "value.deserializer": _picky,
            "session.timeout.ms": 1000,
            "heartbeat.interval.ms": 100,
        },
    )
    with DeserializingConsumer(config) as consumer:
        consumer.subscribe(mock_topic)
        got: list[DeserializedMessage[Any, Any]] = []
        with pytest.raises(ValueDeserializationError) as caught:
            while True:
                got += consumer.consume(100, timeout=30)
        assert [m.value for m in got] == ["g0", "g1"]
        assert caught.value.offset == 2
        with pytest.raises(ValueDeserializationError):
            consumer.consume(100, timeout=30)
    assert _committed(bootstrap, group_id, mock_topic) == 2
    with DeserializingConsumer({**config, "key.deserializer": lambda data: 1 / 0}) as consumer:  # key errors too
        consumer.subscribe(mock_topic)
        with pytest.raises(KeyDeserializationError) as key_error:
            consumer.poll(30)
        assert key_error.value.offset == 2 and key_error.value.field is MessageField.KEY


def test_failure_in_a_batch_of_two_partitions_skips_nothing(mock_cluster: fk.MockCluster) -> None:
    """A batch spanning two partitions fails in one: the other partition's messages after the
    failure are not lost (sought back too), the failing partition stays at its bad message, and
    the committed offsets are exactly what was handed out. The bad message stays first in line
    (as in Java's KafkaConsumer): the application pauses its partition to go on with the other
    (without the pause, whether partition 1 comes before the error depends on fetch order)."""
    bootstrap = mock_cluster.bootstrap_servers
    topic = f"ser-{uuid.uuid4().hex[:10]}"
    mock_cluster.create_topic(topic, 2)
    with fk.Producer({"bootstrap.servers": bootstrap, "linger.ms": 50}) as producer:
        for i, value in enumerate([b"a0", b"bad1", b"a2"]):
            producer.produce(topic, value, partition=0)
            producer.produce(topic, b"b%d" % i, partition=1)
        assert producer.flush(10) == 0
    group_id = group()
    config = consumer_config(bootstrap, group_id, **{"value.deserializer": _picky})
    seen: list[tuple[int, int]] = []
    errors: list[tuple[int, int]] = []
    with DeserializingConsumer(config) as consumer:
        consumer.subscribe(topic)
        while len([p for p, _ in seen if p == 1]) < 3 or not errors:
            try:
                seen += [(m.partition, m.offset) for m in consumer.consume(100, timeout=10)]
            except ValueDeserializationError as err:
                errors.append((err.partition, err.offset))
                consumer.pause([fk.TopicPartition(topic, err.partition)])
        assert sorted(seen) == [(0, 0), (1, 0), (1, 1), (1, 2)]  # nothing of partition 1 skipped
        assert set(errors) == {(0, 1)}
    with fk.Consumer(consumer_config(bootstrap, group_id)) as probe:
        committed = probe.committed([fk.TopicPartition(topic, 0), fk.TopicPartition(topic, 1)], timeout=10)
    assert [(tp.partition, tp.offset) for tp in committed] == [(0, 1), (1, 3)]


def test_an_interrupted_hook_hands_out_nothing(mock_cluster: fk.MockCluster, mock_topic: str) -> None:
    """KeyboardInterrupt in a hook (not a deserialization error) propagates; the whole batch is
    sought back, so the next call starts again at its first message."""
    bootstrap = mock_cluster.bootstrap_servers
    _produce_raw(bootstrap, mock_topic, [b"m0", b"m1", b"m2"])
    interrupts = [True]

    def hook(data: memoryview) -> str:
        if bytes(data) == b"m1" and interrupts:
            interrupts.pop()
            raise KeyboardInterrupt
        return str(data, "utf-8")

    with deserializing(bootstrap, group(), **{"value.deserializer": hook}) as consumer:
        consumer.subscribe(mock_topic)
        got: list[DeserializedMessage[Any, Any]] = []
        with pytest.raises(KeyboardInterrupt):
            while True:
                got += consumer.consume(100, timeout=10)
        while len(got) < 3:
            got += consumer.consume(100, timeout=10)
        assert [(m.offset, m.value) for m in got] == [(0, "m0"), (1, "m1"), (2, "m2")]
        assert not interrupts


def test_serializer_errors_send_nothing(mock_cluster: fk.MockCluster, mock_topic: str) -> None:
    def refuse(obj: object) -> bytes:
        if obj == "no":
            raise RuntimeError("refused")
        return str(obj).encode()

    with SerializingProducer(
        {"bootstrap.servers": mock_cluster.bootstrap_servers, "value.serializer": refuse}
    ) as producer:
        with pytest.raises(ValueSerializationError) as caught:
            producer.produce(mock_topic, "no")
        assert isinstance(caught.value.__cause__, RuntimeError) and caught.value.index is None
        assert caught.value.code == fk.KafkaError._VALUE_SERIALIZATION
        with pytest.raises(ValueSerializationError) as in_batch:
            producer.produce_batch(mock_topic, ["yes", "no", "yes"])
        assert in_batch.value.index == 1 and "message 1" in str(in_batch.value)
        assert len(producer) == 0
        with pytest.raises(TypeError):
            producer.produce(123, "yes")  # type: ignore[arg-type]
        with pytest.raises(TypeError):  # key is keyword-only: no silent swap with confluent's order
            producer.produce(mock_topic, "key", "value")  # type: ignore[call-arg]
        with pytest.raises(ValueError, match="keys has 1 entries"):
            producer.produce_batch(mock_topic, ["a", "b"], keys=["k"])
    with pytest.raises(fk.KafkaError):
        producer.produce(mock_topic, "late")


def test_errors_and_messages_pickle() -> None:
    raw = fk.OwnedMessage("t", 2, 5, b"bad", b"k")
    err = ValueDeserializationError(MessageField.VALUE, ValueError("boom"), raw)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is ValueDeserializationError and back == err
    assert (back.topic, back.partition, back.offset, back.kafka_message, str(back.exception)) == (
        "t",
        2,
        5,
        raw,
        "boom",
    )
    ser_err = pickle.loads(pickle.dumps(ValueSerializationError(RuntimeError("x"), 3)))
    assert ser_err.index == 3 and isinstance(ser_err, SerializationError)

    msg = DeserializedMessage("t", 0, 1, 123, fk.TimestampType.CREATE_TIME, (("h", None),), "k", {"v": 1})
    assert pickle.loads(pickle.dumps(msg)) == msg
    with pytest.raises(AttributeError):
        msg.value = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        msg.extra = 1  # type: ignore[attr-defined]
    assert msg != DeserializedMessage("t", 0, 1, 123, fk.TimestampType.CREATE_TIME, (("h", None),), "k", {"v": 2})
    assert "offset=1" in repr(msg)
    assert hash(DeserializedMessage("t", 0, 1, None, fk.TimestampType.NOT_AVAILABLE, (), b"k", b"v")) == hash(
        DeserializedMessage("t", 0, 1, None, fk.TimestampType.NOT_AVAILABLE, (), b"k", b"v")
    )


# --- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["key.serializer", "value.serializer"])
def test_bad_serializer_configs(mock_cluster: fk.MockCluster, key: str) -> None:
    base = {"bootstrap.servers": mock_cluster.bootstrap_servers}
    with pytest.raises(TypeError, match=key):
        SerializingProducer({**base, key: "not callable"})
    with pytest.raises(TypeError, match="positional"):
        SerializingProducer({**base, key: lambda: b""})
    with pytest.raises(TypeError, match="requires 3"):
        SerializingProducer({**base, key: lambda a, b, c: b""})
    with pytest.raises(ValueError, match="builder"):
        SerializingProducer({**base, f"{key}.builder": object()})

    async def async_function(obj: object, ctx: SerializationContext) -> bytes:
        return b""

    class AsyncCallable:  # the shape of confluent-kafka's AsyncAvroSerializer & co.
        async def __call__(self, obj: object, ctx: SerializationContext | None = None) -> bytes:
            return b""

    for async_hook in (async_function, AsyncCallable()):
        with pytest.raises(TypeError, match="coroutine function"):
            SerializingProducer({**base, key: async_hook})


@pytest.mark.parametrize("key", ["key.deserializer", "value.deserializer"])
def test_bad_deserializer_configs(mock_cluster: fk.MockCluster, key: str) -> None:
    base = consumer_config(mock_cluster.bootstrap_servers, group())
    with pytest.raises(TypeError, match=key):
        DeserializingConsumer({**base, key: 42})
    with pytest.raises(ValueError, match="builder"):
        DeserializingConsumer({**base, f"{key}.builder": object()})


def _ctx_hook(obj: object, ctx: SerializationContext) -> object:
    return obj


def _star_hook(*args: object) -> object:
    return args


@pytest.mark.parametrize(
    "hook, takes_context",
    [
        (orjson.dumps, False),  # (obj, /, default=None, option=None): default is not a context
        (pickle.dumps, False),  # (obj, protocol=None, ...)
        (json.loads, False),
        (msgspec.json.decode, False),
        (bytes, False),  # no signature: called with the data alone
        (StringSerializer(), True),  # confluent-kafka's Serializer
        (StringDeserializer(), True),
        (_ctx_hook, True),  # a required second parameter
        (lambda data, ctx=None: data, True),  # an optional one named ctx
        (lambda data, extra=None: data, False),
        (_star_hook, True),
    ],
)
def test_how_hooks_are_called(hook: Callable[..., Any], takes_context: bool) -> None:
    from ferrokafka._serde import _takes_context

    assert _takes_context(hook, "value.serializer") is takes_context, (
        inspect.signature(hook) if callable(hook) else hook
    )


def test_commit_and_store_offsets_take_deserialized_messages(mock_cluster: fk.MockCluster, mock_topic: str) -> None:
    bootstrap = mock_cluster.bootstrap_servers
    _produce_raw(bootstrap, mock_topic, [b"a", b"b", b"c"])
    group_id = group()
    config = consumer_config(bootstrap, group_id, **{"enable.auto.offset.store": False, "value.deserializer": _picky})
    with DeserializingConsumer(config) as consumer:
        consumer.subscribe(mock_topic)
        a, b, _c = drain(consumer, 3)
        consumer.commit(a, asynchronous=False)
        assert consumer.committed(timeout=10)[0].offset == 1
        consumer.store_offsets(b)  # stored, committed by close()
        with pytest.raises(TypeError):
            consumer.commit(a, offsets=[fk.TopicPartition(mock_topic, 0, 1)], asynchronous=False)
    assert _committed(bootstrap, group_id, mock_topic) == 2


def test_close_stores_only_from_the_receiving_thread(mock_cluster: fk.MockCluster, mock_topic: str) -> None:
    """As with the native consumer: close() on the thread that received a message counts it as done
    (committed); close() from another thread may interrupt its processing, so it is not committed."""
    bootstrap = mock_cluster.bootstrap_servers
    _produce_raw(bootstrap, mock_topic, [b"m0"])
    for same_thread, expected in ((False, fk.OFFSET_INVALID), (True, 1)):
        group_id = group()
        consumer = deserializing(bootstrap, group_id, **{"value.deserializer": _picky})
        consumer.subscribe(mock_topic)
        (msg,) = drain(consumer, 1)
        assert msg.value == "m0"
        if same_thread:
            consumer.close()
        else:
            closer = threading.Thread(target=consumer.close)
            closer.start()
            closer.join(30)
        assert consumer.closed
        assert _committed(bootstrap, group_id, mock_topic) == expected
