"""Thread rules of BorrowedMessage; OwnedMessage across threads, queues and processes."""

from __future__ import annotations

import gc
import multiprocessing
import pickle
import queue
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import ferrokafka as fk
from conftest import consumer_config, produce_n


def checksum(message: fk.OwnedMessage) -> tuple[str, int, int, bytes]:
    assert message.payload is not None
    return message.topic, message.partition, message.offset, bytes(message.payload)


@pytest.fixture
def messages(mock_cluster, topic_name, group_id):
    produce_n(mock_cluster.bootstrap_servers, topic_name, 8, headers=[("h", b"1"), ("null", None)])
    with fk.Consumer(consumer_config(mock_cluster.bootstrap_servers, group_id)) as consumer:
        consumer.subscribe([topic_name])
        batch = []
        while len(batch) < 8:
            batch.extend(consumer.consume(8 - len(batch), timeout=10))
        yield consumer, batch


def run_in_thread(fn):
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(10)
    return box


def test_other_thread_gets_wrong_thread_error_not_panic(messages) -> None:
    _, batch = messages
    msg = batch[0]
    for name in ["topic", "offset", "payload", "key", "headers"]:
        box = run_in_thread(lambda: getattr(msg, name))
        error = box.get("error")
        assert isinstance(error, fk.WrongThreadError) and isinstance(error, Exception), box
    assert isinstance(run_in_thread(msg.detach).get("error"), fk.WrongThreadError)
    assert isinstance(run_in_thread(lambda: memoryview(msg)).get("error"), fk.WrongThreadError)
    assert run_in_thread(lambda: msg.valid) == {"result": True}
    assert "another thread" in run_in_thread(lambda: repr(msg))["result"]
    # The receiving thread still can use it.
    assert msg.offset >= 0


def test_release_and_drop_from_another_thread_are_safe(messages) -> None:
    consumer, batch = messages
    msg, other = batch[0], batch[1]
    view = other.payload
    assert run_in_thread(msg.release) == {"result": None}
    assert not msg.valid
    holder = [other]
    del other
    box = run_in_thread(lambda: (holder.pop(), gc.collect()))
    assert "error" not in box
    batch.clear()
    del box
    gc.collect()
    assert bytes(view).startswith(b"v")
    del view
    gc.collect()
    assert consumer.live_message_count == 0


def test_owned_messages_go_to_a_thread_pool_and_a_queue(messages) -> None:
    _, batch = messages
    owned = [m.detach() for m in batch]
    expected = [checksum(o) for o in owned]
    for m in batch:
        m.release()
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(checksum, owned)) == expected
    q: queue.Queue[fk.OwnedMessage] = queue.Queue()
    worker_out: list[tuple[str, int, int, bytes]] = []

    def worker() -> None:
        while (item := q.get()) is not None:
            worker_out.append(checksum(item))

    thread = threading.Thread(target=worker)
    thread.start()
    for o in owned:
        q.put(o)
    q.put(None)  # type: ignore[arg-type]
    thread.join(10)
    assert worker_out == expected


def test_owned_messages_pickle_and_cross_processes(messages) -> None:
    _, batch = messages
    owned = [m.detach() for m in batch]
    for o in owned:
        clone = pickle.loads(pickle.dumps(o))
        assert clone == o and hash(clone) == hash(o)
        assert clone.headers == [("h", b"1"), ("null", None)]
        assert clone.timestamp_type == o.timestamp_type and clone.timestamp == o.timestamp
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        results = pool.map(checksum, owned)
    assert results == [checksum(o) for o in owned]


def test_owned_message_constructed_from_python() -> None:
    msg = fk.OwnedMessage(
        "topic", 2, 7, payload=bytearray(b"abc"), key="k", timestamp=1000, headers={"a": "x", b"\xff": None}
    )
    assert (msg.topic, msg.partition, msg.offset, bytes(msg.payload), bytes(msg.key)) == ("topic", 2, 7, b"abc", b"k")
    assert msg.timestamp == 1000 and msg.timestamp_type == fk.TimestampType.CREATE_TIME
    assert msg.headers == [("a", b"x"), ("\udcff", None)]
    assert msg == pickle.loads(pickle.dumps(msg))
    assert msg != fk.OwnedMessage("topic", 2, 7, payload=b"abd", key="k", timestamp=1000)
    with pytest.raises(TypeError):
        fk.OwnedMessage("t", payload=12)  # type: ignore[arg-type]
    empty = fk.OwnedMessage("t")
    assert empty.payload is None and empty.key is None and empty.timestamp is None
