"""Producer: accepted value types, futures with real partitions and offsets, flush and close."""

from __future__ import annotations

import pytest

import ferrokafka as fk
from conftest import consumer_config


def read_back(bootstrap: str, topic: str, group: str, n: int) -> list[fk.OwnedMessage]:
    with fk.Consumer(consumer_config(bootstrap, group)) as consumer:
        consumer.subscribe([topic])
        out: list[fk.OwnedMessage] = []
        while len(out) < n:
            batch = consumer.consume(n - len(out), timeout=10)
            assert batch, f"only {len(out)} of {n} messages arrived"
            out.extend(m.detach() for m in batch)
        return out


def test_value_types_and_futures(mock_cluster, topic_name, group_id):
    bootstrap = mock_cluster.bootstrap_servers
    mock_cluster.create_topic(topic_name, partitions=2)
    with fk.Producer({"bootstrap.servers": bootstrap}) as producer:
        values = [b"bytes", bytearray(b"bytearray"), memoryview(b"xmemoryviewx")[1:-1], "str-\u00e9"]
        futures = [producer.produce(topic_name, v, key=v, partition=1) for v in values]
        for bad in [12, 1.5, object(), ["list"]]:
            with pytest.raises(TypeError, match="bytes-like"):
                producer.produce(topic_name, bad)  # type: ignore[arg-type]
            with pytest.raises(TypeError):
                producer.produce(topic_name, b"ok", key=bad)  # type: ignore[arg-type]
        assert producer.flush(30) == 0
        assert len(producer) == 0
        reports = [f.result(0) for f in futures]
        assert [r.partition for r in reports] == [1, 1, 1, 1]
        assert [r.offset for r in reports] == [0, 1, 2, 3]
        assert all(r.topic == topic_name for r in reports)
    got = read_back(bootstrap, topic_name, group_id, 4)
    assert [bytes(m.payload) for m in got] == [b"bytes", b"bytearray", b"memoryview", "str-\u00e9".encode()]
    assert [bytes(m.key) for m in got] == [bytes(m.payload) for m in got]


def test_borrowed_payload_can_be_produced_directly(mock_cluster, topic_name, group_id):
    bootstrap = mock_cluster.bootstrap_servers
    mock_cluster.create_topic(topic_name + "-copy", partitions=1)
    with fk.Producer({"bootstrap.servers": bootstrap}) as producer:
        producer.produce(topic_name, b"\x00\x01payload", key=b"key").result(10)
        with fk.Consumer(consumer_config(bootstrap, group_id)) as consumer:
            consumer.subscribe([topic_name])
            msg = consumer.poll(10)
            assert msg is not None
            copy_topic = topic_name + "-copy"
            report = producer.produce(copy_topic, msg.payload, key=msg.key, headers=msg.headers).result(10)
            assert report.offset == 0
    copied = read_back(bootstrap, copy_topic, group_id + "-copy", 1)[0]
    assert bytes(copied.payload) == b"\x00\x01payload" and bytes(copied.key) == b"key"


def test_timestamps_headers_and_empty_values(mock_cluster, topic_name, group_id):
    bootstrap = mock_cluster.bootstrap_servers
    mock_cluster.create_topic(topic_name, partitions=1)
    with fk.Producer({"bootstrap.servers": bootstrap}) as producer:
        producer.produce(
            topic_name,
            b"",
            key=b"",
            timestamp=1_700_000_000_000,
            headers=[("a", b"1"), ("a", b"2"), (b"\xff\xfebin", None), ("empty", b"")],
        )
        producer.produce(topic_name, None, key=None)
        assert producer.flush(10) == 0
    empty, null = read_back(bootstrap, topic_name, group_id, 2)
    assert empty.payload is not None and bytes(empty.payload) == b""
    assert empty.key is not None and bytes(empty.key) == b""
    assert empty.timestamp == 1_700_000_000_000 and empty.timestamp_type == fk.TimestampType.CREATE_TIME
    assert empty.headers == [("a", b"1"), ("a", b"2"), ("\udcff\udcfebin", None), ("empty", b"")]
    key = empty.headers[2][0]
    assert key.encode("utf-8", "surrogateescape") == b"\xff\xfebin"
    assert null.payload is None and null.key is None and null.headers == []
    # memoryview(msg) is its payload: empty is a view, null cannot be exported.
    assert bytes(memoryview(empty)) == b""
    with pytest.raises(BufferError, match="no payload"):
        memoryview(null)


def test_flush_reports_failures_and_close_is_idempotent(topic_name):
    # Nothing listens on this port: delivery times out quickly and the future reports it.
    producer = fk.Producer({"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 500})
    future = producer.produce(topic_name, b"lost?")
    assert producer.flush(10) == 0
    error = future.exception(0)
    assert isinstance(error, fk.KafkaError)
    assert error.name() == "_MSG_TIMED_OUT" and error.retriable() and not error.fatal()
    producer.close()
    producer.close()
    assert producer.closed
    with pytest.raises(fk.Error, match="closed"):
        producer.produce(topic_name, b"x")


def test_close_purges_what_cannot_be_delivered(topic_name):
    producer = fk.Producer({"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 60000})
    futures = [producer.produce(topic_name, b"x") for _ in range(3)]
    producer.close(timeout=0.5)
    for future in futures:
        error = future.exception(0)
        assert isinstance(error, fk.KafkaError) and error.name().startswith("_PURGE")


def test_futures_cannot_be_cancelled(mock_cluster, topic_name):
    with fk.Producer({"bootstrap.servers": mock_cluster.bootstrap_servers}) as producer:
        future = producer.produce(topic_name, b"x")
        assert future.cancel() is False
        assert future.result(10).offset == 0


def test_unclosed_producer_warns_and_still_delivers(mock_cluster, topic_name):
    import gc

    producer = fk.Producer({"bootstrap.servers": mock_cluster.bootstrap_servers, "linger.ms": 200})
    future = producer.produce(topic_name, b"x")
    with pytest.warns(ResourceWarning, match="not closed"):
        del producer
        gc.collect()
    assert future.result(10).offset == 0


def test_on_delivery_callbacks_per_message_and_from_config(mock_cluster, topic_name):
    import threading

    calls: list[tuple[str, object, object]] = []
    done = threading.Event()

    def from_config(error, report):
        calls.append(("config", report, error))

    def per_message(error, report):
        calls.append(("message", report, error))
        done.set()

    with fk.Producer({"bootstrap.servers": mock_cluster.bootstrap_servers, "on_delivery": from_config}) as producer:
        producer.produce(topic_name, b"a")
        producer.produce(topic_name, b"b", on_delivery=per_message)
        producer.produce(topic_name, b"c", partition=99)  # fails: unknown partition
        assert producer.flush(10) == 0
        assert done.wait(10)
    assert sorted(kind for kind, _, _ in calls) == ["config", "config", "message"], calls
    failed = [(r, e) for _, r, e in calls if e is not None]
    assert len(failed) == 1 and failed[0][0] is None and failed[0][1].name() == "_UNKNOWN_PARTITION"
    delivered = [r for _, r, e in calls if e is None]
    assert all(isinstance(r, fk.DeliveryReport) and r.topic == topic_name for r in delivered)


def test_purge_fails_queued_messages(topic_name):
    with fk.Producer({"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 60000}) as producer:
        futures = [producer.produce(topic_name, b"x") for _ in range(5)]
        producer.purge()
        assert producer.flush(10) == 0
        names = {f.exception(0).name() for f in futures}
        assert names == {"_PURGE_QUEUE"}


def test_delivery_futures_behave_like_concurrent_futures(mock_cluster, topic_name):
    import asyncio
    import concurrent.futures as cf

    with fk.Producer({"bootstrap.servers": mock_cluster.bootstrap_servers, "linger.ms": 50}) as producer:
        waited = producer.produce(topic_name, b"a")
        assert isinstance(waited, cf.Future) and not waited.cancel()
        assert waited.result(10).offset >= 0 and waited.done() and waited.exception() is None

        called: list[object] = []
        subscribed = producer.produce(topic_name, b"b")
        subscribed.add_done_callback(called.append)  # before delivery
        assert producer.flush(10) == 0
        assert called == [subscribed]
        late: list[object] = []
        subscribed.add_done_callback(late.append)  # after delivery: runs at once
        assert late == [subscribed]

        many = [producer.produce(topic_name, b"%d" % i) for i in range(50)]
        done, pending = cf.wait(many, timeout=10)
        assert len(done) == 50 and not pending
        assert sorted(f.result().offset for f in cf.as_completed(many, timeout=10)) == sorted(
            f.result().offset for f in many
        )

        async def awaited() -> int:
            return (await asyncio.wrap_future(producer.produce(topic_name, b"c"))).offset

        assert asyncio.run(awaited()) >= 0
        failed = producer.produce(topic_name, b"x", partition=77)
        with pytest.raises(fk.KafkaError):
            failed.result(10)
        assert "finished" in repr(failed)


def test_waiting_on_futures_while_they_resolve_never_misses_a_wakeup(mock_cluster, topic_name):
    import random
    import threading

    errors: list[BaseException] = []
    with fk.Producer({"bootstrap.servers": mock_cluster.bootstrap_servers, "linger.ms": 1}) as producer:
        futures = [producer.produce(topic_name, b"%d" % i) for i in range(3000)]

        def waiter(seed: int) -> None:
            rng = random.Random(seed)
            try:
                for future in rng.sample(futures, 300):
                    assert future.result(timeout=20).offset >= 0  # a lost wakeup would time out
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=waiter, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert producer.flush(20) == 0
    assert not errors, errors[:3]
    assert all(f.done() for f in futures)


def test_flush_returns_as_soon_as_everything_is_delivered(mock_cluster, topic_name):
    """flush() serves delivery reports itself (librdkafka's callback mode): it used to return only
    when the delivery thread's next 100 ms poll slice ended, so every flush took >= 100 ms."""
    import statistics
    import time

    mock_cluster.create_topic(topic_name, partitions=1)
    with fk.Producer({"bootstrap.servers": mock_cluster.bootstrap_servers, "linger.ms": 0}) as producer:
        producer.produce(topic_name, b"warm-up").result(10)
        took = []
        for _ in range(7):
            producer.produce(topic_name, b"x")
            start = time.perf_counter()
            assert producer.flush(10) == 0
            took.append(time.perf_counter() - start)
        assert statistics.median(took) < 0.05, took
