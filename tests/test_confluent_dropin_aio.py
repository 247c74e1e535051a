"""ferrokafka.confluent.aio, confluent-kafka's asyncio clients on ferrokafka.aio: the same
behaviour as confluent_kafka.aio, side by side on a mock cluster."""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import json
from typing import Any

import pytest

import ferrokafka as fk
import ferrokafka.confluent.aio as fc_aio
from ferrokafka import confluent as fc

ck = pytest.importorskip("confluent_kafka")
ck_aio = pytest.importorskip("confluent_kafka.aio")

pytestmark = pytest.mark.timeout(120)

BOTH = pytest.mark.parametrize("mods", [(ck, ck_aio), (fc, fc_aio)], ids=["confluent_kafka", "dropin"])


async def _produce(aio: Any, bootstrap: str, topic: str) -> list[Any]:
    seen: list[Any] = []

    producer = aio.AIOProducer({"bootstrap.servers": bootstrap})
    futures = [await producer.produce(topic, value=b"v%d" % i, key=b"k%d" % i) for i in range(3)]
    assert all(isinstance(f, asyncio.Future) for f in futures)
    await producer.flush()
    for future in futures:
        msg = await future
        seen.append(("result", msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.value(), msg.error()))
    await producer.close()
    return seen


@BOTH
def test_aio_produce_returns_a_future_of_the_delivered_message(mods, mock_cluster, topic_name):
    _, aio = mods
    mock_cluster.create_topic(topic_name)
    seen = asyncio.run(_produce(aio, mock_cluster.bootstrap_servers, topic_name))
    assert seen == [("result", topic_name, 0, i, b"k%d" % i, b"v%d" % i, None) for i in range(3)]


def test_aio_on_delivery_of_the_config_runs_on_the_loop(mock_cluster, topic_name):
    """confluent-kafka's AIOProducer ignores the config's on_delivery; the drop-in calls it, on the
    loop, with (err, msg) (a documented difference)."""
    mock_cluster.create_topic(topic_name)

    async def run() -> list[Any]:
        loop = asyncio.get_running_loop()
        seen: list[Any] = []

        def on_delivery(err: Any, msg: Any) -> None:
            seen.append((err, msg.value(), asyncio.get_running_loop() is loop))

        producer = fc_aio.AIOProducer({"bootstrap.servers": mock_cluster.bootstrap_servers, "on_delivery": on_delivery})
        await (await producer.produce(topic_name, b"a"))
        await producer.flush()
        await producer.close()
        return seen

    assert asyncio.run(run()) == [(None, b"a", True)]


@BOTH
def test_aio_failed_delivery_raises_kafka_exception(mods, topic_name):
    mod, aio = mods

    async def run() -> Any:
        producer = aio.AIOProducer({"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 200})
        future = await producer.produce(topic_name, value=b"x")
        await producer.flush(5)
        with pytest.raises(mod.KafkaException) as info:
            await future
        await producer.close()
        return info.value.args[0]

    error = asyncio.run(run())
    assert error.code() == mod.KafkaError._MSG_TIMED_OUT


async def _consume(mod: Any, aio: Any, bootstrap: str, topic: str, group: str) -> list[Any]:
    stats: list[Any] = []
    assigned: list[Any] = []

    async def stats_cb(stats_json: str) -> None:  # confluent-kafka's asyncio callbacks are coroutines
        stats.append(stats_json)

    async def on_assign(consumer: Any, partitions: list[Any]) -> None:
        assigned.append((type(consumer).__name__, [(p.topic, p.partition) for p in partitions]))
        for p in partitions:
            p.offset = 1
        await consumer.assign(partitions)

    consumer = aio.AIOConsumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": True,
            "statistics.interval.ms": 100,
            "stats_cb": stats_cb,
        }
    )
    await consumer.subscribe([topic], on_assign=on_assign)
    seen: list[Any] = []
    while True:
        msg = await consumer.poll(10)
        assert msg is not None
        if msg.error() is not None:
            seen.append(("error", msg.error().code()))
            break
        seen.append((msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.value()))
    result = await consumer.commit(asynchronous=False)
    seen.append([(p.topic, p.partition, p.offset) for p in result or []])
    await consumer.close()
    seen.append(assigned)
    seen.append(bool(stats) and all(isinstance(s, str) and json.loads(s)["type"] == "consumer" for s in stats))
    return seen


def test_aio_consumer_matches_confluent_kafka(mock_cluster, topic_name, group_id):
    mock_cluster.create_topic(topic_name)
    bootstrap = mock_cluster.bootstrap_servers
    with fk.Producer({"bootstrap.servers": bootstrap}) as producer:
        for i in range(3):
            producer.produce(topic_name, b"v%d" % i, b"k%d" % i)
        producer.flush(10)
    expected = asyncio.run(_consume(ck, ck_aio, bootstrap, topic_name, group_id + "-ck"))
    got = asyncio.run(_consume(fc, fc_aio, bootstrap, topic_name, group_id + "-fc"))
    assert got[:3] == [(topic_name, 0, i, b"k%d" % i, b"v%d" % i) for i in (1, 2)] + [("error", -191)]
    # the AIOConsumer class name differs by module only
    assert got == expected


@BOTH
def test_aio_serializing_clients_round_trip(mods, mock_cluster, topic_name, group_id):
    mod, aio = mods
    mock_cluster.create_topic(topic_name)
    bootstrap = mock_cluster.bootstrap_servers
    string = pytest.importorskip(mod.__name__ + ".serialization")

    async def run() -> Any:
        producer = await aio.AsyncSerializingProducer(
            {"bootstrap.servers": bootstrap, "value.serializer": string.StringSerializer()}
        )
        future = await producer.produce(topic_name, value="héllo")
        await producer.flush()
        await future
        await producer.close()
        consumer = await aio.AsyncDeserializingConsumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group_id + mod.__name__,
                "auto.offset.reset": "earliest",
                "value.deserializer": string.StringDeserializer(),
            }
        )
        await consumer.subscribe([topic_name])
        msg = await consumer.poll(10)
        await consumer.close()
        return msg.value()

    assert asyncio.run(run()) == "héllo"


@BOTH
@pytest.mark.parametrize("call", ["poll", "consume"])
def test_aio_consume_errors_come_back_as_messages(mods, mock_cluster, call):
    """An unknown topic is a message whose error() is set, from poll() and consume(), as
    confluent_kafka.aio's consumer returns it (not only an error_cb call)."""
    _, aio = mods

    async def run() -> list[Any]:
        consumer = aio.AIOConsumer(
            {
                "bootstrap.servers": mock_cluster.bootstrap_servers,
                "group.id": "g",
                "allow.auto.create.topics": False,
                "topic.metadata.refresh.interval.ms": 100,
            }
        )
        await consumer.subscribe(["no-such-topic"])
        got: list[Any] = []
        try:
            for _ in range(20):
                messages = [await consumer.poll(0.5)] if call == "poll" else await consumer.consume(5, 0.5)
                got = [(m.error().code(), m.error().fatal()) for m in messages if m is not None]
                if got:
                    break
        finally:
            await consumer.close()
        return got

    assert asyncio.run(run()) == [(fc.KafkaError.UNKNOWN_TOPIC_OR_PART, False)]


def _construct(aio: Any, cls: str, **kwargs: Any) -> str:
    """What constructing `aio.<cls>(conf, **kwargs)` in a running loop gives: "ok" or the exception."""

    async def quiet(err: Any) -> None:  # confluent_kafka.aio's callbacks are coroutine functions
        pass

    async def run() -> str:
        conf = {"bootstrap.servers": "127.0.0.1:1", "error_cb": quiet}
        if cls == "AIOConsumer":
            conf["group.id"] = "g"
        try:
            client = getattr(aio, cls)(conf, **kwargs)
        except Exception as error:  # the outcome compared
            return f"{type(error).__name__}: {error}"
        await client.close()
        return "ok"

    return asyncio.run(run())


@pytest.mark.parametrize("cls", ["AIOConsumer", "AIOProducer"])
def test_aio_max_workers_is_checked_as_confluent_kafka_checks_it(cls):
    """max_workers is unused by the drop-in (no thread pool), but a value confluent-kafka refuses
    is refused as it is (only when no executor is given: then confluent-kafka ignores it)."""
    cases: list[dict[str, Any]] = [{"max_workers": 0}, {"max_workers": -1}, {"max_workers": 1}]
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        cases.append({"max_workers": 0, "executor": pool})
        expected = [_construct(ck_aio, cls, **kwargs) for kwargs in cases]
        actual = [_construct(fc_aio, cls, **kwargs) for kwargs in cases]
    assert expected[0].startswith("ValueError: max_workers must be")
    assert expected[2:] == ["ok", "ok"]
    assert actual == expected


async def _executor_facts(aio: Any, cls: str) -> list[Any]:
    """What `executor` is (given, or made with max_workers) and what close() does to it."""
    conf: dict[str, Any] = {"bootstrap.servers": "127.0.0.1:1", "group.id": "executor"}
    if cls == "AIOProducer":
        del conf["group.id"]
    facts: list[Any] = []
    with concurrent.futures.ThreadPoolExecutor(3) as given:
        client = getattr(aio, cls)(dict(conf), executor=given)
        facts.append(("given", client.executor is given))
        await client.close()
        facts.append(("given, after close", _usable(given)))
    client = getattr(aio, cls)(dict(conf), max_workers=5)
    facts.append(("made", type(client.executor).__name__, client.executor._max_workers))
    await client.close()
    facts.append(("made, after close", _usable(client.executor)))
    return facts


def _usable(executor: concurrent.futures.Executor) -> str:
    try:
        return "usable" if executor.submit(int, "7").result() == 7 else "?"
    except RuntimeError:  # cannot schedule new futures after shutdown
        return "shut down"


@pytest.mark.parametrize("cls", ["AIOConsumer", "AIOProducer"])
def test_aio_executor_is_the_given_one_or_one_made_with_max_workers(cls):
    """`executor` is confluent-kafka's public attribute: the drop-in keeps it (running on it only
    the call with no loop-native form), and close() shuts it down as confluent-kafka's does (the
    producer's even when it was given, the consumer's only when it made it)."""
    expected = asyncio.run(_executor_facts(ck_aio, cls))
    assert expected[2] == ("made", "ThreadPoolExecutor", 5)
    assert asyncio.run(_executor_facts(fc_aio, cls)) == expected


def test_aio_cluster_id_asks_the_broker_on_the_executor(mock_cluster):
    """The one blocking call of the drop-in's asyncio clients runs on their executor."""
    used: list[str] = []

    class Counting(concurrent.futures.ThreadPoolExecutor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            used.append(getattr(fn, "__name__", type(fn).__name__))
            return super().submit(fn, *args, **kwargs)

    async def run() -> list[Any]:
        with Counting(1) as pool:
            producer = fc_aio.AIOProducer({"bootstrap.servers": mock_cluster.bootstrap_servers}, executor=pool)
            cluster_id = await producer.cluster_id(timeout=10)
            await producer.close()
        return [cluster_id is not None, len(used)]

    assert asyncio.run(run()) == [True, 1]


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("aio._AIOConsumer", "AIOConsumer"),
        ("aio.producer", "AIOProducer"),
        ("aio.producer._AIOProducer", "AIOProducer"),
    ],
)
def test_aio_classes_import_from_confluent_kafkas_module_paths(path, name):
    """confluent_kafka.aio.producer (and the private modules confluent-kafka defines the classes
    in) give the classes of confluent_kafka.aio, in confluent-kafka and in the drop-in."""
    assert getattr(importlib.import_module(f"confluent_kafka.{path}"), name) is getattr(ck_aio, name)
    assert getattr(importlib.import_module(f"ferrokafka.confluent.{path}"), name) is getattr(fc_aio, name)


async def _lifecycle(aio: Any, cls: str, bootstrap: str, topic: str) -> list[Any]:
    """`async with`, then close() again; a producer's len() with a delivery pending and after close."""
    seen: list[Any] = []
    conf: dict[str, Any] = {"bootstrap.servers": bootstrap}
    if cls == "AIOConsumer":
        conf["group.id"] = f"lifecycle-{topic}"
    async with getattr(aio, cls)(conf) as client:
        if cls == "AIOProducer":
            future = await client.produce(topic, b"v")
            seen.append(("pending", len(client) >= 0))
            await future
            seen.append(("delivered", len(client)))
    seen.append(("after close", len(client) if cls == "AIOProducer" else None))
    try:
        await client.close()
        seen.append("closed again")
    except Exception as error:  # the outcome compared
        seen.append(type(error).__name__)
    return seen


def test_aio_consumer_lifecycle(mock_cluster, topic_name):
    """`async with` closes; a second close() is harmless in the drop-in (confluent-kafka's
    AIOConsumer raises RuntimeError("Consumer closed") there: a documented difference)."""
    mock_cluster.create_topic(topic_name)
    run = lambda aio: asyncio.run(_lifecycle(aio, "AIOConsumer", mock_cluster.bootstrap_servers, topic_name))  # noqa: E731
    assert run(ck_aio) == [("after close", None), "RuntimeError"]
    assert run(fc_aio) == [("after close", None), "closed again"]


async def _after_close(aio: Any, mod: Any) -> dict[str, str]:
    """What each call of a closed AIOConsumer raises."""
    consumer = aio.AIOConsumer({"bootstrap.servers": "127.0.0.1:1", "group.id": "closed"})
    await consumer.close()
    tp = mod.TopicPartition("t", 0, 1)
    calls: dict[str, Any] = {
        "poll": lambda: consumer.poll(0.1),
        "consume": lambda: consumer.consume(1, 0.1),
        "subscribe": lambda: consumer.subscribe(["t"]),
        "unsubscribe": consumer.unsubscribe,
        "assign": lambda: consumer.assign([tp]),
        "assignment": consumer.assignment,
        "commit": lambda: consumer.commit(offsets=[tp]),
        "committed": lambda: consumer.committed([tp], 1),
        "store_offsets": lambda: consumer.store_offsets(offsets=[tp]),
        "position": lambda: consumer.position([tp]),
        "pause": lambda: consumer.pause([tp]),
        "seek": lambda: consumer.seek(tp),
        "get_watermark_offsets": lambda: consumer.get_watermark_offsets(tp, 1),
        "list_topics": lambda: consumer.list_topics(None, 1),
        "consumer_group_metadata": consumer.consumer_group_metadata,
    }
    seen: dict[str, str] = {}
    for name, call in calls.items():
        try:
            await call()
            seen[name] = "returned"
        except Exception as error:  # the outcome compared
            seen[name] = f"{type(error).__name__}: {error}"
    return seen


def test_aio_consumer_calls_after_close_raise_confluent_kafkas_runtime_error():
    expected = asyncio.run(_after_close(ck_aio, ck))
    assert set(expected.values()) == {"RuntimeError: Consumer closed"}
    assert asyncio.run(_after_close(fc_aio, fc)) == expected


def test_aio_producer_lifecycle(mock_cluster, topic_name):
    """As confluent-kafka's own test_close_method and test_aio_producer_len_closed_producer expect:
    close() twice is harmless and len() is 0 after close. (confluent-kafka 2.16's real AIOProducer
    raises RuntimeError on the second close, its executor being shut down; its tests mock that
    away.)"""
    mock_cluster.create_topic(topic_name)
    seen = asyncio.run(_lifecycle(fc_aio, "AIOProducer", mock_cluster.bootstrap_servers, topic_name))
    assert seen == [("pending", True), ("delivered", 0), ("after close", 0), "closed again"]
    confluent = asyncio.run(_lifecycle(ck_aio, "AIOProducer", mock_cluster.bootstrap_servers, topic_name))
    assert confluent[:3] == seen[:3]


@BOTH
def test_aio_subscribe_refuses_a_topic_that_is_not_a_list(mods, mock_cluster, group_id):
    """confluent-kafka's AIOConsumer.subscribe calls the C consumer's, whose TypeError comes back."""
    _, aio = mods

    async def run() -> str:
        consumer = aio.AIOConsumer({"bootstrap.servers": mock_cluster.bootstrap_servers, "group.id": group_id})
        try:
            with pytest.raises(TypeError) as raised:
                await consumer.subscribe("a-topic")
            return str(raised.value)
        finally:
            await consumer.close()

    assert asyncio.run(run()) == "expected list of topic unicode strings"


@pytest.mark.parametrize("cls", [fc_aio.AIOConsumer, fc_aio.AIOProducer])
def test_aio_clients_close_at_the_end_of_async_with(cls, mock_cluster, group_id):
    async def run() -> None:
        async with cls({"bootstrap.servers": mock_cluster.bootstrap_servers, "group.id": group_id}) as client:
            assert isinstance(client, cls)
        # Closed: the consumer raises confluent-kafka's RuntimeError("Consumer closed"); the producer
        # refuses to send (confluent-kafka's AIOProducer fails later, at the flush of its buffer).
        with pytest.raises(RuntimeError if cls is fc_aio.AIOConsumer else fk.Error):
            await (client.poll(0) if cls is fc_aio.AIOConsumer else client.produce("t", b"v"))

    asyncio.run(run())


@BOTH
@pytest.mark.parametrize("call", ["poll", "consume"])
def test_aio_close_ends_a_waiting_call_with_nothing_received(mods, call, mock_cluster, group_id):
    """A poll()/consume() task that close() (another task) meets ends with None or [], not an
    error; later calls raise confluent-kafka's RuntimeError("Consumer closed")."""
    _, aio = mods
    mock_cluster.create_topic(f"{group_id}-t")

    async def run() -> Any:
        consumer = aio.AIOConsumer({"bootstrap.servers": mock_cluster.bootstrap_servers, "group.id": group_id})
        await consumer.subscribe([f"{group_id}-t"])
        waiting = asyncio.ensure_future(consumer.poll(2) if call == "poll" else consumer.consume(10, 2))
        await asyncio.sleep(0.5)
        await consumer.close()
        result = await waiting
        with pytest.raises(RuntimeError, match="Consumer closed"):
            await (consumer.poll(0) if call == "poll" else consumer.consume(1, 0))
        return result

    assert asyncio.run(run()) == (None if call == "poll" else [])
