"""ferrokafka.aio's AsyncSerializingProducer and AsyncDeserializingConsumer: the synchronous
serializing clients' hooks and rules on the asyncio clients, plus async hooks.

Checked: plain callables, confluent-kafka's synchronous Serializer/Deserializer objects (and the
context they get), async hooks (awaited, the key's before the value's), a deserializer's error
(raised again until the application seeks past it, nothing committed past it, also by a restarted
group), serializer errors (nothing sent, a value coroutine never started), batch consume(n),
concurrent calls taking turns, cancellation of a waiting poll and of a call awaiting a hook
(nothing lost or skipped), and a round trip with confluent-kafka's asyncio Avro serializer and
deserializer through the real Apicurio Registry that tests/test_serialization.py starts.
"""

from __future__ import annotations

import asyncio
import gc
import json
import warnings
from typing import Any

import pytest
import test_serialization
from confluent_kafka.schema_registry import AsyncSchemaRegistryClient
from confluent_kafka.schema_registry.avro import AsyncAvroDeserializer, AsyncAvroSerializer
from confluent_kafka.serialization import Serializer, StringDeserializer, StringSerializer
from test_serialization import USER_SCHEMA, USERS, _committed, _produce_raw, group

import ferrokafka as fk
from aio_helpers import run
from conftest import Backend, consumer_config
from ferrokafka.aio import AsyncDeserializingConsumer, AsyncSerializingProducer
from ferrokafka.serialization import (
    DeserializationError,
    DeserializedMessage,
    DeserializingConsumer,
    KeyDeserializationError,
    KeySerializationError,
    MessageField,
    SerializationContext,
    SerializingProducer,
    ValueDeserializationError,
    ValueSerializationError,
)
from realkafka.registry import SchemaRegistry

# Fixtures of the synchronous clients' tests: the session's Apicurio Registry, topics.
schema_registry = test_serialization.schema_registry
mock_topic = test_serialization.mock_topic
topic = test_serialization.topic

# A short session: the mock cluster lets a restarted group in only once the old member's is over.
SHORT_SESSION = {"session.timeout.ms": 1000, "heartbeat.interval.ms": 100}


async def take(consumer: AsyncDeserializingConsumer[Any, Any], n: int) -> list[DeserializedMessage[Any, Any]]:
    """consume() until `n` messages arrived (fails after 30 s without one)."""
    got: list[DeserializedMessage[Any, Any]] = []
    while len(got) < n:
        batch = await consumer.consume(n - len(got), timeout=30)
        assert batch, f"got {len(got)} of {n} messages"
        got += batch
    return got


def _picky(data: memoryview) -> str:
    text = str(data, "utf-8")
    if text.startswith("bad"):
        raise ValueError(f"cannot read {text!r}")
    return text


async def _async_picky(data: memoryview) -> str:
    await asyncio.sleep(0)
    return _picky(data)


# --- hooks ----------------------------------------------------------------------------------------


def test_plain_callables_async_with_and_await_construction(mock_cluster: fk.MockCluster, mock_topic: str) -> None:
    """Plain one-argument callables both ways; ``async with``; ``await Cls(config)`` (confluent-kafka's
    form) is the client itself; poll(), ``async for`` and consume() hand out DeserializedMessage,
    None stays None; coroutine rebalance callbacks get the wrapper."""
    bootstrap = mock_cluster.bootstrap_servers

    async def main() -> None:
        config = {"bootstrap.servers": bootstrap, "key.serializer": str.encode, "value.serializer": json.dumps}
        async with await AsyncSerializingProducer(config) as producer:
            assert isinstance(producer, AsyncSerializingProducer)
            futures = [await producer.produce(mock_topic, {"n": i}, key=f"k{i}") for i in range(3)]
            futures.append(await producer.produce(mock_topic, None, key="tombstone"))
            assert await producer.flush(10) == 0
            assert [(await f).offset for f in futures] == [0, 1, 2, 3]
        assert producer.closed

        assigned: list[object] = []

        async def on_assign(consumer: object, partitions: list[fk.TopicPartition]) -> None:
            await asyncio.sleep(0)
            assigned.append(consumer)

        config = consumer_config(
            bootstrap,
            group(),
            **{"key.deserializer": bytes, "value.deserializer": lambda data: json.loads(bytes(data))},
        )
        consumer: AsyncDeserializingConsumer[bytes, dict[str, int]] = AsyncDeserializingConsumer(config)
        async with consumer:
            await consumer.subscribe(mock_topic, on_assign=on_assign)
            first = await consumer.poll(30)
            assert isinstance(first, DeserializedMessage)
            assert (first.key, first.value, first.offset) == (b"k0", {"n": 0}, 0)
            async for second in consumer:
                assert (second.key, second.value, second.offset) == (b"k1", {"n": 1}, 1)
                break
            rest = await take(consumer, 2)
            assert [(m.key, m.value) for m in rest] == [(b"k2", {"n": 2}), (b"tombstone", None)]
            assert assigned == [consumer]
            assert await consumer.poll(0.1) is None
            await consumer.commit(asynchronous=False)
            (committed,) = await consumer.committed([fk.TopicPartition(mock_topic, 0)], timeout=10)
            assert committed.offset == 4
        assert consumer.closed

    run(main())


class RecordingSerializer(Serializer):
    """confluent-kafka's Serializer class: called as f(obj, ctx), whatever its signature says."""

    def __init__(self) -> None:
        self.contexts: list[tuple[str, str]] = []

    def __call__(self, obj: Any, ctx: Any = None) -> bytes:
        self.contexts.append((ctx.topic, ctx.field))
        ctx.headers.append(("by", b"recording"))
        return str(obj).encode()


def test_confluent_sync_serializers(mock_cluster: fk.MockCluster, mock_topic: str) -> None:
    """confluent-kafka's StringSerializer/StringDeserializer (which calls ``.decode()``: it gets
    bytes) and a Serializer subclass that sees the context and adds a header."""
    bootstrap = mock_cluster.bootstrap_servers
    recording = RecordingSerializer()

    async def main() -> None:
        config = {"bootstrap.servers": bootstrap, "key.serializer": StringSerializer(), "value.serializer": recording}
        async with AsyncSerializingProducer(config) as producer:
            report = await (await producer.produce(mock_topic, 42, key="caf\u00e9"))
            assert report.offset == 0
        assert recording.contexts == [(mock_topic, MessageField.VALUE)]

        deserializers = {"key.deserializer": StringDeserializer(), "value.deserializer": StringDeserializer("ascii")}
        async with AsyncDeserializingConsumer(consumer_config(bootstrap, group(), **deserializers)) as consumer:
            await consumer.assign([fk.TopicPartition(mock_topic, 0, fk.OFFSET_BEGINNING)])
            (msg,) = await take(consumer, 1)
        assert (msg.key, msg.value, msg.headers) == ("caf\u00e9", "42", (("by", b"recording"),))

    run(main())


def test_async_hooks_are_awaited_key_before_value(mock_cluster: fk.MockCluster, mock_topic: str) -> None:
    """``async def`` hooks and an object whose ``__call__`` is a coroutine function, with and without
    a context: each is awaited, the key's to its end before the value's starts; produce_batch too."""
    bootstrap = mock_cluster.bootstrap_servers
    events: list[str] = []

    async def key_serializer(obj: str, ctx: SerializationContext) -> bytes:
        events.append(f"key {ctx.field} start")
        await asyncio.sleep(0.01)
        events.append("key end")
        return obj.encode()

    class ValueSerializer:
        async def __call__(self, obj: int, ctx: SerializationContext | None = None) -> bytes:
            assert ctx is not None
            events.append(f"value {ctx.field} start")
            await asyncio.sleep(0)
            ctx.headers.append(("schema", b"int"))
            return b"%d" % obj

    async def key_deserializer(data: memoryview) -> str:
        await asyncio.sleep(0)
        return str(data, "utf-8").upper()

    class ValueDeserializer:
        async def __call__(self, data: memoryview, ctx: SerializationContext) -> tuple[int, str]:
            await asyncio.sleep(0)
            return int(data), ctx.topic

    async def main() -> None:
        config = {
            "bootstrap.servers": bootstrap,
            "key.serializer": key_serializer,
            "value.serializer": ValueSerializer(),
        }
        async with AsyncSerializingProducer(config) as producer:
            await producer.produce(mock_topic, 1, key="a")
            assert events == ["key key start", "key end", "value value start"]
            batch = await producer.produce_batch(mock_topic, [2, 3], keys=["b", None], headers=[None, [("h", b"x")]])
            results = await batch
            assert results.errors == [] and [r.offset for r in results] == [1, 2]  # type: ignore[union-attr]

        deserializers = {"key.deserializer": key_deserializer, "value.deserializer": ValueDeserializer()}
        async with AsyncDeserializingConsumer(consumer_config(bootstrap, group(), **deserializers)) as consumer:
            await consumer.subscribe([mock_topic])
            got = await take(consumer, 3)
        assert [(m.key, m.value, m.headers) for m in got] == [
            ("A", (1, mock_topic), (("schema", b"int"),)),
            ("B", (2, mock_topic), (("schema", b"int"),)),
            (None, (3, mock_topic), (("h", b"x"), ("schema", b"int"))),
        ]

    run(main())


def test_configs_take_async_hooks_the_synchronous_clients_do_not(mock_cluster: fk.MockCluster) -> None:
    bootstrap = mock_cluster.bootstrap_servers

    async def hook(data: object) -> bytes:
        return b""

    async def main() -> None:
        for key in ("key.serializer", "value.serializer"):
            await AsyncSerializingProducer({"bootstrap.servers": bootstrap, key: hook}).close()
            with pytest.raises(TypeError, match="AsyncSerializingProducer"):
                SerializingProducer({"bootstrap.servers": bootstrap, key: hook})
            with pytest.raises(TypeError, match=key):
                AsyncSerializingProducer({"bootstrap.servers": bootstrap, key: 42})
            with pytest.raises(ValueError, match="builder"):
                AsyncSerializingProducer({"bootstrap.servers": bootstrap, f"{key}.builder": object()})
        base = consumer_config(bootstrap, group())
        for key in ("key.deserializer", "value.deserializer"):
            await AsyncDeserializingConsumer({**base, key: hook}).close()
            with pytest.raises(TypeError, match="AsyncDeserializingConsumer"):
                DeserializingConsumer({**base, key: hook})
            with pytest.raises(ValueError, match="builder"):
                AsyncDeserializingConsumer({**base, f"{key}.builder": object()})

    run(main())


# --- errors ---------------------------------------------------------------------------------------


def test_serializer_errors_send_nothing(mock_cluster: fk.MockCluster, mock_topic: str) -> None:
    """A sync or an async hook that raises: Key/ValueSerializationError, the cause chained, nothing
    sent; when the key fails the value's hook never starts (its coroutine is closed)."""
    bootstrap = mock_cluster.bootstrap_servers
    value_calls: list[object] = []

    async def key_serializer(obj: str) -> bytes:
        if obj == "no":
            raise RuntimeError("refused key")
        return obj.encode()

    async def value_serializer(obj: str) -> bytes:
        value_calls.append(obj)
        if obj == "no":
            raise LookupError("refused value")
        return obj.encode()

    async def main() -> None:
        config = {
            "bootstrap.servers": bootstrap,
            "key.serializer": key_serializer,
            "value.serializer": value_serializer,
        }
        async with AsyncSerializingProducer(config) as producer:
            with warnings.catch_warnings(record=True) as warned:
                warnings.simplefilter("always")
                with pytest.raises(KeySerializationError) as key_error:
                    await producer.produce(mock_topic, "yes", key="no")
                facts = (type(key_error.value.__cause__), key_error.value.index, key_error.value.code)
                del key_error  # its traceback holds the frames that held the value's coroutine
                gc.collect()
            assert facts == (RuntimeError, None, fk.KafkaError._KEY_SERIALIZATION)
            assert value_calls == []  # the value's hook never started, and its coroutine was closed:
            assert not [w for w in warned if "never awaited" in str(w.message)]
            with pytest.raises(ValueSerializationError) as value_error:
                await producer.produce(mock_topic, "no", key="yes")
            assert isinstance(value_error.value.exception, LookupError)
            with pytest.raises(ValueSerializationError) as in_batch:
                await producer.produce_batch(mock_topic, ["a", "no", "c"])
            assert in_batch.value.index == 1 and value_calls == ["no", "a", "no"]
            with pytest.raises(ValueError, match="keys has 1 entries"):
                await producer.produce_batch(mock_topic, ["a", "b"], keys=["k"])
            with pytest.raises(TypeError):
                await producer.produce(mock_topic, "key", "value")  # type: ignore[call-arg]
            assert len(producer) == 0
            assert await producer.flush(1) == 0
        with fk.Consumer(consumer_config(bootstrap, group())) as probe:
            assert probe.get_watermark_offsets(fk.TopicPartition(mock_topic, 0), timeout=10) == (0, 0)

    run(main())


def test_deserializer_error_is_raised_again_and_nothing_past_it_is_committed(
    mock_cluster: fk.MockCluster, mock_topic: str
) -> None:
    """An async deserializer raises on offset 1: poll raises ValueDeserializationError naming it
    (the raw message, the cause), again on the next call; commit(), auto-commit and close never
    pass it; a restarted group gets it again; seeking past it moves on."""
    bootstrap = mock_cluster.bootstrap_servers
    _produce_raw(bootstrap, mock_topic, [b"good0", b"bad1", b"good2"])
    group_id = group()
    config = consumer_config(
        bootstrap,
        group_id,
        **{"value.deserializer": _async_picky, "auto.commit.interval.ms": 100, **SHORT_SESSION},
    )

    async def main() -> None:
        async with AsyncDeserializingConsumer(config) as consumer:
            await consumer.subscribe(mock_topic)
            (first,) = await take(consumer, 1)
            assert first.value == "good0"
            for _ in range(2):
                with pytest.raises(ValueDeserializationError) as caught:
                    await consumer.poll(30)
                err = caught.value
                assert (err.topic, err.partition, err.offset, err.field) == (mock_topic, 0, 1, MessageField.VALUE)
                assert err.code == fk.KafkaError._VALUE_DESERIALIZATION and isinstance(err, DeserializationError)
                assert isinstance(err.__cause__, ValueError) and err.exception is err.__cause__
                assert err.kafka_message is not None and bytes(err.kafka_message.payload or b"") == b"bad1"
            await asyncio.sleep(0.3)  # auto-commit runs meanwhile
            await consumer.commit(asynchronous=False)
            (committed,) = await consumer.committed([fk.TopicPartition(mock_topic, 0)], timeout=10)
            assert committed.offset == 1
        assert _committed(bootstrap, group_id, mock_topic) == 1

        async with AsyncDeserializingConsumer(config) as consumer:
            await consumer.subscribe(mock_topic)
            with pytest.raises(ValueDeserializationError) as again:
                await consumer.poll(30)
            assert again.value.offset == 1
            await consumer.seek(fk.TopicPartition(mock_topic, 0, 2))
            (last,) = await take(consumer, 1)
            assert (last.offset, last.value) == (2, "good2")
        assert _committed(bootstrap, group_id, mock_topic) == 3

    run(main())


def test_batch_consume_returns_the_messages_before_a_failure(mock_cluster: fk.MockCluster, mock_topic: str) -> None:
    """consume(n) hands out what precedes a failing message, in order; the next call raises for it;
    the committed offset stops at it; a key deserializer's failure is a KeyDeserializationError."""
    bootstrap = mock_cluster.bootstrap_servers
    _produce_raw(bootstrap, mock_topic, [b"g0", b"g1", b"bad2", b"g3"])
    group_id = group()
    config = consumer_config(bootstrap, group_id, **{"value.deserializer": _picky, **SHORT_SESSION})

    async def main() -> None:
        async with AsyncDeserializingConsumer(config) as consumer:
            await consumer.subscribe(mock_topic)
            got: list[DeserializedMessage[Any, Any]] = []
            with pytest.raises(ValueDeserializationError) as caught:
                while True:
                    got += await consumer.consume(100, timeout=30)
            assert [(m.offset, m.value) for m in got] == [(0, "g0"), (1, "g1")]
            assert caught.value.offset == 2
            with pytest.raises(ValueDeserializationError):
                await consumer.consume(100, timeout=30)
        assert _committed(bootstrap, group_id, mock_topic) == 2

        async def bad_key(data: memoryview) -> bytes:
            raise ValueError("no keys today")

        async with AsyncDeserializingConsumer({**config, "key.deserializer": bad_key}) as consumer:
            await consumer.subscribe(mock_topic)
            with pytest.raises(KeyDeserializationError) as key_error:
                await consumer.consume(100, timeout=30)
            assert key_error.value.offset == 2 and key_error.value.field is MessageField.KEY
        assert _committed(bootstrap, group_id, mock_topic) == 2

    run(main())


def test_concurrent_calls_take_turns_so_nothing_passes_a_failure(mock_cluster: fk.MockCluster, mock_topic: str) -> None:
    """Two polls at once while the first awaits a hook that then fails: the second waits for it
    (were it to take the next message meanwhile, its offset would pass the failed one), then gets
    the failed message again; the committed offset stays before it."""
    bootstrap = mock_cluster.bootstrap_servers
    _produce_raw(bootstrap, mock_topic, [b"g0", b"bad1", b"g2"])

    async def slow_picky(data: memoryview) -> str:
        if bytes(data).startswith(b"bad"):
            await asyncio.sleep(0.05)
        return _picky(data)

    async def main() -> None:
        config = consumer_config(bootstrap, group(), **{"value.deserializer": slow_picky})
        async with AsyncDeserializingConsumer(config) as consumer:
            await consumer.subscribe(mock_topic)
            (first,) = await take(consumer, 1)
            both = await asyncio.gather(consumer.poll(30), consumer.poll(30), return_exceptions=True)
            assert [(type(r), getattr(r, "offset", None)) for r in both] == [(ValueDeserializationError, 1)] * 2
            await consumer.commit(asynchronous=False)
            (committed,) = await consumer.committed([fk.TopicPartition(mock_topic, 0)], timeout=10)
            assert (first.value, committed.offset) == ("g0", 1)

    run(main())


# --- cancellation ---------------------------------------------------------------------------------


def test_cancelled_calls_lose_nothing(mock_cluster: fk.MockCluster, mock_topic: str) -> None:
    """A poll cancelled while it waits for messages, and a consume cancelled while it awaits a hook
    on messages it took: the messages all come later, once each and in order, and the committed
    offset is after the last one handed out."""
    bootstrap = mock_cluster.bootstrap_servers
    group_id = group()
    hook_calls: list[bytes] = []
    stalled = asyncio.Event()

    async def deserializer(data: memoryview) -> str:
        hook_calls.append(bytes(data))
        if len(hook_calls) == 2:  # the second message: stalls until cancelled
            stalled.set()
            await asyncio.sleep(3600)
        return str(data, "utf-8")

    config = consumer_config(bootstrap, group_id, **{"value.deserializer": deserializer})

    async def main() -> None:
        async with AsyncDeserializingConsumer(config) as consumer:
            await consumer.subscribe(mock_topic)
            waiting = asyncio.ensure_future(consumer.poll())
            await asyncio.sleep(0.5)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            assert hook_calls == []

            _produce_raw(bootstrap, mock_topic, [b"m0", b"m1", b"m2", b"m3"])
            (m0,) = await take(consumer, 1)
            stalling = asyncio.ensure_future(consumer.consume(10, timeout=30))
            await asyncio.wait_for(stalled.wait(), 30)
            stalling.cancel()
            with pytest.raises(asyncio.CancelledError):
                await stalling
            rest = await take(consumer, 3)
            assert [(m.offset, m.value) for m in [m0, *rest]] == [(0, "m0"), (1, "m1"), (2, "m2"), (3, "m3")]
            assert hook_calls[:2] == [b"m0", b"m1"] and hook_calls.count(b"m1") == 2
            await consumer.commit(asynchronous=False)
            (committed,) = await consumer.committed([fk.TopicPartition(mock_topic, 0)], timeout=10)
            assert committed.offset == 4

    run(main())


# --- a schema registry ----------------------------------------------------------------------------


def test_async_avro_round_trip_through_apicurio(backend: Backend, topic: str, schema_registry: SchemaRegistry) -> None:
    """confluent-kafka's asyncio AvroSerializer/AvroDeserializer (their calls are coroutines, with
    an AsyncSchemaRegistryClient) as hooks for keys and values: the schemas are registered under
    "<topic>-key"/"<topic>-value", the records, keys and headers come back, and a consumer without
    deserializers gets the raw bytes: Confluent's wire format with the registry's id."""

    async def main() -> None:
        async with AsyncSchemaRegistryClient({"url": schema_registry.url}) as registry:
            config = {
                "bootstrap.servers": backend.bootstrap,
                "key.serializer": await AsyncAvroSerializer(registry, '"string"'),
                "value.serializer": await AsyncAvroSerializer(registry, USER_SCHEMA),
            }
            async with AsyncSerializingProducer(config) as producer:
                futures = [
                    await producer.produce(topic, user, key=user["name"], headers=[("n", str(i).encode())])
                    for i, user in enumerate(USERS)
                ]
                assert [(await f).offset for f in futures] == [0, 1, 2]

            deserializers = {
                "key.deserializer": await AsyncAvroDeserializer(registry),
                "value.deserializer": await AsyncAvroDeserializer(registry),
            }
            async with AsyncDeserializingConsumer(consumer_config(backend.bootstrap, group(), **deserializers)) as c:
                await c.subscribe(topic)
                got = await take(c, 3)
            async with AsyncDeserializingConsumer(consumer_config(backend.bootstrap, group())) as raw:
                await raw.subscribe(topic)
                (first_raw,) = await take(raw, 1)
            subjects = await registry.get_subjects()
            latest = await registry.get_latest_version(f"{topic}-value")
        assert [m.value for m in got] == USERS
        assert [m.key for m in got] == [u["name"] for u in USERS]
        assert [m.headers for m in got] == [(("n", b"0"),), (("n", b"1"),), (("n", b"2"),)]
        assert sorted(s for s in subjects if s.startswith(topic)) == [f"{topic}-key", f"{topic}-value"]
        assert json.loads(latest.schema.schema_str)["name"] == "User"
        payload = first_raw.value
        assert isinstance(payload, bytes) and payload[0] == 0
        assert int.from_bytes(payload[1:5], "big") == latest.schema_id

    run(main())
