"""A name ferrokafka shares with confluent-kafka behaves as confluent-kafka's: code written for
confluent-kafka that runs on ferrokafka does what it did there, or fails at once — never silently
something else. Each test runs one scenario with confluent-kafka (the expected value) and with
ferrokafka, side by side, on the same cluster, and compares what the application observed.

The traps: the delivery callback's argument order, ``KafkaError(code)``, a full queue raising
``BufferError``, ``code()``/``name()``/``str()`` and equality with a code on the errors callbacks
get, ``on_assign`` running before the assignment with mutable partitions (``p.offset = ...;
consumer.assign(partitions)``), ``stats_cb`` getting JSON text, ``TopicPartition`` equality and
hashing, ``consume()``'s default count and ``commit()``'s default mode; the asyncio consumers'
on_assign too.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import ferrokafka as fk
import ferrokafka.aio as fk_aio
from conftest import Backend, consumer_config, produce_n

ck = pytest.importorskip("confluent_kafka")

TIMEOUT = 30
UNREACHABLE = "127.0.0.1:1"  # nothing listens there: every message times out, errors reach error_cb

# The two libraries under the same names, as code written for confluent-kafka imports them.
LIBRARIES: dict[str, Any] = {"confluent": ck, "ferrokafka": fk}


def both(scenario: Callable[[Any], Any]) -> tuple[Any, Any]:
    """Runs `scenario(library)` with confluent-kafka, then with ferrokafka: (expected, actual)."""
    return scenario(ck), scenario(fk)


# --- delivery callbacks: on_delivery(err, msg) ----------------------------------------------------


def _delivery_outcomes(lib: Any, bootstrap: str, topic: str, extra: dict[str, Any]) -> list[tuple[str, Any]]:
    """confluent-kafka's canonical delivery callback: `if err is not None: failure`."""
    outcomes: list[tuple[str, Any]] = []

    def on_delivery(err: Any, msg: Any) -> None:
        if err is not None:
            outcomes.append(("failed", err.code()))
        else:
            outcomes.append(("delivered", None))

    producer = lib.Producer({"bootstrap.servers": bootstrap, **extra})
    producer.produce(topic, b"payload", on_delivery=on_delivery)
    producer.flush(TIMEOUT)
    if lib is fk:
        producer.close(TIMEOUT)
    return outcomes


def test_on_delivery_gets_the_error_first(mock_cluster, topic_name):
    mock_cluster.create_topic(topic_name, 1)
    delivered = both(lambda lib: _delivery_outcomes(lib, mock_cluster.bootstrap_servers, topic_name, {}))
    assert delivered[0] == [("delivered", None)]
    assert delivered[1] == delivered[0], "a success must not be reported as a failure"
    timed_out = both(lambda lib: _delivery_outcomes(lib, UNREACHABLE, topic_name, {"message.timeout.ms": 300}))
    assert timed_out[0] == [("failed", ck.KafkaError._MSG_TIMED_OUT)]
    assert timed_out[1] == timed_out[0], "a failure must not be reported as a success"


def test_on_delivery_from_the_config_and_per_batch_message(mock_cluster, topic_name):
    """The config's `on_delivery` and `produce_batch()`'s are called error first too."""
    mock_cluster.create_topic(topic_name, 1)

    def scenario(lib: Any) -> list[tuple[bool, bool]]:
        calls: list[tuple[bool, bool]] = []

        def on_delivery(err: Any, msg: Any) -> None:
            calls.append((err is None, msg is not None))

        producer = lib.Producer({"bootstrap.servers": mock_cluster.bootstrap_servers, "on_delivery": on_delivery})
        producer.produce(topic_name, b"a")
        producer.produce_batch(topic_name, [{"value": b"b"}, {"value": b"c"}], on_delivery=on_delivery)
        producer.flush(TIMEOUT)
        if lib is fk:
            producer.close(TIMEOUT)
        return sorted(calls)

    expected, actual = both(scenario)
    assert expected == [(True, True)] * 3
    assert actual == expected


# --- KafkaError and KafkaException ----------------------------------------------------------------


def _describe(err: Any) -> tuple[Any, ...]:
    return (err.code(), err.name(), err.str(), err.retriable(), err.fatal(), err.txn_requires_abort(), str(err))


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (("_MSG_TIMED_OUT",), {}),
        (("_MSG_TIMED_OUT", "my reason"), {}),
        (("UNKNOWN_TOPIC_OR_PART",), {"retriable": True}),
        (("_FENCED", "fenced"), {"fatal": True, "txn_requires_abort": True}),
        ((12345, "a code librdkafka does not know"), {}),
    ],
)
def test_kafka_error_is_built_from_a_code(args, kwargs):
    def scenario(lib: Any) -> tuple[Any, ...]:
        code = getattr(lib.KafkaError, args[0]) if isinstance(args[0], str) else args[0]
        return _describe(lib.KafkaError(code, *args[1:], **kwargs))

    expected, actual = both(scenario)
    assert actual == expected


def test_kafka_error_compares_and_hashes_as_its_code():
    def scenario(lib: Any) -> tuple[Any, ...]:
        err = lib.KafkaError(lib.KafkaError._ALL_BROKERS_DOWN, "down")
        same_code = lib.KafkaError(lib.KafkaError._ALL_BROKERS_DOWN, "another reason")
        return (
            err == lib.KafkaError._ALL_BROKERS_DOWN,
            err != lib.KafkaError._ALL_BROKERS_DOWN,
            err == lib.KafkaError._TRANSPORT,
            err == same_code,
            hash(err) == hash(lib.KafkaError._ALL_BROKERS_DOWN),
            {err: "x"}.get(lib.KafkaError._ALL_BROKERS_DOWN),
            err < 0,
            err in [lib.KafkaError._TRANSPORT, lib.KafkaError._ALL_BROKERS_DOWN],
        )

    expected, actual = both(scenario)
    assert expected == (True, False, False, True, True, "x", True, True)
    assert actual == expected


def test_kafka_error_refuses_what_is_not_a_code():
    for lib in LIBRARIES.values():
        with pytest.raises(TypeError):
            lib.KafkaError("boom")
        with pytest.raises(TypeError):
            lib.KafkaError()


def test_kafka_exception_carries_the_kafka_error():
    def scenario(lib: Any) -> tuple[Any, ...]:
        try:
            raise lib.KafkaException(lib.KafkaError(lib.KafkaError._STATE, "wrong state"))
        except lib.KafkaException as e:
            err = e.args[0]
            return (err.code(), err.name(), err.str(), err == lib.KafkaError._STATE, str(e))

    expected, actual = both(scenario)
    assert actual == expected


def test_raised_errors_answer_the_kafka_exception_idiom():
    """ferrokafka raises the error itself, a KafkaException whose args[0] is the error: confluent-kafka's
    `except KafkaException as e: e.args[0].code()` reads the same code from either library."""

    def scenario(lib: Any) -> tuple[Any, ...]:
        consumer = lib.Consumer({"bootstrap.servers": UNREACHABLE, "group.id": "g"})
        try:
            consumer.close()
            consumer.assignment()
        except RuntimeError as e:  # confluent-kafka: "Consumer closed"
            return ("closed", type(e).__name__)
        except lib.KafkaException as e:
            return ("kafka", e.args[0].code())
        except fk.Error:
            return ("closed", "Error")
        return ("no error",)

    expected, actual = both(scenario)
    assert expected[0] == "closed" and actual[0] == "closed"

    def pickled(lib: Any) -> tuple[Any, ...]:
        err = pickle.loads(pickle.dumps(lib.KafkaError(lib.KafkaError._TRANSPORT, "gone", retriable=True)))
        return _describe(err)

    expected, actual = both(pickled)
    assert actual == expected


# --- a full queue is a BufferError --------------------------------------------------------------


def test_a_full_queue_raises_buffer_error(mock_cluster, topic_name):
    mock_cluster.create_topic(topic_name, 1)
    config = {
        "bootstrap.servers": mock_cluster.bootstrap_servers,
        "queue.buffering.max.messages": 2,
        "linger.ms": 100,
    }

    def scenario(lib: Any) -> tuple[int, int, bool]:
        """confluent-kafka's documented loop: on BufferError, serve deliveries and try again."""
        producer = lib.Producer(config)
        full = 0
        for i in range(10):
            while True:
                try:
                    producer.produce(topic_name, b"%d" % i)
                    break
                except BufferError:
                    full += 1
                    producer.poll(0.5)
        remaining = producer.flush(TIMEOUT)
        if lib is fk:
            producer.close(TIMEOUT)
        return remaining, min(full, 1), True

    expected, actual = both(scenario)
    assert expected == (0, 1, True), "the queue never filled up: the scenario tests nothing"
    assert actual == expected


def test_queue_full_is_also_a_kafka_error(mock_cluster, topic_name):
    """ferrokafka's QueueFullError is a BufferError and a KafkaError (`_QUEUE_FULL`, retriable)."""
    config = {"bootstrap.servers": mock_cluster.bootstrap_servers, "queue.buffering.max.messages": 1, "linger.ms": 5000}
    with fk.Producer(config) as producer:
        producer.produce(topic_name, b"first")
        with pytest.raises(BufferError) as info:
            producer.produce(topic_name, b"second")
        err = info.value
        assert isinstance(err, fk.QueueFullError) and isinstance(err, fk.KafkaError)
        assert err == fk.KafkaError._QUEUE_FULL and err.retriable() and err.args[0] is err
        producer.purge()


# --- the errors callbacks get ------------------------------------------------------------------


def test_error_cb_errors_answer_confluent_kafkas_methods():
    def scenario(lib: Any) -> tuple[Any, ...]:
        errors: list[Any] = []
        done = threading.Event()

        def error_cb(err: Any) -> None:
            # confluent-kafka's idioms: methods, and equality with a code constant.
            if err == lib.KafkaError._TRANSPORT:
                errors.append((err.code(), err.name(), err.str(), err.retriable(), err.fatal()))
                done.set()

        client = lib.Producer({"bootstrap.servers": UNREACHABLE, "error_cb": error_cb})
        deadline = time.monotonic() + TIMEOUT
        while not done.is_set() and time.monotonic() < deadline:
            client.poll(0.2)
        if lib is fk:
            client.close(5)
        code, name, text, retriable, fatal = errors[0]
        # librdkafka's reason, as it gave it (without how long the attempt took)
        reason = re.sub(r" \(after \d+ms in state \w+.*\)$", "", text)
        return code, name, reason, fatal

    expected, actual = both(scenario)
    assert expected == (
        ck.KafkaError._TRANSPORT,
        "_TRANSPORT",
        f"{UNREACHABLE}/bootstrap: Connect to ipv4#{UNREACHABLE} failed: Connection refused",
        False,
    )
    assert actual == expected


def test_on_commit_errors_and_partitions(mock_cluster, topic_name, group_id):
    """on_commit(err, partitions): err is None or answers code(); partitions carry their offsets."""
    mock_cluster.create_topic(topic_name, 1)

    def scenario(lib: Any) -> list[tuple[Any, list[tuple[str, int, int]]]]:
        seen: list[tuple[Any, list[tuple[str, int, int]]]] = []

        def on_commit(err: Any, partitions: list[Any]) -> None:
            seen.append((None if err is None else err.code(), [(p.topic, p.partition, p.offset) for p in partitions]))

        config = consumer_config(mock_cluster.bootstrap_servers, group_id + lib.__name__, on_commit=on_commit)
        consumer = lib.Consumer(config)
        consumer.assign([lib.TopicPartition(topic_name, 0, 0)])
        consumer.commit(offsets=[lib.TopicPartition(topic_name, 0, 3)])  # asynchronous, in both
        deadline = time.monotonic() + TIMEOUT
        while not seen and time.monotonic() < deadline:
            consumer.poll(0.2)
        consumer.close()
        return seen

    expected, actual = both(scenario)
    assert expected == [(None, [(topic_name, 0, 3)])]
    assert actual == expected


# --- statistics -------------------------------------------------------------------------------


def test_stats_cb_gets_json_text(mock_cluster):
    def scenario(lib: Any) -> tuple[type, str]:
        stats: list[Any] = []
        producer = lib.Producer(
            {
                "bootstrap.servers": mock_cluster.bootstrap_servers,
                "statistics.interval.ms": 50,
                "stats_cb": stats.append,
            }
        )
        deadline = time.monotonic() + TIMEOUT
        while not stats and time.monotonic() < deadline:
            producer.poll(0.1)
        if lib is fk:
            producer.close(5)
        return type(stats[0]), json.loads(stats[0])["type"]

    expected, actual = both(scenario)
    assert expected == (str, "producer")
    assert actual == expected


# --- TopicPartition -----------------------------------------------------------------------------


def test_topic_partitions_are_equal_by_topic_and_partition():
    def scenario(lib: Any) -> tuple[Any, ...]:
        tp = lib.TopicPartition
        a, b = tp("t", 0, 5), tp("t", 0, 7)
        return (
            a == b,
            hash(a) == hash(b),
            tp("t", 0) in [tp("t", 0, 42)],
            {tp("t", 0, 1): "found"}.get(tp("t", 0)),
            len({a, b, tp("t", 1, 5)}),
            tp("a", 9) < tp("b", 0) and tp("t", 0, 9) < tp("t", 1, 0),
            [(p.topic, p.partition, p.offset) for p in sorted([tp("b", 0, 1), tp("a", 3, 2), tp("a", 1, 3)])],
        )

    expected, actual = both(scenario)
    assert actual == expected


def test_topic_partitions_take_a_new_partition_and_offset():
    def scenario(lib: Any) -> tuple[Any, ...]:
        tp = lib.TopicPartition("t", 0, 5)
        member = {tp}
        tp.offset = lib.OFFSET_BEGINNING
        tp.partition = 3
        refused = []
        for attr, value in [("topic", "u"), ("metadata", "m"), ("leader_epoch", 1), ("error", None)]:
            try:
                setattr(tp, attr, value)
            except AttributeError:
                refused.append(attr)
        values = (tp.topic, tp.partition, tp.offset)
        try:
            tp.offset = "x"  # (confluent-kafka then leaves -1 in the offset: not compared)
        except TypeError:
            refused.append("offset=str")
        return (*values, refused, tp in member, lib.TopicPartition("t", 0) in member)

    expected, actual = both(scenario)
    assert actual == expected


# --- admin arguments ------------------------------------------------------------------------


def test_new_topic_defaults_to_the_brokers_partitions_and_replication():
    """NewTopic(name) asks for the broker's num.partitions and default.replication.factor (-1), not
    one partition and one replica: a topic created without them is as durable as the broker says."""

    def scenario(lib: Any) -> tuple[int, int]:
        new_topic = (pytest.importorskip("confluent_kafka.admin").NewTopic if lib is ck else lib.NewTopic)("t")
        return new_topic.num_partitions, new_topic.replication_factor

    expected, actual = both(scenario)
    assert expected == (-1, -1)
    assert actual == expected


# --- rebalances: on_assign before the assignment, with partitions it may change ------------------


def _assign_from(backend: Backend, lib: Any, topic: str, group: str, strategy: str, call_assign: bool) -> Any:
    """confluent-kafka's pattern: on_assign sets each partition's offset and assigns them itself."""
    observed: dict[str, Any] = {"assignment_in_callback": None, "first": {}}

    def on_assign(consumer: Any, partitions: list[Any]) -> None:
        observed["assignment_in_callback"] = sorted(p.partition for p in consumer.assignment())
        if call_assign:
            for p in partitions:
                p.offset = 5
            if strategy == "cooperative-sticky":
                consumer.incremental_assign(partitions)
            else:
                consumer.assign(partitions)

    config = consumer_config(backend.bootstrap, group, **{"partition.assignment.strategy": strategy})
    consumer = lib.Consumer(config)
    consumer.subscribe([topic], on_assign=on_assign)
    deadline = time.monotonic() + TIMEOUT
    first: dict[int, int] = observed["first"]
    while len(first) < 2 and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if lib is ck:
            assert msg.error() is None, msg.error()
            first.setdefault(msg.partition(), msg.offset())
        else:
            first.setdefault(msg.partition, msg.offset)
    observed["assignment"] = sorted(p.partition for p in consumer.assignment())
    consumer.close()
    return observed


@pytest.mark.parametrize("call_assign", [True, False], ids=["assign-in-callback", "default-assignment"])
@pytest.mark.parametrize("strategy", ["range", "cooperative-sticky"])
def test_on_assign_runs_before_the_assignment_and_may_assign_itself(backend, topic_name, strategy, call_assign):
    backend.create_topic(topic_name, 2)
    produce_n(backend.bootstrap, topic_name, 20, partition=0)
    produce_n(backend.bootstrap, topic_name, 20, partition=1)
    expected = _assign_from(backend, ck, topic_name, f"ck-{topic_name}", strategy, call_assign)
    actual = _assign_from(backend, fk, topic_name, f"fk-{topic_name}", strategy, call_assign)
    start = 5 if call_assign else 0
    assert expected == {"assignment_in_callback": [], "first": {0: start, 1: start}, "assignment": [0, 1]}
    assert actual == expected


def test_on_revoke_runs_before_the_partitions_go_and_may_unassign_itself(backend, topic_name):
    """on_revoke sees the partitions still assigned, may commit, and may unassign() itself."""
    backend.create_topic(topic_name, 1)
    produce_n(backend.bootstrap, topic_name, 5)

    def scenario(lib: Any) -> tuple[Any, ...]:
        seen: list[Any] = []

        def on_revoke(consumer: Any, partitions: list[Any]) -> None:
            seen.append(sorted(p.partition for p in consumer.assignment()))
            consumer.commit(asynchronous=False)
            consumer.unassign()
            seen.append(sorted(p.partition for p in consumer.assignment()))

        group = f"{lib.__name__}-{topic_name}"
        consumer = lib.Consumer(consumer_config(backend.bootstrap, group, **{"enable.auto.commit": False}))
        consumer.subscribe([topic_name], on_revoke=on_revoke)
        got = 0
        deadline = time.monotonic() + TIMEOUT
        while got < 5 and time.monotonic() < deadline:
            if consumer.poll(0.5) is not None:
                got += 1
        consumer.unsubscribe()
        deadline = time.monotonic() + TIMEOUT
        while len(seen) < 2 and time.monotonic() < deadline:
            consumer.poll(0.2)
        committed = consumer.committed([lib.TopicPartition(topic_name, 0)], TIMEOUT)
        consumer.close()
        return got, seen, [p.offset for p in committed]

    expected, actual = both(scenario)
    assert expected == (5, [[0], []], [5])
    assert actual == expected


# --- consume() and commit() defaults ----------------------------------------------------------


def test_consume_takes_one_message_by_default_and_commit_is_asynchronous(mock_cluster, topic_name, group_id):
    mock_cluster.create_topic(topic_name, 1)
    produce_n(mock_cluster.bootstrap_servers, topic_name, 10)

    def scenario(lib: Any) -> tuple[Any, ...]:
        consumer = lib.Consumer(consumer_config(mock_cluster.bootstrap_servers, f"{group_id}-{lib.__name__}"))
        consumer.assign([lib.TopicPartition(topic_name, 0, 0)])
        deadline = time.monotonic() + TIMEOUT
        first: list[Any] = []
        while not first and time.monotonic() < deadline:
            first = consumer.consume(timeout=1)
        asynchronously = consumer.commit(offsets=[lib.TopicPartition(topic_name, 0, 1)])
        synchronously = consumer.commit(offsets=[lib.TopicPartition(topic_name, 0, 2)], asynchronous=False)
        consumer.close()
        return len(first), asynchronously, [(p.topic, p.partition, p.offset) for p in synchronously]

    expected, actual = both(scenario)
    assert expected == (1, None, [(topic_name, 0, 2)])
    assert actual == expected


async def _aio_assign_from(backend: Backend, aio: Any, topic: str, group: str, strategy: str) -> Any:
    """The same pattern with the asyncio consumers: a coroutine on_assign awaits assign() itself."""
    observed: dict[str, Any] = {"first": {}}

    async def on_assign(consumer: Any, partitions: list[Any]) -> None:
        observed["assignment_in_callback"] = sorted(p.partition for p in await consumer.assignment())
        for p in partitions:
            p.offset = 5
        if strategy == "cooperative-sticky":
            await consumer.incremental_assign(partitions)
        else:
            await consumer.assign(partitions)

    config = consumer_config(backend.bootstrap, group, **{"partition.assignment.strategy": strategy})
    consumer = aio.AIOConsumer(config)
    await consumer.subscribe([topic], on_assign=on_assign)
    deadline = time.monotonic() + TIMEOUT
    first: dict[int, int] = observed["first"]
    while len(first) < 2 and time.monotonic() < deadline:
        msg = await consumer.poll(0.5)
        if msg is None:
            continue
        if aio is fk_aio:
            first.setdefault(msg.partition, msg.offset)
        else:
            assert msg.error() is None, msg.error()
            first.setdefault(msg.partition(), msg.offset())
    observed["assignment"] = sorted(p.partition for p in await consumer.assignment())
    await consumer.close()
    return observed


@pytest.mark.parametrize("strategy", ["range", "cooperative-sticky"])
def test_aio_on_assign_may_assign_itself(backend, topic_name, strategy):
    ck_aio = pytest.importorskip("confluent_kafka.aio")
    backend.create_topic(topic_name, 2)
    produce_n(backend.bootstrap, topic_name, 20, partition=0)
    produce_n(backend.bootstrap, topic_name, 20, partition=1)
    expected = asyncio.run(_aio_assign_from(backend, ck_aio, topic_name, f"ck-aio-{topic_name}", strategy))
    actual = asyncio.run(_aio_assign_from(backend, fk_aio, topic_name, f"fk-aio-{topic_name}", strategy))
    assert expected == {"assignment_in_callback": [], "first": {0: 5, 1: 5}, "assignment": [0, 1]}
    assert actual == expected
