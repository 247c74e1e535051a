"""BorrowedMessage: zero-copy views, invalidation, lifetimes of exported buffers."""

from __future__ import annotations

import ctypes
import gc
import weakref

import pytest

import ferrokafka as fk
from conftest import consumer_config, produce_n
from ferrokafka import _native
from pybuffer import PyBuffer as _PyBuffer


def buffer_address(obj: object) -> int:
    """The address of the memory an object exports (PyObject_GetBuffer), without copying."""
    view = _PyBuffer()
    get = ctypes.pythonapi.PyObject_GetBuffer
    get.argtypes = [ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int]
    release = ctypes.pythonapi.PyBuffer_Release
    release.argtypes = [ctypes.POINTER(_PyBuffer)]
    assert get(obj, ctypes.byref(view), 0) == 0
    try:
        return int(view.buf)
    finally:
        release(ctypes.byref(view))


@pytest.fixture
def consumer(mock_cluster: fk.MockCluster, topic_name: str, group_id: str):
    produce_n(mock_cluster.bootstrap_servers, topic_name, 20)
    with fk.Consumer(consumer_config(mock_cluster.bootstrap_servers, group_id)) as consumer:
        consumer.subscribe([topic_name])
        yield consumer


def first(consumer: fk.Consumer) -> fk.BorrowedMessage:
    msg = consumer.poll(10)
    assert msg is not None
    return msg


def consume_exactly(consumer: fk.Consumer, n: int) -> list[fk.BorrowedMessage]:
    msgs: list[fk.BorrowedMessage] = []
    while len(msgs) < n:
        batch = consumer.consume(n - len(msgs), timeout=10)
        assert batch, f"only {len(msgs)} of {n} messages arrived"
        msgs.extend(batch)
    return msgs


ACCESSORS = ["topic", "partition", "offset", "timestamp", "timestamp_type", "key", "payload", "headers"]


def assert_invalid(msg: fk.BorrowedMessage, reason: str) -> None:
    assert msg.valid is False
    for name in ACCESSORS:
        with pytest.raises(fk.MessageInvalidatedError) as info:
            getattr(msg, name)
        assert info.value.reason == reason
    with pytest.raises(fk.MessageInvalidatedError):
        msg.detach()
    with pytest.raises(fk.MessageInvalidatedError):
        memoryview(msg)
    with pytest.raises(fk.MessageInvalidatedError):
        with msg:
            pass
    assert reason in repr(msg)


def test_payload_and_key_are_read_only_zero_copy_views(consumer: fk.Consumer) -> None:
    msg = first(consumer)
    payload, key = msg.payload, msg.key
    assert isinstance(payload, memoryview) and isinstance(key, memoryview)
    assert payload.readonly and key.readonly
    assert bytes(payload) == b"v%d" % msg.offset or bytes(payload).startswith(b"v")
    assert bytes(key) == b"k" + bytes(payload)[1:]
    # No copy: every view is over the same native memory, exported by the message itself, not bytes.
    assert payload.obj is msg and key.obj is msg
    assert bytes(memoryview(msg)) == bytes(payload)  # a plain memoryview(msg) is the payload
    assert buffer_address(msg.payload) == buffer_address(payload) == buffer_address(msg.payload)
    with pytest.raises(TypeError):
        payload[0] = 0  # type: ignore[index]
    assert payload.format == "B" and payload.nbytes == len(bytes(payload))


@pytest.mark.parametrize("how", ["release", "with"])
def test_release_and_with_invalidate(consumer: fk.Consumer, how: str) -> None:
    msg = first(consumer)
    if how == "release":
        msg.release()
        msg.release()  # idempotent
    else:
        with msg as same:
            assert same is msg and msg.valid
    assert_invalid(msg, "released")


def test_lending_iterator_supersedes_previous_message(consumer: fk.Consumer) -> None:
    it = iter(consumer)
    first_msg = next(it)
    view = first_msg.payload
    expected = bytes(view)
    second = next(it)
    assert second.valid
    assert_invalid(first_msg, "superseded")
    assert bytes(view) == expected  # a view taken earlier stays readable


def test_close_invalidates_with_reason_consumer_closed(mock_cluster, topic_name, group_id) -> None:
    produce_n(mock_cluster.bootstrap_servers, topic_name, 3)
    consumer = fk.Consumer(consumer_config(mock_cluster.bootstrap_servers, group_id))
    consumer.subscribe(topic_name)
    msg = first(consumer)
    consumer.close()
    assert_invalid(msg, "consumer_closed")


def test_views_outlive_message_and_consumer_and_memory_is_freed_after(mock_cluster, topic_name, group_id) -> None:
    produce_n(mock_cluster.bootstrap_servers, topic_name, 5)
    gc.collect()
    before = _native._live_native_messages()
    consumer = fk.Consumer(consumer_config(mock_cluster.bootstrap_servers, group_id))
    consumer.subscribe([topic_name])
    msgs = [first(consumer) for _ in range(5)]
    views = [(m.payload, m.key, bytes(m.payload), bytes(m.key)) for m in msgs]
    assert consumer.live_message_count == 5
    msgs[0].release()
    assert consumer.live_message_count == 5  # its views still hold the memory
    consumer.close()
    consumer_ref = weakref.ref(consumer)
    exporter_refs = [weakref.ref(v[0].obj) for v in views]
    del consumer, msgs
    gc.collect()
    assert consumer_ref() is None
    for payload, key, payload_copy, key_copy in views:
        assert bytes(payload) == payload_copy and bytes(key) == key_copy
    assert _native._live_native_messages() == before + 5
    del views, payload, key
    gc.collect()
    assert all(ref() is None for ref in exporter_refs)
    assert _native._live_native_messages() == before


def test_live_message_count_returns_to_zero(consumer: fk.Consumer) -> None:
    msgs = consume_exactly(consumer, 10)
    view = msgs[3].payload
    assert consumer.live_message_count == 10
    for m in msgs:
        m.release()
    assert consumer.live_message_count == 1  # the view keeps one alive
    del view
    gc.collect()
    assert consumer.live_message_count == 0
    extra = consumer.poll(5)
    assert extra is not None and consumer.live_message_count == 1
    del extra
    gc.collect()
    assert consumer.live_message_count == 0


def test_detach_copies_everything(consumer: fk.Consumer) -> None:
    msg = first(consumer)
    owned = msg.detach()
    assert isinstance(owned, fk.OwnedMessage)
    for name in ["topic", "partition", "offset", "timestamp", "timestamp_type", "headers"]:
        assert getattr(owned, name) == getattr(msg, name)
    assert bytes(owned.payload) == bytes(msg.payload) and bytes(owned.key) == bytes(msg.key)
    assert buffer_address(owned.payload) != buffer_address(msg.payload)
    msg.release()
    assert owned.valid and bytes(owned.payload).startswith(b"v")


def test_memoryview_of_a_message_is_its_payload(mock_cluster, topic_name, group_id) -> None:
    mock_cluster.create_topic(topic_name, partitions=1)  # one partition: the two come back in order
    with fk.Producer({"bootstrap.servers": mock_cluster.bootstrap_servers}) as producer:
        producer.produce(topic_name, b"payload", key=None)
        producer.produce(topic_name, None, key=b"key only")
        assert producer.flush(10) == 0
    with fk.Consumer(consumer_config(mock_cluster.bootstrap_servers, group_id)) as consumer:
        consumer.subscribe([topic_name])
        with_payload, key_only = consume_exactly(consumer, 2)
        assert with_payload.key is None and bytes(memoryview(with_payload)) == b"payload"
        assert key_only.payload is None and bytes(key_only.key) == b"key only"  # type: ignore[arg-type]
        with pytest.raises(BufferError, match="no payload"):
            memoryview(key_only)
        # The key getter's export does not change what a later plain export gives.
        assert bytes(memoryview(with_payload)) == b"payload"


def test_close_reaches_messages_kept_across_many_batches(mock_cluster, topic_name, group_id) -> None:
    # The registry holds weak references and sweeps dead ones once it has doubled (from 4096
    # entries on): messages kept across several sweeps must still be invalidated by close().
    mock_cluster.create_topic(topic_name, partitions=1)
    produce_n(mock_cluster.bootstrap_servers, topic_name, 12_000)
    consumer = fk.Consumer(consumer_config(mock_cluster.bootstrap_servers, group_id))
    consumer.subscribe([topic_name])
    kept: list[fk.BorrowedMessage] = []
    seen = 0
    while seen < 12_000:  # small batches, most dropped at once: sweeps run with live ones among them
        batch = consumer.consume(500, timeout=10)
        assert batch, f"only {seen} of 12000 messages arrived"
        kept += [m for i, m in enumerate(batch, seen) if i % 1000 == 0]
        seen += len(batch)
        del batch
    gc.collect()
    assert consumer.live_message_count == len(kept) == 12
    view = kept[-1].payload
    consumer.close()
    for msg in kept:
        assert_invalid(msg, "consumer_closed")
    assert consumer.live_message_count == 1  # the view still holds its message
    assert bytes(view).startswith(b"v")
    del view, kept, msg
    gc.collect()
    assert consumer.live_message_count == 0
