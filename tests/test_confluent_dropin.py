"""ferrokafka.confluent, the confluent-kafka drop-in: each behaviour it promises, with confluent-kafka
itself (installed in the test environment) as the expected value where it can run beside it, on the
same mock cluster."""

from __future__ import annotations

import gc
import importlib.util
import json
import logging
import pickle
import subprocess
import sys
import textwrap
import threading
import time
import types
import weakref
from typing import Any

import pytest

import ferrokafka as fk
import ferrokafka.confluent as fc
from ferrokafka.confluent import admin as fc_admin

ck = pytest.importorskip("confluent_kafka")
ck_admin = pytest.importorskip("confluent_kafka.admin")

pytestmark = pytest.mark.timeout(120)

BOTH = pytest.mark.parametrize("mod", [ck, fc], ids=["confluent_kafka", "dropin"])


def _produce_collect(mod: Any, bootstrap: str, topic: str, n: int, **extra: Any) -> list[tuple[Any, ...]]:
    """Produces n messages with a delivery callback; returns what the callbacks saw, in order, and
    on which thread."""
    seen: list[tuple[Any, ...]] = []

    def on_delivery(err: Any, msg: Any) -> None:
        seen.append(
            (
                err,
                type(msg).__name__,
                msg.topic(),
                msg.partition(),
                msg.offset() is not None and msg.offset() >= 0,
                msg.key(),
                msg.value(),
                msg.headers(),
                threading.current_thread() is threading.main_thread(),
            )
        )

    producer = mod.Producer({"bootstrap.servers": bootstrap, **extra})
    for i in range(n):
        producer.produce(topic, value=b"v%d" % i, key=f"k{i}", headers=[("h", b"x")], on_delivery=on_delivery)
    assert len(producer) == n
    assert seen == [], "delivery callbacks run only inside poll()/flush()"
    assert producer.flush(10) == 0
    assert len(producer) == 0
    return seen


@BOTH
def test_delivery_callback_is_err_msg_served_by_flush_on_the_calling_thread(mod, mock_cluster, topic_name):
    mock_cluster.create_topic(topic_name, partitions=1)
    seen = _produce_collect(mod, mock_cluster.bootstrap_servers, topic_name, 3)
    assert seen == [
        # A delivery report carries no headers.
        (None, "Message", topic_name, 0, True, b"k%d" % i, b"v%d" % i, None, True)
        for i in range(3)
    ]


def test_delivery_callbacks_match_confluent_kafka(mock_cluster, topic_name):
    mock_cluster.create_topic(topic_name, partitions=1)
    expected = _produce_collect(ck, mock_cluster.bootstrap_servers, topic_name, 4)
    assert _produce_collect(fc, mock_cluster.bootstrap_servers, topic_name, 4) == expected


@BOTH
def test_poll_serves_delivery_callbacks_and_counts_them(mod, mock_cluster, topic_name):
    mock_cluster.create_topic(topic_name)
    got: list[Any] = []
    producer = mod.Producer({"bootstrap.servers": mock_cluster.bootstrap_servers, "linger.ms": 0})
    producer.produce(topic_name, b"a", callback=lambda err, msg: got.append((err, msg.value())))
    served = 0
    for _ in range(100):
        served += producer.poll(0.1)
        if got:
            break
    assert served == 1
    assert got == [(None, b"a")]
    assert producer.poll(0) == 0


@BOTH
def test_failed_delivery_gets_a_kafka_error(mod, topic_name):
    got: list[Any] = []
    producer = mod.Producer({"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 200})
    producer.produce(topic_name, b"lost", on_delivery=lambda err, msg: got.append((err, msg.value())))
    assert producer.flush(10) == 0
    ((err, value),) = got
    assert value == b"lost"
    assert isinstance(err, mod.KafkaError)
    assert err.code() == mod.KafkaError._MSG_TIMED_OUT
    assert err == mod.KafkaError._MSG_TIMED_OUT


@BOTH
def test_full_queue_raises_buffer_error(mod, topic_name):
    producer = mod.Producer({"bootstrap.servers": "127.0.0.1:1", "queue.buffering.max.messages": 2})
    producer.produce(topic_name, b"1")
    producer.produce(topic_name, b"2")
    with pytest.raises(BufferError):
        producer.produce(topic_name, b"3")
    producer.purge()
    assert producer.flush(5) == 0


@BOTH
def test_exception_in_delivery_callback_propagates_from_poll(mod, mock_cluster, topic_name):
    mock_cluster.create_topic(topic_name)

    def boom(err: Any, msg: Any) -> None:
        raise ZeroDivisionError("from callback")

    producer = mod.Producer({"bootstrap.servers": mock_cluster.bootstrap_servers})
    producer.produce(topic_name, b"x", on_delivery=boom)
    with pytest.raises(ZeroDivisionError):
        producer.flush(10)
    assert producer.flush(10) == 0


@BOTH
def test_produce_batch_queues_dicts(mod, mock_cluster, topic_name):
    mock_cluster.create_topic(topic_name)
    got: list[Any] = []
    producer = mod.Producer({"bootstrap.servers": mock_cluster.bootstrap_servers})
    messages = [{"value": b"a"}, {"value": "b", "key": b"k"}, {"value": b"c", "partition": 0}]
    assert producer.produce_batch(topic_name, messages, on_delivery=lambda e, m: got.append((e, m.value()))) == 3
    assert producer.flush(10) == 0
    assert sorted(v for _, v in got) == [b"a", b"b", b"c"]
    assert all(e is None for e, _ in got)


# --- KafkaError, KafkaException, constants -------------------------------------------------------

CODES = [-191, -185, -184, -172, -150, 0, 1, 3, 6, 27, 47, 48, 51, 90]


@pytest.mark.parametrize("code", CODES)
def test_kafka_error_from_code_matches_confluent_kafka(code):
    ours, theirs = fc.KafkaError(code), ck.KafkaError(code)
    assert ours.code() == theirs.code() == code
    assert ours.name() == theirs.name()
    assert ours.str() == theirs.str()
    assert (ours.fatal(), ours.retriable(), ours.txn_requires_abort()) == (
        theirs.fatal(),
        theirs.retriable(),
        theirs.txn_requires_abort(),
    )
    assert ours == code and code == ours
    assert hash(ours) == hash(code)


def test_kafka_error_flags_reason_and_exception():
    err = fc.KafkaError(fc.KafkaError._TIMED_OUT, "slow", fatal=True, retriable=True, txn_requires_abort=True)
    theirs = ck.KafkaError(ck.KafkaError._TIMED_OUT, "slow", fatal=True, retriable=True, txn_requires_abort=True)
    assert (err.str(), err.fatal(), err.retriable(), err.txn_requires_abort()) == (
        theirs.str(),
        theirs.fatal(),
        theirs.retriable(),
        theirs.txn_requires_abort(),
    )
    exc = fc.KafkaException(err)
    assert exc.args[0] is err
    assert isinstance(exc, Exception)
    with pytest.raises(fc.KafkaException) as info:
        raise exc
    assert info.value.args[0].code() == fc.KafkaError._TIMED_OUT


def test_kafka_exception_also_catches_what_ferrokafka_raises():
    """The drop-in's KafkaException is ferrokafka's, and its KafkaError a subclass of ferrokafka's:
    ``except confluent_kafka.KafkaException`` catches an error of ferrokafka's native API too, and
    ``args[0]`` answers confluent-kafka's methods."""
    assert fc.KafkaException is fk.KafkaException
    assert issubclass(fc.KafkaError, fk.KafkaError)
    with pytest.raises(fc.KafkaException) as info:
        fk.Producer({"bootstrap.servers": "127.0.0.1:1"}).init_transactions(0.1)  # no transactional.id
    assert info.value.args[0].code() == fk.KafkaError._NOT_CONFIGURED
    assert fc.KafkaError(fc.KafkaError._STATE) == fk.KafkaError(fk.KafkaError._STATE)


def test_kafka_error_code_names_match_confluent_kafka():
    theirs = {
        name: getattr(ck.KafkaError, name) for name in dir(ck.KafkaError) if name.isupper() or name[1:2].isupper()
    }
    theirs = {name: value for name, value in theirs.items() if isinstance(value, int)}
    assert len(theirs) > 100
    ours = {name: getattr(fc.KafkaError, name, None) for name in theirs}
    assert ours == theirs


def test_constants_match_confluent_kafka():
    for name in (
        "OFFSET_BEGINNING",
        "OFFSET_END",
        "OFFSET_INVALID",
        "OFFSET_STORED",
        "TIMESTAMP_CREATE_TIME",
        "TIMESTAMP_LOG_APPEND_TIME",
        "TIMESTAMP_NOT_AVAILABLE",
    ):
        assert getattr(fc, name) == getattr(ck, name), name


def test_public_names_of_confluent_kafka_are_all_there():
    # Submodules show up in dir(ck) only once something imported them (another test may have
    # imported confluent_kafka.schema_registry): they are compared by the test below.
    names = [name for name in dir(ck) if not isinstance(getattr(ck, name), types.ModuleType)]
    missing = sorted(name for name in names if not name.startswith("_") and not hasattr(fc, name))
    assert missing == []


def test_confluent_kafka_s_submodules_are_the_dropin_s_or_its_own_pure_python_ones():
    import confluent_kafka.schema_registry  # noqa: F401  # make sure dir(ck) lists one of its own

    submodules = {n for n in dir(ck) if isinstance(getattr(ck, n), types.ModuleType)} - {"os"}
    ours = {n for n in submodules if importlib.util.find_spec(f"ferrokafka.confluent.{n}")}
    # What the drop-in does not have, install() serves from confluent-kafka's own files: these are
    # pure Python (no extension module among them).
    for name in sorted(submodules - ours):
        origin = getattr(ck, name).__file__ or ""
        assert origin.endswith(".py"), (name, origin)
    assert {"admin", "serialization", "error", "cimpl"} & submodules <= ours
    assert "schema_registry" in submodules - ours


def test_libversion_and_version_shapes():
    name, number = fc.libversion()
    assert isinstance(name, str) and name.count(".") == 2
    assert isinstance(number, int) and number > 0
    assert isinstance(fc.version()[0], str)


# --- TopicPartition ------------------------------------------------------------------------------


@BOTH
def test_topic_partition_is_mutable_and_equal_by_topic_and_partition(mod):
    tp = mod.TopicPartition("t", 1, 5)
    tp.offset = 7
    tp.partition = 2
    assert (tp.topic, tp.partition, tp.offset) == ("t", 2, 7)
    assert tp == mod.TopicPartition("t", 2, 99)
    assert hash(tp) == hash(mod.TopicPartition("t", 2))
    assert sorted([mod.TopicPartition("b", 0), mod.TopicPartition("a", 1), mod.TopicPartition("a", 0)]) == [
        mod.TopicPartition("a", 0),
        mod.TopicPartition("a", 1),
        mod.TopicPartition("b", 0),
    ]
    default = mod.TopicPartition("t")
    assert (default.partition, default.offset, default.metadata, default.leader_epoch, default.error) == (
        -1,
        mod.OFFSET_INVALID,
        None,
        None,
        None,
    )


# --- Message -------------------------------------------------------------------------------------


@BOTH
def test_message_built_by_hand(mod):
    msg = mod.Message(topic="t", partition=1, offset=2, key=b"k", value=b"vv", headers=[("h", b"1")])
    assert (msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.value(), msg.headers(), len(msg)) == (
        "t",
        1,
        2,
        b"k",
        b"vv",
        [("h", b"1")],
        2,
    )
    msg.set_value(b"x")
    msg.set_key(b"y")
    msg.set_headers([("a", None)])
    assert (msg.value(), msg.key(), msg.headers()) == (b"x", b"y", [("a", None)])
    assert msg.error() is None


@BOTH
def test_message_type_behaves_as_confluent_kafka_s(mod):
    """Message is a type of its own as confluent-kafka's C one: __new__ alone leaves zeroed fields,
    subclasses run its __init__, pickling goes through the base class, methods refuse other
    objects, equality compares the fields, and it is not hashable."""
    bare = mod.Message.__new__(mod.Message)
    assert (bare.partition(), bare.offset(), bare.leader_epoch(), bare.latency(), bare.timestamp()) == (
        0,
        0,
        0,
        0.0,
        (0, 0),
    )
    assert (bare.topic(), bare.key(), bare.value(), bare.error(), len(bare)) == (None, None, None, None, 0)
    empty = mod.Message()
    assert (empty.partition(), empty.offset(), empty.leader_epoch(), empty.latency()) == (None, None, None, None)
    assert empty.__reduce__() == (mod.Message, (None, -1, -1001, None, None, None, None, (0, 0), -1.0, -1, -1))

    class Sub(mod.Message):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            self.extra = 1

    sub = Sub("t", 1, 2, b"k", b"v")
    assert type(sub) is Sub and sub.extra == 1 and (sub.topic(), sub.offset(), sub.value()) == ("t", 2, b"v")
    assert type(pickle.loads(pickle.dumps(sub))) is mod.Message
    args = ("t", 1, 2, "k", "v", [], None, (0, 4), 5.67, 3, 5)
    msg = mod.Message(*args)
    restored = pickle.loads(pickle.dumps(msg))
    assert restored is not msg and restored.__reduce__() == (mod.Message, args) and restored == msg
    assert not (restored != msg) and (msg == object()) is False and (msg != object()) is True
    # equality leaves out the latency, the delivery count and the timestamp's type
    assert msg == mod.Message("t", 1, 2, "k", "v", [], None, (1, 4), 0.5, 3)
    assert msg != mod.Message("t", 1, 2, "k", "v", [], None, (0, 5), 5.67, 3, 5)
    assert msg != mod.Message("t", 1, 2, "k", "v", [], None, (0, 4), 5.67, 4, 5)
    assert msg != mod.Message("t", 1, 2, "k", "w", [], None, (0, 4), 5.67, 3, 5)
    with pytest.raises(TypeError):
        hash(msg)
    for method in ("topic", "value", "key", "headers", "error", "partition", "offset", "timestamp", "latency"):
        with pytest.raises(TypeError):
            getattr(mod.Message, method)(object())
    with pytest.raises(TypeError):
        mod.Message.__new__(str)
    with pytest.raises(TypeError):
        mod.Message.set_value(None, b"v")
    with pytest.raises(TypeError):
        len(mod.Message(value=1))
    with pytest.raises(TypeError):
        mod.Message(timestamp=(1, 2, 3))
    with pytest.raises(TypeError):
        mod.Message(partition=1.5)
    with pytest.raises(OverflowError):
        mod.Message(delivery_count=1 << 20)
    assert mod.Message(delivery_count=0).delivery_count() is None
    dummy = object()
    odd = mod.Message(dummy, 0, 0, dummy, dummy, dummy, dummy, None, -1.0, -1)
    assert odd.topic() is dummy and odd.value() is dummy and odd.key() is dummy and odd.error() is dummy
    assert (
        str(odd) and repr(odd) and mod.Message.__module__ in ("cimpl", "confluent_kafka.cimpl", "ferrokafka.confluent")
    )


def test_a_message_of_views_copies_them_at_the_first_read_only():
    """A Message made from a borrowed one holds views (``_lazy``); key()/value() copy them into
    bytes once, set_key()/set_value() drop the view, _materialize() copies what is left."""
    from ferrokafka.confluent._message import _KEY, _VALUE

    data = memoryview(b"payload")
    msg = fc.Message.__new__(fc.Message)
    msg._key, msg._value, msg._lazy = memoryview(b"key"), data, _KEY | _VALUE
    assert msg.value() == b"payload" and type(msg.value()) is bytes and msg._lazy == _KEY
    assert msg.value() is msg.value()
    msg._materialize()
    assert msg._lazy == 0 and type(msg._key) is bytes and msg.key() == b"key"
    view = memoryview(b"other")
    msg.set_value(view)
    assert msg.value() is view  # set by the application: not a view to copy
    msg._timestamp = (1, 5)
    assert msg.timestamp() == (1, 5)
    with pytest.raises(TypeError):
        msg._timestamp = "nope"
    # a message in a reference cycle is collected (the garbage collector sees its fields)
    collected: list[int] = []

    class Sentinel:
        def __del__(self) -> None:
            collected.append(1)

    cyclic = fc.Message()
    cyclic.set_headers([cyclic, Sentinel()])
    del cyclic
    gc.collect()
    assert collected == [1]


def _consume_all(mod: Any, bootstrap: str, topic: str, group: str, **extra: Any) -> list[tuple[Any, ...]]:
    consumer = mod.Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": True,
            **extra,
        }
    )
    consumer.subscribe([topic])
    seen: list[tuple[Any, ...]] = []
    try:
        while True:
            msg = consumer.poll(10)
            assert msg is not None, "timed out before the end of the partition"
            err = msg.error()
            if err is not None:
                seen.append(("error", err.code(), err.name(), msg.topic(), msg.partition(), msg.offset()))
                # After the end of the partition, the position is the end offset (the next message's).
                position = consumer.position([mod.TopicPartition(msg.topic(), msg.partition())])
                seen.append(("position", [(tp.topic, tp.partition, tp.offset) for tp in position]))
                break
            seen.append(
                (
                    msg.topic(),
                    msg.partition(),
                    msg.offset(),
                    msg.key(),
                    msg.value(),
                    msg.headers(),
                    msg.timestamp()[0],
                    msg.timestamp()[1] > 0,
                    msg.leader_epoch(),
                    len(msg),
                    msg.latency(),
                )
            )
    finally:
        consumer.close()
    return seen


def test_consumed_messages_and_eof_match_confluent_kafka(mock_cluster, topic_name, group_id):
    mock_cluster.create_topic(topic_name)
    bootstrap = mock_cluster.bootstrap_servers
    with fk.Producer({"bootstrap.servers": bootstrap}) as producer:
        producer.produce(topic_name, b"v0", b"k0", headers=[("h", b"1"), ("h", b"2")]).result(10)
        producer.produce(topic_name, None, None).result(10)
        producer.produce(topic_name, b"", b"k2").result(10)
        # Past what poll() copies at once (_COPY_AT_MOST): handed out as views instead.
        producer.produce(topic_name, b"b" * 9000, b"k3", headers=[("h", b"3")]).result(10)
        producer.produce(topic_name, b"v4", b"k4", headers=[("h", b"4")]).result(10)
    expected = _consume_all(ck, bootstrap, topic_name, group_id + "-ck")
    got = _consume_all(fc, bootstrap, topic_name, group_id + "-fc")
    assert got == expected
    assert got[-2][:3] == ("error", fc.KafkaError._PARTITION_EOF, "_PARTITION_EOF")
    assert got[-1] == ("position", [(topic_name, 0, 5)])


@pytest.mark.parametrize("padding", [0, 9000, -1], ids=["copied", "views", "mixed"])
def test_messages_held_across_polls_keep_their_bytes(mock_cluster, topic_name, group_id, padding):
    """poll() copies small messages at once; bigger ones it hands out as views of the borrowed
    messages, copied only when the application keeps a message: held messages read the same bytes
    after many more polls and after close(), whichever way they came (mixed: every other one)."""
    mock_cluster.create_topic(topic_name)
    bootstrap = mock_cluster.bootstrap_servers

    def value(i: int) -> bytes:
        pad = (9000 if i % 2 else 0) if padding < 0 else padding
        return b"value-%d" % i + b"." * pad

    with fk.Producer({"bootstrap.servers": bootstrap}) as producer:
        for i in range(20):
            producer.produce(topic_name, value(i), b"key-%d" % i)
        producer.flush(10)
    consumer = fc.Consumer({"bootstrap.servers": bootstrap, "group.id": group_id, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic_name])
    held = []
    while len(held) < 20:
        msg = consumer.poll(10)
        assert msg is not None and msg.error() is None
        held.append(msg)
    consumer.close()
    assert [(m.key(), m.value()) for m in held] == [(b"key-%d" % i, value(i)) for i in range(20)]
    assert all(type(m.value()) is bytes and type(m.key()) is bytes for m in held)


def test_the_native_poll_copies_small_messages_and_lends_bigger_ones(mock_cluster, topic_name, group_id):
    """The native call under the drop-in's poll(): a message within the copy limit (key and value)
    comes as a ready Message with both copied, a bigger one as the borrowed message."""
    mock_cluster.create_topic(topic_name)
    bootstrap = mock_cluster.bootstrap_servers
    with fk.Producer({"bootstrap.servers": bootstrap}) as producer:
        producer.produce(topic_name, b"x" * 10, b"k", headers=[("h", b"1")]).result(10)
        producer.produce(topic_name, b"y" * 100, None).result(10)
    consumer = fk.Consumer({"bootstrap.servers": bootstrap, "group.id": group_id, "auto.offset.reset": "earliest"})
    owner = threading.Event()  # any object a weak reference can point to
    try:
        consumer.subscribe([topic_name])
        small = fk._native.DropInPoll(consumer, weakref.ref(owner), [], 11)
        first = small._receive(10.0)
        assert type(first) is fc.Message
        assert (first.topic(), first.partition(), first.offset(), first.key(), first.value(), first.headers()) == (
            topic_name,
            0,
            0,
            b"k",
            b"x" * 10,
            [("h", b"1")],
        )
        assert type(first.value()) is bytes and first._lazy == 0
        assert first.timestamp()[0] == 1 and first.timestamp()[1] > 0 and first.error() is None
        assert first.latency() is None and first.delivery_count() is None
        second = small._receive(10.0)
        assert isinstance(second, fk.BorrowedMessage)
        assert (second.offset, bytes(second.payload), second.key) == (1, b"y" * 100, None)
        with pytest.raises(ValueError):
            small._receive(-1.0)
        # _receive records nothing: handing out is the caller's (the fast path's or _hand_out's)
        assert small.handed() == {}
        small.record(topic_name, 0, 5)
        small.record("".join([topic_name]), 0, 7)  # an equal topic, not the same object
        small.record(topic_name, 1, 3)
        assert small.handed() == {(topic_name, 0): 7, (topic_name, 1): 3}
    finally:
        consumer.close()


def _dropin_consumer(bootstrap: str, group: str, **extra: Any) -> Any:
    return fc.Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest", **extra})


@pytest.mark.parametrize("compression", ["none", "lz4"])
def test_headers_of_every_record_shape_read_as_confluent_kafka_reads_them(backend, topic_name, compression):
    # A record without headers is told from its bytes (NativeMessage::surely_headerless: the value's
    # length varint before it, a 0 header count after it) instead of by librdkafka's parse. Every
    # shape near that check's edges (1- and 2-byte value lengths, past its 8191-byte limit, no key,
    # an empty key, no or an empty value, headers with a None value), compressed or not, still
    # reads as confluent-kafka reads it, through the drop-in and ferrokafka's own consumer.
    backend.create_topic(topic_name)
    shapes: list[tuple[Any, Any, Any]] = []
    for size in (1, 63, 64, 8191, 8192, 9000):
        for key in (None, b"", b"k"):
            for headers in (None, [("a", b"1")], [("x", None), ("y", b"")]):
                shapes.append((key, b"v" * size, headers))
    for key in (None, b"k"):
        for headers in (None, [("a", b"1")]):
            shapes += [(key, None, headers), (key, b"", headers)]
    producer = ck.Producer({"bootstrap.servers": backend.bootstrap, "compression.type": compression, "linger.ms": 20})
    for key, value, headers in shapes:
        producer.produce(topic_name, value, key=key, headers=headers)
    assert producer.flush(30) == 0

    def config() -> dict[str, Any]:
        group = f"g-{time.monotonic_ns()}"
        return {"bootstrap.servers": backend.bootstrap, "group.id": group, "auto.offset.reset": "earliest"}

    def read(mod: Any) -> list[tuple[Any, Any, Any]]:
        consumer = mod.Consumer(config())
        consumer.subscribe([topic_name])
        got: list[tuple[Any, Any, Any]] = []
        deadline = time.monotonic() + 60
        try:
            while len(got) < len(shapes) and time.monotonic() < deadline:
                msg = consumer.poll(1.0)
                if msg is not None and msg.error() is None:
                    got.append((msg.key(), msg.value(), msg.headers()))
        finally:
            consumer.close()
        return got

    expected = read(ck)
    assert [headers for _, _, headers in expected] == [headers for _, _, headers in shapes]
    assert read(fc) == expected
    native: list[Any] = []
    with fk.Consumer(config()) as consumer:
        consumer.subscribe([topic_name])
        deadline = time.monotonic() + 60
        while len(native) < len(shapes) and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is not None:
                native.append(msg.headers or None)
    assert native == [headers for _, _, headers in expected]


def test_poll_takes_the_native_path_only_when_nothing_is_queued(mock_cluster, topic_name, group_id):
    """poll() is one native call unless the Python side has something queued (callbacks, error
    events, held or aging messages, synchronous commits awaiting their result) or the timeout is
    no number: then _poll_slow runs. Both hand out the same messages, and commit() commits the
    offset after the last one handed out either way."""
    mock_cluster.create_topic(topic_name)
    bootstrap = mock_cluster.bootstrap_servers
    with fk.Producer({"bootstrap.servers": bootstrap}) as producer:
        for i in range(6):
            producer.produce(topic_name, b"v%d" % i).result(10)
    consumer = _dropin_consumer(bootstrap, group_id)
    slow_calls: list[Any] = []
    slow = consumer._poll_slow

    def counting(timeout: Any) -> Any:
        slow_calls.append(timeout)
        return slow(timeout)

    consumer._poll_slow = counting
    try:
        consumer.subscribe([topic_name])
        values = []
        first = consumer.poll(10.0)  # a float: native
        values.append(first.value())
        assert slow_calls == []
        values.append(consumer.poll(10).value())  # an int: native too
        assert slow_calls == []

        class Seconds(float):
            pass

        values.append(consumer.poll(Seconds(10)).value())  # no plain number: the Python way
        assert slow_calls == [10.0] and type(slow_calls[0]) is Seconds
        reported: list[Any] = []
        consumer._queue_callback(reported.append, "served")  # a queued callback (as on_commit's)
        values.append(consumer.poll(10.0).value())
        assert slow_calls == [10.0, 10.0] and reported == ["served"]
        values.append(consumer.poll(timeout=10.0).value())
        assert len(slow_calls) == 2
        assert values == [b"v0", b"v1", b"v2", b"v3", b"v4"]
        committed = consumer.commit(asynchronous=False)
        assert [(tp.topic, tp.partition, tp.offset) for tp in committed] == [(topic_name, 0, 5)]
        # a subclass overriding poll() keeps it; Consumer.poll runs the same native path
        assert type(consumer).poll is fc.Consumer.poll and consumer.poll.__self__ is consumer._poller
        assert fc.Consumer.poll(consumer, 10.0).value() == b"v5" and len(slow_calls) == 2
    finally:
        consumer.close()
    with pytest.raises(RuntimeError, match="Consumer closed"):
        consumer.poll(0.0)
    with pytest.raises(RuntimeError, match="Consumer closed"):
        fc.Consumer.poll(consumer)


def test_a_poll_bound_before_close_raises_consumer_closed_after(mock_cluster, topic_name, group_id):
    mock_cluster.create_topic(topic_name)
    consumer = _dropin_consumer(mock_cluster.bootstrap_servers, group_id)
    consumer.subscribe([topic_name])
    poll = consumer.poll
    assert poll(0.0) is None
    consumer.close()
    for timeout in (0.0, 1, None, -1):
        with pytest.raises(RuntimeError, match="Consumer closed"):
            poll(timeout)


def test_the_containers_the_native_poll_watches_are_only_changed_in_place(mock_cluster, topic_name, group_id):
    """The native poll holds the drop-in consumer's queues and lists themselves: aging, seek() and
    forgetting synchronous commits must not replace them (or queued work would go unnoticed)."""
    mock_cluster.create_topic(topic_name)
    bootstrap = mock_cluster.bootstrap_servers
    with fk.Producer({"bootstrap.servers": bootstrap}) as producer:
        for i in range(4):
            producer.produce(topic_name, b"z" * 10_000 + b"%d" % i).result(10)  # big: aged views
    consumer = _dropin_consumer(bootstrap, group_id, on_commit=lambda err, partitions: None)
    callbacks = consumer._callbacks
    watched = [consumer._previous, consumer._latest, callbacks.pending, callbacks.errors, consumer._held]
    sync = callbacks.sync_commits
    try:
        consumer.subscribe([topic_name])
        held = [consumer.poll(10.0) for _ in range(3)]
        assert [m.value()[-1:] for m in held] == [b"0", b"1", b"2"]
        consumer._held.append(fc.Message(topic=topic_name, partition=0, offset=3))
        consumer.seek(fc.TopicPartition(topic_name, 0, 3))
        assert not consumer._held
        consumer.commit(asynchronous=False)
        callbacks.forget_sync_commits(time.monotonic() + 10)
        ids = [
            id(c) for c in (consumer._previous, consumer._latest, callbacks.pending, callbacks.errors, consumer._held)
        ]
        assert ids == [id(c) for c in watched] and callbacks.sync_commits is sync
        # a queued error event is what the next poll returns, whatever is fetched
        error = fc.Message(error=fc.KafkaError(fc.KafkaError._TRANSPORT))
        callbacks.event(error)
        assert consumer.poll(10.0) is error
        assert consumer.poll(10.0).value()[-1:] == b"3"
    finally:
        consumer.close()


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


@BOTH
def test_commit_sync_returns_partitions_async_reports_to_on_commit(mod, mock_cluster, topic_name, group_id):
    mock_cluster.create_topic(topic_name)
    bootstrap = mock_cluster.bootstrap_servers
    with fk.Producer({"bootstrap.servers": bootstrap}) as producer:
        for value in (b"a", b"b"):
            producer.produce(topic_name, value).result(10)
    commits: list[Any] = []
    consumer = mod.Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group_id,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "on_commit": lambda err, parts: commits.append((err, [(p.topic, p.partition, p.offset) for p in parts])),
        }
    )
    consumer.subscribe([topic_name])
    first = consumer.poll(10)
    assert first is not None and first.error() is None
    result = consumer.commit(message=first, asynchronous=False)
    assert [(p.topic, p.partition, p.offset) for p in result] == [(topic_name, 0, 1)]
    committed = consumer.committed([mod.TopicPartition(topic_name, 0)], timeout=10)
    assert [(p.topic, p.partition, p.offset) for p in committed] == [(topic_name, 0, 1)]
    second = consumer.poll(10)
    assert second is not None and second.error() is None
    assert consumer.commit(message=second) is None
    for _ in range(50):
        if commits:
            break
        consumer.poll(0.1)
    consumer.close()
    # Only the asynchronous commit: a synchronous one's result is its return value.
    assert commits == [(None, [(topic_name, 0, 2)])]


@BOTH
@pytest.mark.parametrize("leave", ["unassign", "incremental_unassign"])
def test_an_argument_less_commit_never_rewinds_a_partition_assigned_again(
    mod, mock_cluster, topic_name, group_id, leave
):
    """confluent-kafka's commit() without arguments commits the positions of the current
    assignment: a partition that left and came back, none of its messages read since, has nothing
    to commit, whatever this consumer read of it before (another member committed further)."""
    mock_cluster.create_topic(topic_name)
    bootstrap = mock_cluster.bootstrap_servers
    with fk.Producer({"bootstrap.servers": bootstrap}) as producer:
        for i in range(20):
            producer.produce(topic_name, b"%d" % i)
        producer.flush(10)
    config = {"bootstrap.servers": bootstrap, "group.id": group_id, "enable.auto.commit": False}
    consumer = mod.Consumer(config)
    consumer.assign([mod.TopicPartition(topic_name, 0, 0)])
    read = 0
    while read < 5:
        message = consumer.poll(10)
        read += message is not None and message.error() is None
    if leave == "unassign":
        consumer.unassign()
    else:
        consumer.incremental_unassign([mod.TopicPartition(topic_name, 0)])
    other = mod.Consumer(config)
    other.commit(offsets=[mod.TopicPartition(topic_name, 0, 15)], asynchronous=False)
    other.close()
    consumer.assign([mod.TopicPartition(topic_name, 0)])  # from the committed offset
    try:
        consumer.commit(asynchronous=False)
    except mod.KafkaException as error:
        assert error.args[0].code() == mod.KafkaError._NO_OFFSET
    committed = consumer.committed([mod.TopicPartition(topic_name, 0)], timeout=10)
    consumer.close()
    assert [p.offset for p in committed] == [15]


@BOTH
def test_synchronous_commits_never_reach_on_commit_even_when_closed_right_after(
    mod, mock_cluster, topic_name, group_id
):
    """Each message committed synchronously as soon as poll() hands it out, then close(): the
    results were the commits' return values, so on_commit hears of none (librdkafka queues a
    synchronous commit's result for the callback a moment after the commit returns; the drop-in
    gave some of them to on_commit from close(). confluent's integration test_basic_operations
    asserts on_commit only ever sees errors)."""
    mock_cluster.create_topic(topic_name)
    bootstrap = mock_cluster.bootstrap_servers
    with fk.Producer({"bootstrap.servers": bootstrap}) as producer:
        for i in range(10):
            producer.produce(topic_name, b"%d" % i).result(10)
    for round_ in range(5):
        commits: list[Any] = []
        consumer = mod.Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"{group_id}-{round_}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "on_commit": lambda err, parts, commits=commits: commits.append((err, len(parts))),
            }
        )
        consumer.subscribe([topic_name])
        for _ in range(10):
            message = consumer.poll(10)
            assert message is not None and message.error() is None
            assert consumer.commit(message, asynchronous=False)[0].offset == message.offset() + 1
        consumer.close()
        assert commits == [], f"round {round_}"


@pytest.mark.parametrize("call", ["commit", "commit_sync", "store_offsets"])
def test_committing_or_storing_an_error_message_raises_invalid_arg(call):
    """commit(msg)/store_offsets(msg) of an error event raise KafkaException(_INVALID_ARG) naming
    the event's error, as confluent-kafka's do (not the event's own error)."""
    seen = []
    for mod in (ck, fc):
        consumer = mod.Consumer({"bootstrap.servers": "127.0.0.1:1", "group.id": "g"})
        error = mod.KafkaError(
            mod.KafkaError.INVALID_SESSION_TIMEOUT, "JoinGroup failed: Broker: Invalid session timeout"
        )
        message = mod.Message(None, -1, -1, None, None, None, error, (0, 0), -1.0, -1)
        try:
            with pytest.raises(mod.KafkaException) as info:
                if call == "store_offsets":
                    consumer.store_offsets(message)
                else:
                    consumer.commit(message, asynchronous=call == "commit")
        finally:
            consumer.close()
        seen.append((info.value.args[0].code(), info.value.args[0].str()))
    assert seen[0][0] == ck.KafkaError._INVALID_ARG
    assert seen[1] == seen[0]


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


@BOTH
def test_a_consume_error_arriving_during_a_native_poll_is_what_that_poll_returns(mod, mock_cluster, group_id):
    """An error event that arrives while poll() waits natively (its error_cb queues it and sets
    the flag the native poll reads) is what that same poll() returns; then nothing is left queued
    and the drop-in's next poll() is native again."""
    consumer = mod.Consumer(
        {"bootstrap.servers": mock_cluster.bootstrap_servers, "group.id": group_id, "allow.auto.create.topics": False}
    )
    slow_calls: list[Any] = []
    if mod is fc:
        slow = consumer._poll_slow
        consumer._poll_slow = lambda timeout: slow_calls.append(timeout) or slow(timeout)
    try:
        consumer.subscribe([f"absent-{group_id}"])
        event = consumer.poll(10.0)
        assert event is not None and event.error().code() == mod.KafkaError.UNKNOWN_TOPIC_OR_PART
        assert consumer.poll(0.2) is None
        if mod is fc:
            assert slow_calls == [] and consumer._poller._settle() is False
    finally:
        consumer.close()


_METADATA = [None, "", "x", "hello world", "नमस्ते दुनिया"]


def test_commit_metadata_reads_back_the_same_whichever_of_confluent_kafka_and_the_dropin_committed(backend, topic_name):
    """confluent-kafka commits metadata as a C string with its NUL (None: zero bytes) and reads
    it up to the first NUL; the drop-in commits the same bytes, so each reads back what either
    committed: '' as '' (zero bytes would read back as None), and confluent-kafka never reads past
    metadata without a NUL (it read heap garbage, or failed to decode it, for the drop-in's 'x').
    ferrokafka's own consumer reads the raw bytes: the same for both committers."""
    backend.create_topic(topic_name)
    conf = {"bootstrap.servers": backend.bootstrap, "group.id": f"md-{topic_name}"}
    theirs, ours, native = ck.Consumer(conf), fc.Consumer(conf), fk.Consumer(conf)
    offset = 0
    try:
        for metadata in _METADATA:
            raw = []
            for committer, mod in ((theirs, ck), (ours, fc)):
                offset += 1
                tp = mod.TopicPartition(topic_name, 0, offset, *([] if metadata is None else [metadata]))
                committer.commit(offsets=[tp], asynchronous=False)
                read = [
                    (client.committed([m.TopicPartition(topic_name, 0)], timeout=10)[0].metadata)
                    for client, m in ((theirs, ck), (ours, fc))
                ]
                assert read == [metadata, metadata], f"committed by {mod.__name__}"
                [committed] = native.committed([fk.TopicPartition(topic_name, 0)], 10)
                assert committed.offset == offset
                raw.append(committed.metadata)
            assert raw[1] == raw[0] == (None if metadata is None else metadata + "\0")
    finally:
        theirs.close()
        ours.close()
        native.close()


def test_commit_metadata_committed_by_confluent_kafka_reads_the_same_in_the_dropin(mock_cluster, topic_name):
    """confluent-kafka commits metadata with a NUL after the text and reads it as a C string: the
    drop-in reads what it committed as confluent-kafka does (an application moving over keeps its
    metadata), not with a trailing NUL."""
    mock_cluster.create_topic(topic_name)
    conf = {"bootstrap.servers": mock_cluster.bootstrap_servers, "group.id": f"md-{topic_name}"}
    theirs, ours = ck.Consumer(conf), fc.Consumer(conf)
    try:
        for offset, metadata in enumerate(["hello world", "", "नमस्ते दुनिया"], start=1):
            theirs.commit(offsets=[ck.TopicPartition(topic_name, 0, offset, metadata)], asynchronous=False)
            read = [
                client.committed([mod.TopicPartition(topic_name, 0)], timeout=10)[0].metadata
                for client, mod in ((theirs, ck), (ours, fc))
            ]
            assert read == [metadata, metadata]
    finally:
        theirs.close()
        ours.close()


@BOTH
@pytest.mark.parametrize("args", [("t\0x", 0), ("t", 0, 1, "xyz\0abc")], ids=["topic", "metadata"])
def test_topic_partition_refuses_a_nul_character(mod, args):
    with pytest.raises(ValueError, match="embedded null character"):
        mod.TopicPartition(*args)


# --- client callbacks ----------------------------------------------------------------------------


@BOTH
def test_stats_cb_gets_a_json_string(mod, mock_cluster):
    got: list[Any] = []
    producer = mod.Producer(
        {"bootstrap.servers": mock_cluster.bootstrap_servers, "statistics.interval.ms": 50, "stats_cb": got.append}
    )
    for _ in range(50):
        producer.poll(0.1)
        if got:
            break
    assert got and isinstance(got[0], str)
    assert json.loads(got[0])["type"] == "producer"


@BOTH
def test_error_cb_gets_a_kafka_error(mod):
    got: list[Any] = []
    producer = mod.Producer({"bootstrap.servers": "127.0.0.1:1", "error_cb": got.append})
    for _ in range(100):
        producer.poll(0.1)
        if got:
            break
    assert got and isinstance(got[0], mod.KafkaError)
    assert got[0].code() in (mod.KafkaError._TRANSPORT, mod.KafkaError._ALL_BROKERS_DOWN)
    assert "127.0.0.1:1" in got[0].str() and not got[0].str().startswith("KafkaError{"), "str() is the reason alone"
    producer.flush(0)


@BOTH
def test_config_errors_raise_kafka_exception(mod):
    with pytest.raises(mod.KafkaException) as info:
        mod.Producer({"no.such.property": 1})
    assert info.value.args[0].code() == mod.KafkaError._INVALID_ARG
    with pytest.raises(TypeError):
        mod.Producer({"error_cb": 5})
    with pytest.raises((ValueError, mod.KafkaException)):
        mod.Consumer({"bootstrap.servers": "127.0.0.1:1"})


def test_share_consumer_raises_a_clear_error():
    with pytest.raises(NotImplementedError, match="2.15"):
        fc.ShareConsumer({"group.id": "g"})


# --- admin ---------------------------------------------------------------------------------------


@pytest.mark.broker
@pytest.mark.parametrize("admin_mod", [ck_admin, fc_admin], ids=["confluent_kafka", "dropin"])
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
@pytest.mark.parametrize("admin_mod", [ck_admin, fc_admin], ids=["confluent_kafka", "dropin"])
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


# --- install() -----------------------------------------------------------------------------------


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("module", ["confluent_kafka", "ferrokafka.confluent"])
@pytest.mark.parametrize(
    "make",
    [
        "Producer({'bootstrap.servers': '127.0.0.1:1'})",
        "Consumer({'bootstrap.servers': '127.0.0.1:1', 'group.id': 'g'})",
        "admin.AdminClient({'bootstrap.servers': '127.0.0.1:1'})",
    ],
    ids=["Producer", "Consumer", "AdminClient"],
)
def test_a_client_left_open_until_interpreter_exit_gives_no_resource_warning(module, make):
    # A client kept in a module global (as frameworks and applications keep theirs) is let go at
    # interpreter exit; confluent-kafka says nothing then, even under -X dev.
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-c", f"import {module} as ck\nfrom {module} import admin\nclient = ck.{make}\n"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "ResourceWarning" not in done.stderr, done.stderr


def test_install_makes_confluent_kafka_and_its_submodules_the_dropin():
    result = _run(
        """
        import ferrokafka.confluent
        ferrokafka.confluent.install()
        import confluent_kafka, confluent_kafka.admin, confluent_kafka.serialization, confluent_kafka.error
        from confluent_kafka import Producer, KafkaError
        from confluent_kafka.admin import AdminClient
        assert confluent_kafka is ferrokafka.confluent
        assert Producer is ferrokafka.confluent.Producer
        assert confluent_kafka.admin is ferrokafka.confluent.admin
        assert AdminClient is ferrokafka.confluent.admin.AdminClient
        assert confluent_kafka.serialization is ferrokafka.confluent.serialization
        import confluent_kafka.aio
        from confluent_kafka.aio import AIOProducer
        assert AIOProducer is ferrokafka.confluent.aio.AIOProducer
        from confluent_kafka.cimpl import Producer as CimplProducer
        assert CimplProducer is Producer
        assert confluent_kafka.installed() if hasattr(confluent_kafka, "installed") else True
        import sys
        assert "confluent_kafka.cimpl" not in sys.modules or sys.modules["confluent_kafka.cimpl"].__name__.startswith("ferrokafka")
        # confluent-kafka's pure-Python schema registry loads from the real package, on the drop-in
        from confluent_kafka.schema_registry import SchemaRegistryClient
        from confluent_kafka.schema_registry.avro import AvroSerializer
        import confluent_kafka.schema_registry as sr
        assert "ferrokafka" not in sr.__file__
        import confluent_kafka.serialization as ser
        assert ser.SerializationContext is ferrokafka.confluent.serialization.SerializationContext
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_install_after_confluent_kafka_was_imported_refuses():
    result = _run(
        """
        import confluent_kafka
        import ferrokafka.confluent
        try:
            ferrokafka.confluent.install()
        except RuntimeError as error:
            print("refused")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "refused"


def test_uninstall_restores_confluent_kafka():
    result = _run(
        """
        import ferrokafka.confluent as fc
        fc.install()
        import confluent_kafka
        assert fc.installed()
        fc.uninstall()
        assert not fc.installed()
        import confluent_kafka
        assert confluent_kafka.__name__ == "confluent_kafka"
        print(confluent_kafka.Producer.__module__)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "ferrokafka" not in result.stdout


def test_ctrl_c_interrupts_a_producer_poll_forever():
    result = _run(
        """
        import os, signal, threading, time
        import ferrokafka.confluent as fc
        p = fc.Producer({"bootstrap.servers": "127.0.0.1:1"})
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
        started = time.monotonic()
        try:
            p.poll(-1)
        except KeyboardInterrupt:
            print("interrupted", time.monotonic() - started < 5)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "interrupted True"


def test_ctrl_c_interrupts_a_consumer_poll_forever():
    result = _run(
        """
        import os, signal, threading, time
        import ferrokafka.confluent as fc
        c = fc.Consumer({"bootstrap.servers": "127.0.0.1:1", "group.id": "g"})
        c.subscribe(["t"])
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
        started = time.monotonic()
        try:
            c.poll(-1)
        except KeyboardInterrupt:
            print("interrupted", time.monotonic() - started < 5)
        c.close()
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "interrupted True"


@BOTH
def test_a_message_refused_at_once_raises_from_produce_without_callback(mod, topic_name):
    got: list[Any] = []
    producer = mod.Producer({"bootstrap.servers": "127.0.0.1:1", "message.max.bytes": 1000})
    with pytest.raises(mod.KafkaException) as info:
        producer.produce(topic_name, b"x" * 10_000, on_delivery=lambda err, msg: got.append(err))
    assert info.value.args[0].code() == mod.KafkaError.MSG_SIZE_TOO_LARGE
    # The traceback holds this frame, which holds `info`: without the del, confluent-kafka's producer
    # (it has no close()) would live in that cycle until a collection, reconnecting to port 1.
    del info
    assert producer.flush(1) == 0
    assert got == []
    assert len(producer) == 0


@BOTH
def test_config_shapes_confluent_kafka_accepts(mod):
    with pytest.raises(TypeError, match="expected configuration dict"):
        mod.Producer()
    # None leaves a property at its default; the deprecated default.topic.config still applies.
    producer = mod.Producer({"bootstrap.servers": None, "default.topic.config": {"message.timeout.ms": 100}})
    got: list[Any] = []
    producer.produce("t", b"x", on_delivery=lambda err, msg: got.append(err.code()))
    assert producer.flush(10) == 0
    assert got == [mod.KafkaError._MSG_TIMED_OUT]


@pytest.mark.parametrize("admin_mod", [ck_admin, fc_admin], ids=["confluent_kafka", "dropin"])
def test_admin_after_close_raises_confluent_kafka_s_errors(admin_mod):
    with admin_mod.AdminClient({"bootstrap.servers": "127.0.0.1:1", "stats_cb": lambda s: None}) as client:
        pass
    with pytest.raises(RuntimeError, match="AdminClient has been closed"):
        client.create_topics([admin_mod.NewTopic("t", 1, 1)])
    with pytest.raises(RuntimeError, match="Handle has been closed"):
        client.list_topics(timeout=0.1)
    with pytest.raises(RuntimeError, match="Handle has been closed"):
        client.list_groups(timeout=0.1)


@pytest.mark.parametrize("admin_mod", [ck_admin, fc_admin], ids=["confluent_kafka", "dropin"])
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


@BOTH
def test_messages_batch_slices_to_a_batch(mod):
    batch = mod.Messages([mod.Message(offset=i) for i in range(3)])
    tail = batch[1:]
    assert isinstance(tail, mod.Messages)
    assert [m.offset() for m in tail] == [1, 2]
    assert repr(mod.Messages()) == "Messages([])"


@BOTH
def test_an_oauth_cb_that_raises_fails_the_constructor_with_kafka_exception(mod):
    def oauth_cb(config: Any) -> Any:
        raise ValueError("no token")

    with pytest.raises(mod.KafkaException):
        mod.Consumer(
            {
                "group.id": "g",
                "security.protocol": "sasl_plaintext",
                "sasl.mechanisms": "OAUTHBEARER",
                "sasl.oauthbearer.config": "oauth_cb",
                "oauth_cb": oauth_cb,
            }
        )


def test_clients_collected_in_a_reference_cycle_while_their_callbacks_fire_do_not_crash():
    """ferrokafka's threads call a client's callbacks while the garbage collector clears the cycle
    that holds it (a failed test's traceback, say): the drop-in's callback objects must stay safe
    to call once cleared (a cleared functools.partial crashed the interpreter)."""
    result = _run(
        """
        import gc, logging, time
        from io import StringIO
        import ferrokafka.confluent as fc
        from ferrokafka.confluent import admin
        for round in range(10):
            logger = logging.getLogger("cycle%d" % round)
            logger.setLevel(logging.DEBUG)
            logger.addHandler(logging.StreamHandler(StringIO()))
            p = fc.Producer({"bootstrap.servers": "test", "logger": logger, "debug": "msg"})
            p.flush(0.2)
            cycle = [p]
            cycle.append(cycle)
            a = admin.AdminClient({"bootstrap.servers": "test", "logger": logger, "debug": "admin"})
            a.poll(0)
            del p, cycle, a
            for _ in range(20):
                gc.collect()
                time.sleep(0.005)
        print("survived")
        """
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "survived"


def test_clients_left_in_a_reference_cycle_at_exit_go_quietly():
    """A drop-in client never closed and still in a reference cycle when the interpreter exits
    is let go without an "Exception ignored" (the warnings module is gone by then)."""
    result = _run(
        """
        import logging
        import ferrokafka.confluent as fc
        from ferrokafka.confluent import admin
        logger = logging.getLogger("exit")
        a = admin.AdminClient({"bootstrap.servers": "test", "logger": logger})
        p = fc.Producer({"bootstrap.servers": "test", "logger": logger})
        c = fc.Consumer({"bootstrap.servers": "test", "group.id": "g", "logger": logger})
        cycle = [a, p, c]
        cycle.append(cycle)
        print("exiting")
        """
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "exiting"
    assert "Exception ignored" not in result.stderr, result.stderr[-2000:]


def test_confluent_kafka_s_schema_registry_avro_serdes_run_on_the_dropin():
    """After install(), confluent-kafka's own (pure-Python) Schema Registry client and Avro serdes
    load from the installed confluent-kafka and work with the drop-in's clients."""
    pytest.importorskip("fastavro")
    result = _run(
        """
        import ferrokafka.confluent
        ferrokafka.confluent.install()
        import ferrokafka as fk
        from confluent_kafka import DeserializingConsumer, SerializingProducer
        from confluent_kafka.schema_registry import SchemaRegistryClient
        from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
        import sys
        assert "confluent_kafka.cimpl" not in sys.modules or "ferrokafka" in sys.modules["confluent_kafka.cimpl"].__name__
        schema = '{"type": "record", "name": "User", "fields": [{"name": "name", "type": "string"}]}'
        registry = SchemaRegistryClient.new_client({"url": "mock://dropin"})
        with fk.MockCluster() as cluster:
            cluster.create_topic("users")
            producer = SerializingProducer(
                {"bootstrap.servers": cluster.bootstrap_servers, "value.serializer": AvroSerializer(registry, schema)}
            )
            producer.produce("users", value={"name": "ada"})
            assert producer.flush(10) == 0
            consumer = DeserializingConsumer(
                {
                    "bootstrap.servers": cluster.bootstrap_servers,
                    "group.id": "g",
                    "auto.offset.reset": "earliest",
                    "value.deserializer": AvroDeserializer(registry),
                }
            )
            consumer.subscribe(["users"])
            msg = consumer.poll(10)
            consumer.close()
            print(type(msg).__module__, msg.value())
        """
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "ferrokafka.confluent {'name': 'ada'}"


@BOTH
def test_each_message_gets_its_callback_or_a_produce_exception_once(mod, topic_name):
    """Messages failing on ferrokafka's thread while the application is inside produce() are
    reported to their callback, not mistaken for messages refused at once."""
    producer = mod.Producer({"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 1, "linger.ms": 0})
    calls: list[bytes] = []
    raised = 0
    for i in range(500):
        try:
            producer.produce(topic_name, b"%d" % i, on_delivery=lambda err, msg: calls.append(msg.value()))
        except mod.KafkaException:
            raised += 1
        except BufferError:
            producer.poll(0.01)
            raised += 1
    assert producer.flush(10) == 0
    assert raised + len(calls) == 500
    assert len(set(calls)) == len(calls)


class _Records(logging.Handler):
    """Keeps each record's message and whether the main thread logged it."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, bool]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((record.getMessage(), threading.current_thread() is threading.main_thread()))


@BOTH
@pytest.mark.parametrize("kind", ["producer", "admin"])
def test_a_producer_s_and_admin_client_s_logger_runs_in_poll_and_flush_only(mod: Any, kind: str) -> None:
    """Given a logger, confluent-kafka queues librdkafka's log records (log.queue) and hands them to
    the logger inside poll()/flush(), on the calling thread: none before, even the ones logged while
    the client was made (INIT), and a single flush() of a producer with nothing to send serves them."""
    handler = _Records()
    logger = logging.getLogger(f"dropin-log-{kind}-{mod.__name__}")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    conf = {"bootstrap.servers": "127.0.0.1:1", "logger": logger, "debug": "msg" if kind == "producer" else "admin"}
    client = mod.Producer(conf) if kind == "producer" else (ck_admin if mod is ck else fc_admin).AdminClient(conf)
    time.sleep(0.5)
    assert handler.seen == []
    if kind == "producer":
        assert client.flush() == 0
    else:
        assert client.poll(0) >= 1
    assert any(message.startswith("INIT [") for message, _ in handler.seen), handler.seen
    assert all(on_main for _, on_main in handler.seen)


@BOTH
@pytest.mark.parametrize("kind", ["producer", "admin"])
def test_the_first_poll_or_flush_serves_what_was_logged_while_the_client_was_made(mod: Any, kind: str) -> None:
    """confluent-kafka's own test_log: flush()/poll(0) right after the constructor hands the INIT
    line to the logger. The drop-in took it only when its background threads got to it (up to a
    tenth of a second, or the GIL, later): most first calls saw nothing."""
    missed = 0
    for round in range(10):
        handler = _Records()
        logger = logging.getLogger(f"dropin-first-poll-{kind}-{mod.__name__}-{round}")
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
        debug = "msg" if kind == "producer" else "admin"
        conf = {"bootstrap.servers": "127.0.0.1:1", "logger": logger, "debug": debug}
        if kind == "producer":
            client = mod.Producer(conf)
            client.flush()
        else:
            client = (ck_admin if mod is ck else fc_admin).AdminClient(conf)
            client.poll(0)
        missed += not any(message.startswith("INIT [") for message, _ in handler.seen)
        if mod is fc:
            client.close()
    assert missed == 0


@BOTH
def test_stats_cb_runs_within_the_first_poll(mod: Any) -> None:
    """confluent-kafka's own test_conf_none: with statistics.interval.ms=10, poll(0.1) right after
    the constructor runs stats_cb. The drop-in ran a producer's callbacks only every tenth of a
    second: the first statistics came at 101 ms, after that poll had returned."""
    missed = 0
    for _ in range(10):
        seen: list[str] = []
        producer = mod.Producer({"bootstrap.servers": None, "statistics.interval.ms": 10, "stats_cb": seen.append})
        producer.poll(0.1)
        missed += not seen
        if mod is fc:
            producer.close()
    assert missed == 0


def test_log_records_of_a_client_never_polled_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The drop-in keeps at most MAX_QUEUED_LOGS records for poll(); the newest beyond are dropped
    and the next poll() says how many, before the records it kept."""
    from ferrokafka.confluent import _config

    monkeypatch.setattr(_config, "MAX_QUEUED_LOGS", 2)
    handler = _Records()
    logger = logging.getLogger("dropin-log-bounded")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    admin = fc_admin.AdminClient({"bootstrap.servers": "127.0.0.1:1", "logger": logger, "debug": "all"})
    try:
        time.sleep(0.5)
        assert admin.poll(0) == 2
        assert "librdkafka log records were dropped: the client was not polled" in handler.seen[0][0]
        assert len(handler.seen) == 3
    finally:
        admin.close()


@BOTH
@pytest.mark.parametrize("call", ["poll", "consume"])
def test_close_from_another_thread_ends_a_blocked_call_with_nothing_received(mod, call, mock_cluster, group_id):
    """A poll()/consume() that close() (another thread) meets ends as if nothing came — None or
    [] — not with an error; the next call raises confluent-kafka's RuntimeError("Consumer closed").
    (confluent-kafka's close() waits for the call's timeout; the drop-in's interrupts it.)"""
    mock_cluster.create_topic(f"{group_id}-t")
    consumer = mod.Consumer({"bootstrap.servers": mock_cluster.bootstrap_servers, "group.id": group_id})
    consumer.subscribe([f"{group_id}-t"])
    poll = consumer.poll
    outcome: list[Any] = []

    def blocked() -> None:
        try:
            outcome.append(consumer.poll(2) if call == "poll" else consumer.consume(10, 2))
        except BaseException as error:  # noqa: BLE001 - what it raised is the result
            outcome.append(error)

    thread = threading.Thread(target=blocked)
    thread.start()
    # Well inside the 2 s call (a call that started only after close() would raise instead): 1 s
    # leaves a loaded machine time to enter it.
    time.sleep(1.0)
    consumer.close()
    thread.join(10)
    assert outcome == [None if call == "poll" else []]
    with pytest.raises(RuntimeError, match="Consumer closed"):
        consumer.poll(0) if call == "poll" else consumer.consume(1, 0)
    with pytest.raises(RuntimeError, match="Consumer closed"):
        poll(0)  # the bound poll taken before close() (a loop's local) too


@BOTH
def test_a_closed_consumer_s_poll_raises_however_it_was_looked_up(mod, mock_cluster, group_id):
    consumer = mod.Consumer({"bootstrap.servers": mock_cluster.bootstrap_servers, "group.id": group_id})
    poll = consumer.poll
    consumer.close()
    for each in (poll, consumer.poll, lambda timeout: type(consumer).poll(consumer, timeout)):
        with pytest.raises(RuntimeError, match="Consumer closed"):
            each(0)
