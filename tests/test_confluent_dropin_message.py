"""ferrokafka.confluent's Message and Messages: a type of its own as confluent-kafka's C one (built by
hand, subclassed, pickled, compared), and a message made of views of a borrowed one, copied at
the first read only. confluent-kafka's (installed in the test environment) is the expected value."""

from __future__ import annotations

import gc
import pickle
from typing import Any

import pytest

import ferrokafka.confluent as fc
from dropin_helpers import BOTH

pytestmark = pytest.mark.timeout(120)


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


@BOTH
def test_messages_batch_slices_to_a_batch(mod):
    batch = mod.Messages([mod.Message(offset=i) for i in range(3)])
    tail = batch[1:]
    assert isinstance(tail, mod.Messages)
    assert [m.offset() for m in tail] == [1, 2]
    assert repr(mod.Messages()) == "Messages([])"
