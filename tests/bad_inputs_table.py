# The rows pass wrong types on purpose: mypy checks everything else in this file.
# mypy: disable-error-code="arg-type, call-arg, list-item, dict-item, misc, call-overload, operator, index"
"""The bad-input table (run by tests/test_bad_inputs.py, one parametrized test per row).

Each row is one bad (or boundary) input to a public constructor or method of ferrokafka and the
documented outcome: the exception class it must raise (optionally with a substring of its message
and an extra check), or ``None`` when the call must succeed. ``xfail`` marks a row whose documented
outcome is not reached yet (the reason says what it does instead): the test then expects the wrong
outcome, strictly, so a row that starts passing fails until the mark goes. A crash, a panic or a
hang is never marked: only a wrong (or missing) exception may be.

The rows share one mock cluster per test process (``Env``, a topic holding a few messages) and make
fresh clients per row. Importing this module runs nothing.
"""

from __future__ import annotations

import array
import collections
import ctypes
import itertools
import logging
import os
import pickle
import threading
import time
import types
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import ferrokafka as fk

NOBROKER = "127.0.0.1:1"  # nothing listens there: "no reachable broker"
DATA = "data"  # 3 partitions, 10 messages each (value b"v<i>", key b"k<i>", one header)
NULLS = "nulls"  # 1 partition, one message without key and value
ROW_DEADLINE = 6.0  # what a row waits at most for something it needs (the test's timeout is above)

INF = float("inf")
NAN = float("nan")


class Boom(Exception):
    """Raised by the callbacks of the 'callback raises' rows."""


EXCEPTIONS: dict[str, type[BaseException]] = {
    "TypeError": TypeError,
    "ValueError": ValueError,
    "BufferError": BufferError,
    "ConfigError": fk.ConfigError,
    "KafkaError": fk.KafkaError,
    "Error": fk.Error,
    "MessageInvalidatedError": fk.MessageInvalidatedError,
    "WrongThreadError": fk.WrongThreadError,
    "Boom": Boom,
}


@dataclass(frozen=True)
class Row:
    id: str
    input: str  # the call, as a reader would write it
    expected: str | None  # a key of EXCEPTIONS, or None: must succeed
    fn: Callable[[Env], object]
    match: str | None = None  # substring of str(exception)
    check: Callable[[BaseException], None] | None = None  # extra assertions on the exception
    xfail: str | None = None  # not reached yet: what the row observes instead (a wrong exception only)


ROWS: list[Row] = []


def add(
    id: str,
    input: str,
    expected: str | None,
    fn: Callable[[Env], object],
    match: str | None = None,
    check: Callable[[BaseException], None] | None = None,
    xfail: str | None = None,
) -> None:
    assert expected is None or expected in EXCEPTIONS, expected
    assert all(r.id != id for r in ROWS), f"duplicate row id {id}"
    ROWS.append(Row(id, input, expected, fn, match, check, xfail))


# --- the environment a row runs in ---------------------------------------------------------------

_groups = itertools.count()


class Env:
    """One mock cluster for the whole run; fresh clients per row (helpers close them)."""

    def __init__(self) -> None:
        self.cluster = fk.MockCluster()
        self.bs = self.cluster.bootstrap_servers
        self.cluster.create_topic(DATA, 3)
        self.cluster.create_topic(NULLS, 1)
        self.unraisable: list[BaseException] = []
        self.cleanup_errors: list[BaseException] = []
        with fk.Producer({"bootstrap.servers": self.bs}) as producer:
            futures = [
                producer.produce(DATA, b"v%d" % i, key=b"k%d" % i, partition=i % 3, headers=[("h", b"x")])
                for i in range(30)
            ]
            futures.append(producer.produce(NULLS, None, partition=0))
            assert producer.flush(30) == 0
            for future in futures:
                future.result(0)

    # clients --------------------------------------------------------------------------------------
    def consumer_config(self, bootstrap: str | None = None, **extra: object) -> dict[str, object]:
        config: dict[str, object] = {
            "bootstrap.servers": bootstrap or self.bs,
            "group.id": f"bad-inputs-{os.getpid()}-{next(_groups)}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
        }
        config.update(extra)
        return config

    @contextmanager
    def consumer(self, bootstrap: str | None = None, **extra: object) -> Iterator[fk.Consumer]:
        consumer = fk.Consumer(self.consumer_config(bootstrap, **extra))
        try:
            yield consumer
        finally:
            self.close_quietly(consumer)

    @contextmanager
    def producer(self, bootstrap: str | None = None, **extra: object) -> Iterator[fk.Producer]:
        config: dict[str, object] = {"bootstrap.servers": bootstrap or self.bs, "linger.ms": 1}
        config.update(extra)
        producer = fk.Producer(config)
        try:
            yield producer
        finally:
            self.close_quietly(producer, 5.0)

    @contextmanager
    def admin(self, **extra: object) -> Iterator[fk.AdminClient]:
        config: dict[str, object] = {"bootstrap.servers": self.bs}
        config.update(extra)
        admin = fk.AdminClient(config)
        try:
            yield admin
        finally:
            self.close_quietly(admin)

    @contextmanager
    def fresh_cluster(self, num_brokers: int = 1) -> Iterator[fk.MockCluster]:
        cluster = fk.MockCluster(num_brokers)
        try:
            yield cluster
        finally:
            self.close_quietly(cluster)

    def close_quietly(self, obj: Any, *args: object) -> None:
        try:
            obj.close(*args)
        except BaseException as err:  # noqa: B036 - a panic is a BaseException: recorded, judged later
            self.cleanup_errors.append(err)

    # messages -------------------------------------------------------------------------------------
    def message(self, consumer: fk.Consumer, topic: str = DATA, partition: int = 0) -> fk.BorrowedMessage:
        consumer.assign([fk.TopicPartition(topic, partition, 0)])
        deadline = time.monotonic() + ROW_DEADLINE
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None:
                return msg
        raise AssertionError(f"setup: no message from {topic}/{partition} within {ROW_DEADLINE} s")

    def released(self, consumer: fk.Consumer) -> fk.BorrowedMessage:
        msg = self.message(consumer)
        msg.release()
        return msg

    def group_metadata(self) -> fk.ConsumerGroupMetadata:
        with self.consumer() as consumer:
            return consumer.consumer_group_metadata()

    def wait_unraisable(self, cls: type[BaseException], timeout: float = ROW_DEADLINE) -> None:
        """Asserts that an exception of `cls` is reported as unraisable within `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(isinstance(e, cls) for e in self.unraisable):
                return
            time.sleep(0.02)
        seen = [type(e).__name__ for e in self.unraisable]
        raise AssertionError(f"no {cls.__name__} reported as unraisable within {timeout} s (seen: {seen})")


def in_thread(fn: Callable[[], object]) -> object:
    """Runs fn on another thread and returns its result or re-raises its exception here."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = fn()
        except BaseException as err:  # noqa: B036 - handed back to the caller
            box["error"] = err

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("result")


def poll_until_raises(consumer: fk.Consumer, seconds: float = ROW_DEADLINE) -> None:
    """Polls (0.2 s at a time) for `seconds`: the exception a callback raises propagates out of it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        consumer.poll(0.2)


# --- raw buffer requests (ctypes.pythonapi) ------------------------------------------------------

from pybuffer import PyBuffer  # noqa: E402  (tests/ is on sys.path)

PyBUF_SIMPLE = 0
PyBUF_WRITABLE = 0x0001
_SENTINEL = 0x5A5A5A5A5A


def get_buffer(obj: object, flags: int) -> tuple[int, int]:
    """PyObject_GetBuffer(obj, &view, flags); returns (len, readonly) of a successful request.

    A failed request must leave view->obj NULL (CPython's contract): it is checked
    by filling it with a sentinel first."""
    get = ctypes.pythonapi.PyObject_GetBuffer
    get.argtypes = [ctypes.py_object, ctypes.POINTER(PyBuffer), ctypes.c_int]
    get.restype = ctypes.c_int
    release = ctypes.pythonapi.PyBuffer_Release
    release.argtypes = [ctypes.POINTER(PyBuffer)]
    release.restype = None
    view = PyBuffer()
    view.obj = _SENTINEL
    try:
        get(obj, ctypes.byref(view), flags)
    except BaseException as err:
        if view.obj:
            raise AssertionError(
                f"failed buffer request ({type(err).__name__}: {err}) left view->obj non-NULL ({view.obj:#x})"
            ) from err
        raise
    try:
        return int(view.len), int(view.readonly)
    finally:
        release(ctypes.byref(view))


# --- helpers for checks on exceptions ------------------------------------------------------------


def code_is_not_fail(err: BaseException) -> None:
    assert isinstance(err, fk.KafkaError), f"not a KafkaError: {err!r}"
    code = err.code()
    assert isinstance(code, int), f"KafkaError without an int .code(): {code!r}"
    assert code != getattr(fk.KafkaError, "_FAIL"), f"librdkafka's error code was lost: .code() is _FAIL ({err})"


def name_is(name: str) -> Callable[[BaseException], None]:
    def check(err: BaseException) -> None:
        assert isinstance(err, fk.KafkaError), f"not a KafkaError: {err!r}"
        assert err.name() == name, f".name() is {err.name()!r}, expected {name!r}"

    return check


def reason_is(reason: str) -> Callable[[BaseException], None]:
    def check(err: BaseException) -> None:
        assert getattr(err, "reason", None) == reason, (
            f".reason is {getattr(err, 'reason', None)!r}, expected {reason!r}"
        )

    return check


def kafka_error_attributes(err: BaseException) -> None:
    assert isinstance(err, fk.Error)
    for attr, kind in [
        ("code", int),
        ("name", str),
        ("retriable", bool),
        ("fatal", bool),
        ("txn_requires_abort", bool),
    ]:
        value = getattr(err, attr)()  # AttributeError if missing: a failure of the row
        assert isinstance(value, kind), f".{attr}() is {value!r}, expected {kind.__name__}"


T = fk.TopicPartition


# === configuration: Consumer, Producer, AdminClient =============================================

CLIENTS: dict[str, Callable[[Env, Any], Any]] = {
    "Consumer": lambda e, cfg: fk.Consumer(cfg),
    "Producer": lambda e, cfg: fk.Producer(cfg),
    "AdminClient": lambda e, cfg: fk.AdminClient(cfg),
}


def construct(cls: str, make_config: Callable[[Env], Any]) -> Callable[[Env], object]:
    def fn(e: Env) -> None:
        client = CLIENTS[cls](e, make_config(e))
        e.close_quietly(client)

    return fn


def base_config(e: Env, **extra: object) -> dict[str, object]:
    config: dict[str, object] = {"bootstrap.servers": e.bs, "group.id": f"cfg-{next(_groups)}"}
    config.update(extra)
    return config


class PlainMapping(Mapping[str, object]):
    """A read-only Mapping that is not a dict."""

    def __init__(self, data: dict[str, object]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> object:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


for _cls in CLIENTS:
    c_ = _cls.lower()
    add(f"{c_}.config.none", f"{_cls}(None)", "TypeError", construct(_cls, lambda e: None))
    add(
        f"{c_}.config.mappingproxy",
        f"{_cls}(types.MappingProxyType({{...}}))",
        None,
        construct(_cls, lambda e: types.MappingProxyType(base_config(e))),
    )
    add(
        f"{c_}.config.unknown_key",
        f'{_cls}({{..., "no.such.property": "1"}})',
        "ConfigError",
        construct(_cls, lambda e: base_config(e, **{"no.such.property": "1"})),
        match="no.such.property",
    )
    add(
        f"{c_}.config.error_cb_not_callable",
        f"{_cls}({{..., 'error_cb': 5}})",
        "ConfigError",
        construct(_cls, lambda e: base_config(e, error_cb=5)),
        match="error_cb",
    )
    add(
        f"{c_}.config.logger_not_callable",
        f"{_cls}({{..., 'logger': 5}})",
        "ConfigError",
        construct(_cls, lambda e: base_config(e, logger=5)),
        match="logger",
    )
    add(
        f"{c_}.config.stats_cb_not_callable",
        f"{_cls}({{..., 'stats_cb': 'x'}})",
        "ConfigError",
        construct(_cls, lambda e: base_config(e, stats_cb="x", **{"statistics.interval.ms": 100})),
        match="stats_cb",
    )

add(
    "consumer.config.plain_mapping",
    "Consumer(<a collections.abc.Mapping that is not a dict>)",
    None,
    construct("Consumer", lambda e: PlainMapping(base_config(e))),
)
add(
    "producer.config.ordereddict",
    "Producer(collections.OrderedDict(...))",
    None,
    construct("Producer", lambda e: collections.OrderedDict(base_config(e))),
)
add(
    "consumer.config.list_of_pairs",
    'Consumer([("bootstrap.servers", ...)])',
    "TypeError",
    construct("Consumer", lambda e: list(base_config(e).items())),
)
add(
    "producer.config.str",
    'Producer("bootstrap.servers=...")',
    "TypeError",
    construct("Producer", lambda e: f"bootstrap.servers={e.bs}"),
)
add(
    "producer.config.int_key",
    'Producer({1: "x"})',
    "ConfigError",
    construct("Producer", lambda e: {1: "x"}),
    match="keys must be str",
)
add(
    "producer.config.empty_key",
    'Producer({"": "x"})',
    "ConfigError",
    construct("Producer", lambda e: base_config(e, **{"": "x"})),
)
add(
    "producer.config.nul_key",
    'Producer({"linger\\0.ms": 5})',
    "ConfigError",
    construct("Producer", lambda e: base_config(e, **{"linger\0.ms": 5})),
    match="linger",
)
add(
    "producer.config.surrogate_key",
    'Producer({"linger.ms\\udcff": 5})',
    "ConfigError",
    construct("Producer", lambda e: base_config(e, **{"linger.ms\udcff": 5})),
)
add(
    "producer.config.1mb_key",
    'Producer({"x"*1_000_000: "1"})',
    "ConfigError",
    construct("Producer", lambda e: base_config(e, **{"x" * 1_000_000: "1"})),
)
for _vid, _value, _vtext in [
    ("list", [1], "[1]"),
    ("none", None, "None"),
    ("word", "abc", '"abc"'),
    ("negative", -5, "-5"),
    ("2p63", 2**63, "2**63"),
    ("1e30", 10**30, "10**30"),
    ("nan", NAN, "nan"),
    ("inf", INF, "inf"),
    ("bytes", b"5", 'b"5"'),
]:
    add(
        f"producer.config.linger_ms_{_vid}",
        f'Producer({{"linger.ms": {_vtext}}})',
        "ConfigError",
        construct("Producer", lambda e, v=_value: base_config(e, **{"linger.ms": v})),
        match="linger.ms",
    )
add(
    "producer.config.acks_banana",
    'Producer({"acks": "banana"})',
    "ConfigError",
    construct("Producer", lambda e: base_config(e, acks="banana")),
    match="acks",
)
add(
    "producer.config.compression_brotli",
    'Producer({"compression.type": "brotli"})',
    "ConfigError",
    construct("Producer", lambda e: base_config(e, **{"compression.type": "brotli"})),
    match="compression.type",
)
add(
    "producer.config.message_max_bytes_huge",
    'Producer({"message.max.bytes": 10**30})',
    "ConfigError",
    construct("Producer", lambda e: base_config(e, **{"message.max.bytes": 10**30})),
    match="message.max.bytes",
)
add(
    "consumer.config.auto_commit_maybe",
    'Consumer({"enable.auto.commit": "maybe"})',
    "ConfigError",
    construct("Consumer", lambda e: base_config(e, **{"enable.auto.commit": "maybe"})),
    match="enable.auto.commit",
)
add(
    "consumer.config.client_id_nul",
    'Consumer({"client.id": "a\\0b"})',
    "ConfigError",
    construct("Consumer", lambda e: base_config(e, **{"client.id": "a\0b"})),
    match="client.id",
)
add(
    "consumer.config.client_id_surrogate",
    'Consumer({"client.id": "a\\udcff"})',
    "ConfigError",
    construct("Consumer", lambda e: base_config(e, **{"client.id": "a\udcff"})),
    match="client.id",
)
add(
    "consumer.config.on_commit_not_callable",
    "Consumer({..., 'on_commit': 5})",
    "ConfigError",
    construct("Consumer", lambda e: base_config(e, on_commit=5)),
    match="on_commit",
)
add(
    "producer.config.on_delivery_not_callable",
    "Producer({..., 'on_delivery': 5})",
    "ConfigError",
    construct("Producer", lambda e: base_config(e, on_delivery=5)),
    match="on_delivery",
)
add(
    "producer.config.logger_without_log",
    "Producer({..., 'logger': object()})",
    "ConfigError",
    construct("Producer", lambda e: base_config(e, logger=object())),
    match="logger",
)
add(
    "producer.config.logger_is_logger",
    "Producer({..., 'logger': logging.getLogger('x')})",
    None,
    construct("Producer", lambda e: base_config(e, logger=logging.getLogger("bad-inputs"))),
)


def _client_id_1mb(e: Env) -> None:
    # The Kafka protocol carries client.id as an int16-length string: 1 MB cannot be sent. Today the
    # producer is created and its messages are never delivered (no error, nothing resolves).
    producer = fk.Producer({"bootstrap.servers": e.bs, "client.id": "x" * 1_000_000})
    try:
        producer.produce(DATA, b"v").result(3)
    finally:
        e.close_quietly(producer, 1.0)


add(
    "producer.config.client_id_1mb",
    'Producer({"client.id": "x"*1_000_000}); produce(...).result()',
    "ConfigError",
    _client_id_1mb,
    match="client.id",
)


def _temporary_producer_flush(e: Env) -> None:
    fk.Producer({"bootstrap.servers": e.bs}).flush(-1)


def _temporary_consumer_consume(e: Env) -> None:
    fk.Consumer(base_config(e)).consume(-1)


add(
    "producer.temporary.flush_negative",
    "fk.Producer(cfg).flush(-1)  # unclosed temporary",
    "ValueError",
    _temporary_producer_flush,
)
add(
    "consumer.temporary.consume_negative",
    "fk.Consumer(cfg).consume(-1)  # unclosed temporary",
    "ValueError",
    _temporary_consumer_consume,
)


# === callbacks that raise, have the wrong arity or are not callable =============================


def _raiser(*args: object) -> None:
    raise Boom("callback raised")


class _RaisingLogger(logging.Logger):
    """A logging.Logger whose every record raises (log(), warning(), ... all go through _log)."""

    def __init__(self) -> None:
        super().__init__("bad-inputs-raising", logging.DEBUG)

    def isEnabledFor(self, level: int) -> bool:
        return True

    def log(self, *args: Any, **kwargs: Any) -> None:
        raise Boom("logger raised")

    def _log(self, *args: Any, **kwargs: Any) -> None:
        raise Boom("logger raised")


def _consumer_cb_row(extra: dict[str, object], bootstrap: str | None = NOBROKER) -> Callable[[Env], None]:
    def fn(e: Env) -> None:
        with e.consumer(bootstrap, **extra) as consumer:
            poll_until_raises(consumer)

    return fn


add(
    "consumer.error_cb.raises",
    "Consumer({127.0.0.1:1, error_cb=<raises Boom>}).poll(...)",
    "Boom",
    _consumer_cb_row({"error_cb": _raiser}),
)
add(
    "consumer.error_cb.wrong_arity",
    "Consumer({127.0.0.1:1, error_cb=lambda: None}).poll(...)",
    "TypeError",
    _consumer_cb_row({"error_cb": lambda: None}),
)
add(
    "consumer.stats_cb.raises",
    "Consumer({stats_cb=<raises Boom>, statistics.interval.ms=100}).poll(...)",
    "Boom",
    _consumer_cb_row({"stats_cb": _raiser, "statistics.interval.ms": 100}, None),
)
add(
    "consumer.stats_cb.wrong_arity",
    "Consumer({stats_cb=lambda a, b: None, statistics.interval.ms=100}).poll(...)",
    "TypeError",
    _consumer_cb_row({"stats_cb": lambda a, b: None, "statistics.interval.ms": 100}, None),
)
add(
    "consumer.logger.raises",
    "Consumer({127.0.0.1:1, logger=<log() raises Boom>}).poll(...)",
    "Boom",
    _consumer_cb_row({"logger": _RaisingLogger()}),
)


def _on_commit_row(callback: Callable[..., object]) -> Callable[[Env], None]:
    def fn(e: Env) -> None:
        with e.consumer(on_commit=callback) as consumer:
            msg = e.message(consumer)
            consumer.commit(msg, asynchronous=True)
            msg.release()
            poll_until_raises(consumer)

    return fn


add(
    "consumer.on_commit.raises",
    "Consumer({on_commit=<raises Boom>}); commit(msg, asynchronous=True); poll()",
    "Boom",
    _on_commit_row(_raiser),
)
add(
    "consumer.on_commit.wrong_arity",
    "Consumer({on_commit=lambda: None}); commit(msg, asynchronous=True); poll()",
    "TypeError",
    _on_commit_row(lambda: None),
)


def _rebalance_row(on_assign: object = None, on_revoke: object = None) -> Callable[[Env], None]:
    def fn(e: Env) -> None:
        assigned = threading.Event()

        def record(consumer: fk.Consumer, partitions: list[fk.TopicPartition]) -> None:
            assigned.set()

        with e.consumer() as consumer:
            consumer.subscribe([DATA], on_assign=on_assign or record, on_revoke=on_revoke)
            deadline = time.monotonic() + ROW_DEADLINE
            while not assigned.is_set() and time.monotonic() < deadline:
                msg = consumer.poll(0.2)
                if msg is not None:
                    msg.release()
            if on_revoke is not None:
                assert assigned.is_set(), "setup: no assignment"
                consumer.unsubscribe()
                poll_until_raises(consumer, 3.0)

    return fn


add("consumer.on_assign.raises", "subscribe([t], on_assign=<raises Boom>); poll()", "Boom", _rebalance_row(_raiser))
add(
    "consumer.on_assign.wrong_arity",
    "subscribe([t], on_assign=lambda: None); poll()",
    "TypeError",
    _rebalance_row(lambda: None),
)
add(
    "consumer.on_revoke.raises",
    "subscribe([t], on_revoke=<raises Boom>); poll(); unsubscribe(); poll()",
    "Boom",
    _rebalance_row(on_revoke=_raiser),
)
add(
    "consumer.subscribe.on_assign_not_callable",
    "subscribe([t], on_assign=5)",
    "TypeError",
    lambda e: _with_consumer(e, lambda c: c.subscribe([DATA], on_assign=5)),
)
add(
    "consumer.subscribe.on_revoke_not_callable",
    'subscribe([t], on_revoke="x")',
    "TypeError",
    lambda e: _with_consumer(e, lambda c: c.subscribe([DATA], on_revoke="x")),
)
add(
    "consumer.subscribe.on_lost_not_callable",
    "subscribe([t], on_lost=5)",
    "TypeError",
    lambda e: _with_consumer(e, lambda c: c.subscribe([DATA], on_lost=5)),
)


def _with_consumer(
    e: Env, fn: Callable[[fk.Consumer], object], bootstrap: str | None = None, **extra: object
) -> object:
    with e.consumer(bootstrap, **extra) as consumer:
        return fn(consumer)


def _with_producer(e: Env, fn: Callable[[fk.Producer], object], **extra: object) -> object:
    with e.producer(**extra) as producer:
        return fn(producer)


def _with_admin(e: Env, fn: Callable[[fk.AdminClient], object]) -> object:
    with e.admin() as admin:
        return fn(admin)


def _with_cluster(e: Env, fn: Callable[[fk.MockCluster], object]) -> object:
    with e.fresh_cluster() as cluster:
        return fn(cluster)


def _producer_unraisable_row(
    cls: type[BaseException], extra: dict[str, object], produce_kwargs: dict[str, object], bootstrap: str | None = None
) -> Callable[[Env], None]:
    """Producer callbacks run on its delivery thread: an exception there is reported as unraisable,
    and the producer (its futures included) goes on working."""

    def fn(e: Env) -> None:
        with e.producer(bootstrap, **extra) as producer:
            if bootstrap is None:
                report = producer.produce(DATA, b"v", partition=0, **produce_kwargs).result(ROW_DEADLINE)
                assert report.topic == DATA
            e.wait_unraisable(cls)

    return fn


add(
    "producer.on_delivery_config.raises",
    "Producer({on_delivery=<raises Boom>}).produce(...).result()",
    None,
    _producer_unraisable_row(Boom, {"on_delivery": _raiser}, {}),
)
add(
    "producer.on_delivery_config.wrong_arity",
    "Producer({on_delivery=lambda: None}).produce(...).result()",
    None,
    _producer_unraisable_row(TypeError, {"on_delivery": lambda: None}, {}),
)
add(
    "producer.produce.on_delivery_raises",
    "produce(..., on_delivery=<raises Boom>).result()",
    None,
    _producer_unraisable_row(Boom, {}, {"on_delivery": _raiser}),
)
add(
    "producer.produce.on_delivery_wrong_arity",
    "produce(..., on_delivery=lambda x: None).result()",
    None,
    _producer_unraisable_row(TypeError, {}, {"on_delivery": lambda x: None}),
)
add(
    "producer.error_cb.raises",
    "Producer({127.0.0.1:1, error_cb=<raises Boom>})",
    None,
    _producer_unraisable_row(Boom, {"error_cb": _raiser}, {}, NOBROKER),
)
add(
    "producer.stats_cb.raises",
    "Producer({stats_cb=<raises Boom>, statistics.interval.ms=100})",
    None,
    _producer_unraisable_row(Boom, {"stats_cb": _raiser, "statistics.interval.ms": 100}, {}),
)
add(
    "producer.logger.raises",
    "Producer({127.0.0.1:1, logger=<log() raises Boom>})",
    None,
    _producer_unraisable_row(Boom, {"logger": _RaisingLogger()}, {}, NOBROKER),
)
add(
    "producer.produce.on_delivery_not_callable",
    "produce(t, b'v', on_delivery=5)",
    "TypeError",
    lambda e: _with_producer(e, lambda p: p.produce(DATA, b"v", on_delivery=5)),
)
add(
    "producer.produce.on_delivery_str",
    'produce(t, b"v", on_delivery="x")',
    "TypeError",
    lambda e: _with_producer(e, lambda p: p.produce(DATA, b"v", on_delivery="x")),
)


# === timeouts: one conversion everywhere ===========================================================
# None and inf mean forever, huge finite values saturate; negative, -inf and NaN raise ValueError.
# The "accepted" rows use a call that returns promptly anyway (data is there, nothing is pending).


def _assigned(c: fk.Consumer) -> fk.Consumer:
    c.assign([T(DATA, 0, 0)])
    return c


def _got_message(c: fk.Consumer, t: object) -> None:
    msg = _assigned(c).poll(t)
    assert msg is not None, "poll returned None"
    msg.release()


def _consumed(c: fk.Consumer, t: object) -> None:
    msgs = _assigned(c).consume(1, timeout=t)
    assert len(msgs) == 1, f"consume returned {len(msgs)} messages"
    msgs[0].release()


def _flushed(p: fk.Producer, t: object) -> None:
    future = p.produce(DATA, b"v")
    assert p.flush(t) == 0, "flush left messages unresolved"
    future.result(0)


def _txn(name: str) -> Callable[[Env, object], object]:
    def call(e: Env, t: object) -> object:
        with e.producer() as producer:
            if name == "send_offsets_to_transaction":
                metadata = e.group_metadata()
                producer.send_offsets_to_transaction([T(DATA, 0, 1)], metadata, t)
                return None
            return getattr(producer, name)(t)

    return call


# site: (call text, function(env, timeout), accepted-outcome or "skip" for no accepted rows)
TIMEOUT_SITES: dict[str, tuple[str, Callable[[Env, object], object], str | None]] = {
    "consumer.poll": ("Consumer.poll({t})", lambda e, t: _with_consumer(e, lambda c: _got_message(c, t)), None),
    "consumer.consume": (
        "Consumer.consume(1, timeout={t})",
        lambda e, t: _with_consumer(e, lambda c: _consumed(c, t)),
        None,
    ),
    "consumer.seek": (
        "Consumer.seek(TopicPartition(t, 0, 1), timeout={t})",
        lambda e, t: _with_consumer(e, lambda c: _assigned(c).seek(T(DATA, 0, 1), timeout=t)),
        None,
    ),
    "consumer.committed": (
        "Consumer.committed([TopicPartition(t, 0)], timeout={t})",
        lambda e, t: _with_consumer(e, lambda c: c.committed([T(DATA, 0)], timeout=t)),
        None,
    ),
    "consumer.get_watermark_offsets": (
        "Consumer.get_watermark_offsets(TopicPartition(t, 0), timeout={t})",
        lambda e, t: _with_consumer(e, lambda c: c.get_watermark_offsets(T(DATA, 0), timeout=t)),
        None,
    ),
    "consumer.offsets_for_times": (
        "Consumer.offsets_for_times([TopicPartition(t, 0, 0)], timeout={t})",
        lambda e, t: _with_consumer(e, lambda c: c.offsets_for_times([T(DATA, 0, 0)], timeout=t)),
        None,
    ),
    "consumer.list_topics": (
        "Consumer.list_topics(timeout={t})",
        lambda e, t: _with_consumer(e, lambda c: c.list_topics(timeout=t)),
        None,
    ),
    "consumer.list_topics_topic": (
        "Consumer.list_topics(t, timeout={t})",
        lambda e, t: _with_consumer(e, lambda c: c.list_topics(DATA, timeout=t)),
        None,
    ),
    "consumer.close": ("Consumer.close({t})", lambda e, t: _with_consumer(e, lambda c: c.close(t)), None),
    "producer.poll": ("Producer.poll({t})", lambda e, t: _with_producer(e, lambda p: p.poll(t)), "skip"),
    "producer.flush": (
        "Producer.produce(...); Producer.flush({t})",
        lambda e, t: _with_producer(e, lambda p: _flushed(p, t)),
        None,
    ),
    "producer.close": ("Producer.close({t})", lambda e, t: _with_producer(e, lambda p: p.close(t)), None),
    "producer.init_transactions": (
        "Producer.init_transactions({t})  # not transactional",
        _txn("init_transactions"),
        "Error",
    ),
    "producer.send_offsets_to_transaction": (
        "Producer.send_offsets_to_transaction([tp], metadata, {t})  # not transactional",
        _txn("send_offsets_to_transaction"),
        "Error",
    ),
    "producer.commit_transaction": (
        "Producer.commit_transaction({t})  # not transactional",
        _txn("commit_transaction"),
        "Error",
    ),
    "producer.abort_transaction": (
        "Producer.abort_transaction({t})  # not transactional",
        _txn("abort_transaction"),
        "Error",
    ),
    "admin.create_topics": (
        "AdminClient.create_topics([NewTopic('t')], operation_timeout={t})",
        lambda e, t: _with_admin(e, lambda a: _future(a.create_topics([fk.NewTopic("bi-t")], operation_timeout=t))),
        None,
    ),
    "admin.delete_topics": (
        "AdminClient.delete_topics(['t'], operation_timeout={t})",
        lambda e, t: _with_admin(e, lambda a: _future(a.delete_topics(["bi-t"], operation_timeout=t))),
        None,
    ),
    "admin.create_partitions": (
        "AdminClient.create_partitions('t', 3, operation_timeout={t})",
        lambda e, t: _with_admin(e, lambda a: _future(a.create_partitions("bi-t", 3, operation_timeout=t))),
        None,
    ),
}


def _future(value: object) -> None:
    assert isinstance(value, Future), f"expected a Future, got {value!r}"


BAD_TIMEOUTS: list[tuple[str, object, str, str]] = [
    ("negative", -1, "-1", "ValueError"),
    ("nan", NAN, "float('nan')", "ValueError"),
    ("minus_inf", -INF, "-float('inf')", "ValueError"),
]
GOOD_TIMEOUTS: list[tuple[str, object, str]] = [
    ("inf", INF, "float('inf')"),
    ("1e19", 1e19, "1e19"),
    ("3e6", 3e6, "3e6"),
]

for _site, (_text, _call, _accepted) in TIMEOUT_SITES.items():
    for _tid, _t, _ttext, _exc in BAD_TIMEOUTS:
        add(f"{_site}.timeout_{_tid}", _text.format(t=_ttext), _exc, lambda e, c=_call, t=_t: c(e, t))
    if _accepted != "skip":
        for _tid, _t, _ttext in GOOD_TIMEOUTS:
            add(f"{_site}.timeout_{_tid}", _text.format(t=_ttext), _accepted, lambda e, c=_call, t=_t: c(e, t))
for _site in ["consumer.poll", "consumer.committed", "producer.flush", "producer.init_transactions"]:
    _text, _call, _accepted = TIMEOUT_SITES[_site]
    add(f"{_site}.timeout_str", _text.format(t='"1"'), "TypeError", lambda e, c=_call: c(e, "1"))
for _tid, _t, _ttext in [("none", None, "None"), ("2p64_int", 2**64, "2**64"), ("1e400_int", 10**400, "10**400")]:
    add(
        f"consumer.poll.timeout_{_tid}",
        f"Consumer.poll({_ttext})  # data available",
        None,
        lambda e, t=_t: _with_consumer(e, lambda c: _got_message(c, t)),
    )


# === topic names ====================================================================================
# Empty, containing NUL, longer than 249 characters or not encodable raise ValueError wherever a topic
# name is taken; subscribe() takes regex patterns ("^...") of up to 4096 characters.

BAD_NAMES: dict[str, tuple[Callable[[], str], str]] = {
    "empty": (lambda: "", '""'),
    "nul": (lambda: "a\0b", '"a\\0b"'),
    "len250": (lambda: "x" * 250, '"x"*250'),
    "len513": (lambda: "x" * 513, '"x"*513'),
    "len100k": (lambda: "x" * 100_000, '"x"*100_000'),
    "len1M": (lambda: "x" * 1_000_000, '"x"*1_000_000'),
    "surrogate": (lambda: "t\udcff", '"t\\udcff"'),
}
FEW_NAMES = ["empty", "nul", "len513", "len1M"]


def _admin_call(fn: Callable[[fk.AdminClient, str], object]) -> Callable[[Env, str], object]:
    return lambda e, name: _with_admin(e, lambda a: fn(a, name))


NAME_SITES: dict[str, tuple[str, Callable[[Env, str], object], list[str]]] = {
    "consumer.subscribe": (
        "Consumer.subscribe([{n}])",
        lambda e, n: _with_consumer(e, lambda c: c.subscribe([n])),
        list(BAD_NAMES),
    ),
    "consumer.assign": (
        "Consumer.assign([TopicPartition({n}, 0, 0)])",
        lambda e, n: _with_consumer(e, lambda c: c.assign([T(n, 0, 0)])),
        list(BAD_NAMES),
    ),
    "consumer.incremental_assign": (
        "Consumer.incremental_assign([TopicPartition({n}, 0, 0)])",
        lambda e, n: _with_consumer(e, lambda c: c.incremental_assign([T(n, 0, 0)])),
        list(BAD_NAMES),
    ),
    "consumer.list_topics": (
        "Consumer.list_topics(topic={n}, timeout=5)",
        lambda e, n: _with_consumer(e, lambda c: c.list_topics(n, timeout=5)),
        list(BAD_NAMES),
    ),
    "producer.produce": (
        "Producer.produce({n}, b'v')",
        lambda e, n: _with_producer(e, lambda p: p.produce(n, b"v")),
        list(BAD_NAMES),
    ),
    "mock.create_topic": (
        "MockCluster.create_topic({n}, 1)",
        lambda e, n: _with_cluster(e, lambda m: m.create_topic(n, 1)),
        list(BAD_NAMES),
    ),
    "newtopic": ("NewTopic({n})", lambda e, n: fk.NewTopic(n), list(BAD_NAMES)),
    "admin.delete_topics": (
        "AdminClient.delete_topics([{n}])",
        _admin_call(lambda a, n: a.delete_topics([n])),
        list(BAD_NAMES),
    ),
    "consumer.incremental_unassign": (
        "Consumer.incremental_unassign([TopicPartition({n}, 0)])",
        lambda e, n: _with_consumer(e, lambda c: c.incremental_unassign([T(n, 0)])),
        FEW_NAMES,
    ),
    "consumer.pause": (
        "Consumer.pause([TopicPartition({n}, 0)])",
        lambda e, n: _with_consumer(e, lambda c: c.pause([T(n, 0)])),
        FEW_NAMES,
    ),
    "consumer.resume": (
        "Consumer.resume([TopicPartition({n}, 0)])",
        lambda e, n: _with_consumer(e, lambda c: c.resume([T(n, 0)])),
        FEW_NAMES,
    ),
    "consumer.seek": (
        "Consumer.seek(TopicPartition({n}, 0, 0), timeout=5)",
        lambda e, n: _with_consumer(e, lambda c: c.seek(T(n, 0, 0), timeout=5)),
        FEW_NAMES,
    ),
    "consumer.committed": (
        "Consumer.committed([TopicPartition({n}, 0)], timeout=5)",
        lambda e, n: _with_consumer(e, lambda c: c.committed([T(n, 0)], timeout=5)),
        FEW_NAMES,
    ),
    "consumer.get_watermark_offsets": (
        "Consumer.get_watermark_offsets(TopicPartition({n}, 0), timeout=5)",
        lambda e, n: _with_consumer(e, lambda c: c.get_watermark_offsets(T(n, 0), timeout=5)),
        FEW_NAMES,
    ),
    "consumer.offsets_for_times": (
        "Consumer.offsets_for_times([TopicPartition({n}, 0, 0)], timeout=5)",
        lambda e, n: _with_consumer(e, lambda c: c.offsets_for_times([T(n, 0, 0)], timeout=5)),
        FEW_NAMES,
    ),
    "consumer.position": (
        "Consumer.position([TopicPartition({n}, 0)])",
        lambda e, n: _with_consumer(e, lambda c: c.position([T(n, 0)])),
        FEW_NAMES,
    ),
    "consumer.store_offsets": (
        "Consumer.store_offsets(offsets=[TopicPartition({n}, 0, 1)])",
        lambda e, n: _with_consumer(e, lambda c: c.store_offsets(offsets=[T(n, 0, 1)])),
        FEW_NAMES,
    ),
    "consumer.commit": (
        "Consumer.commit(offsets=[TopicPartition({n}, 0, 1)])",
        lambda e, n: _with_consumer(e, lambda c: c.commit(offsets=[T(n, 0, 1)])),
        FEW_NAMES,
    ),
    "admin.create_partitions": (
        "AdminClient.create_partitions({n}, 3)",
        _admin_call(lambda a, n: a.create_partitions(n, 3)),
        FEW_NAMES,
    ),
    "admin.describe_configs": (
        'AdminClient.describe_configs("topic", {n})',
        _admin_call(lambda a, n: a.describe_configs("topic", n)),
        FEW_NAMES,
    ),
    "admin.list_offsets": (
        "AdminClient.list_offsets([TopicPartition({n}, 0)])",
        _admin_call(lambda a, n: a.list_offsets([T(n, 0)])),
        FEW_NAMES,
    ),
    "admin.delete_records": (
        "AdminClient.delete_records([TopicPartition({n}, 0, 1)])",
        _admin_call(lambda a, n: a.delete_records([T(n, 0, 1)])),
        FEW_NAMES,
    ),
    "admin.alter_consumer_group_offsets": (
        'AdminClient.alter_consumer_group_offsets("g", [TopicPartition({n}, 0, 1)])',
        _admin_call(lambda a, n: a.alter_consumer_group_offsets("g", [T(n, 0, 1)])),
        FEW_NAMES,
    ),
}

for _site, (_text, _ncall, _names) in NAME_SITES.items():
    for _nid in _names:
        _make, _ntext = BAD_NAMES[_nid]
        add(f"{_site}.topic_{_nid}", _text.format(n=_ntext), "ValueError", lambda e, c=_ncall, m=_make: c(e, m()))

# the boundary: 249 characters is a valid topic name
add(
    "consumer.subscribe.topic_len249",
    'Consumer.subscribe(["x"*249])',
    None,
    lambda e: _with_consumer(e, lambda c: c.subscribe(["x" * 249])),
)
add(
    "consumer.assign.topic_len249",
    'Consumer.assign([TopicPartition("x"*249, 0, 0)])',
    None,
    lambda e: _with_consumer(e, lambda c: c.assign([T("x" * 249, 0, 0)])),
)
add(
    "producer.produce.topic_len249",
    'Producer.produce("x"*249, b"v")',
    None,
    lambda e: _with_producer(e, lambda p: _future(p.produce("x" * 249, b"v"))),
)
add(
    "mock.create_topic.topic_len249",
    'MockCluster.create_topic("x"*249, 1)',
    None,
    lambda e: _with_cluster(e, lambda m: m.create_topic("x" * 249, 1)),
)
add("newtopic.topic_len249", 'NewTopic("x"*249)', None, lambda e: fk.NewTopic("x" * 249))
# regex subscriptions
add(
    "consumer.subscribe.regex_len4096",
    'Consumer.subscribe(["^" + "x"*4095])',
    None,
    lambda e: _with_consumer(e, lambda c: c.subscribe(["^" + "x" * 4095])),
)
add(
    "consumer.subscribe.regex_len5000",
    'Consumer.subscribe(["^" + "x"*5000])',
    "ValueError",
    lambda e: _with_consumer(e, lambda c: c.subscribe(["^" + "x" * 5000])),
)
add(
    "consumer.subscribe.regex_1M",
    'Consumer.subscribe(["^" + "x"*1_000_000])',
    "ValueError",
    lambda e: _with_consumer(e, lambda c: c.subscribe(["^" + "x" * 1_000_000])),
)
add(
    "consumer.subscribe.regex_nul",
    'Consumer.subscribe(["^a\\0b"])',
    "ValueError",
    lambda e: _with_consumer(e, lambda c: c.subscribe(["^a\0b"])),
)


# === Consumer: wrong types and other bad arguments ================================================


def _cons(
    fn: Callable[[fk.Consumer], object], bootstrap: str | None = None, **extra: object
) -> Callable[[Env], object]:
    return lambda e: _with_consumer(e, fn, bootstrap, **extra)


def _no_group_subscribe(e: Env) -> None:
    consumer = fk.Consumer({"bootstrap.servers": e.bs})
    try:
        consumer.subscribe([DATA])
    finally:
        e.close_quietly(consumer)


def _closed_consumer(fn: Callable[[fk.Consumer], object]) -> Callable[[Env], object]:
    def call(e: Env) -> object:
        with e.consumer() as consumer:
            consumer.close()
            return fn(consumer)

    return call


for _cid, _ctext, _cexc, _cfn in [
    ("subscribe.none", "subscribe(None)", "TypeError", lambda c: c.subscribe(None)),
    ("subscribe.int", "subscribe(5)", "TypeError", lambda c: c.subscribe(5)),
    ("subscribe.int_items", "subscribe([1, 2])", "TypeError", lambda c: c.subscribe([1, 2])),
    ("subscribe.bytes_items", 'subscribe([b"t"])', "TypeError", lambda c: c.subscribe([b"t"])),
    ("subscribe.none_items", "subscribe([None])", "TypeError", lambda c: c.subscribe([None])),
    ("subscribe.str", 'subscribe("data")  # a single topic as str', None, lambda c: c.subscribe(DATA)),
    ("subscribe.mixed", 'subscribe(["data", 5])', "TypeError", lambda c: c.subscribe([DATA, 5])),
    ("unsubscribe.arg", "unsubscribe(1)", "TypeError", lambda c: c.unsubscribe(1)),
    ("assign.none", "assign(None)", "TypeError", lambda c: c.assign(None)),
    ("assign.str", 'assign("data")', "TypeError", lambda c: c.assign(DATA)),
    ("assign.tuples", 'assign([("data", 0)])', "TypeError", lambda c: c.assign([(DATA, 0)])),
    ("assign.none_items", "assign([None])", "TypeError", lambda c: c.assign([None])),
    ("incremental_assign.none", "incremental_assign(None)", "TypeError", lambda c: c.incremental_assign(None)),
    ("incremental_unassign.int", "incremental_unassign(5)", "TypeError", lambda c: c.incremental_unassign(5)),
    ("pause.none", "pause(None)", "TypeError", lambda c: c.pause(None)),
    ("pause.str_items", 'pause(["data"])', "TypeError", lambda c: c.pause([DATA])),
    ("resume.none", "resume(None)", "TypeError", lambda c: c.resume(None)),
    ("seek.none", "seek(None)", "TypeError", lambda c: c.seek(None)),
    ("seek.tuple", 'seek(("data", 0, 1))', "TypeError", lambda c: c.seek((DATA, 0, 1))),
    ("position.int", "position(5)", "TypeError", lambda c: c.position(5)),
    ("position.int_items", "position([5])", "TypeError", lambda c: c.position([5])),
    ("committed.int", "committed(5)", "TypeError", lambda c: c.committed(5)),
    (
        "get_watermark_offsets.str",
        'get_watermark_offsets("data")',
        "TypeError",
        lambda c: c.get_watermark_offsets(DATA),
    ),
    ("get_watermark_offsets.none", "get_watermark_offsets(None)", "TypeError", lambda c: c.get_watermark_offsets(None)),
    ("offsets_for_times.none", "offsets_for_times(None)", "TypeError", lambda c: c.offsets_for_times(None)),
    ("list_topics.int", "list_topics(5)", "TypeError", lambda c: c.list_topics(5)),
    ("list_topics.bytes", 'list_topics(b"data")', "TypeError", lambda c: c.list_topics(b"data")),
    ("consume.negative", "consume(-1)", "ValueError", lambda c: c.consume(-1)),
    ("consume.2p64", "consume(2**64)", "ValueError", lambda c: c.consume(2**64)),
    ("consume.1e30", "consume(10**30)", "ValueError", lambda c: c.consume(10**30)),
    ("consume.str", 'consume("5")', "TypeError", lambda c: c.consume("5")),
    ("consume.float", "consume(1.5)", "TypeError", lambda c: c.consume(1.5)),
    ("consume.none", "consume(None)", "TypeError", lambda c: c.consume(None)),
    ("commit.int", "commit(5)", "TypeError", lambda c: c.commit(5)),
    ("commit.str", 'commit("x")', "TypeError", lambda c: c.commit("x")),
    ("commit.offsets_str", 'commit(offsets="x")', "TypeError", lambda c: c.commit(offsets="x")),
    (
        "commit.offsets_tuples",
        'commit(offsets=[("data", 0, 1)])',
        "TypeError",
        lambda c: c.commit(offsets=[(DATA, 0, 1)]),
    ),
    (
        "commit.asynchronous_str",
        'commit(offsets=[tp], asynchronous="yes")',
        "TypeError",
        lambda c: c.commit(offsets=[T(DATA, 0, 1)], asynchronous="yes"),
    ),
    (
        "commit.unknown_topic",
        'commit(OwnedMessage("no-such-topic", 0, 5), asynchronous=False)',
        "KafkaError",
        lambda c: c.commit(fk.OwnedMessage("no-such-topic", 0, 5), asynchronous=False),
    ),
    ("store_offsets.int", "store_offsets(5)", "TypeError", lambda c: c.store_offsets(5)),
    (
        "store_offsets.offsets_int_items",
        "store_offsets(offsets=[5])",
        "TypeError",
        lambda c: c.store_offsets(offsets=[5]),
    ),
    ("close.str", 'close("1")', "TypeError", lambda c: c.close("1")),
    ("unknown_kwarg", "poll(timeout=1, bogus=1)", "TypeError", lambda c: c.poll(timeout=1, bogus=1)),
]:
    add(f"consumer.{_cid}", f"Consumer.{_ctext}", _cexc, _cons(_cfn))

add(
    "consumer.consume.2p31",
    "Consumer.consume(2**31, timeout=5)  # data available: returns what is there",
    None,
    _cons(lambda c: _assert_some(_assigned(c).consume(2**31, timeout=5))),
)


def _assert_some(msgs: list[fk.BorrowedMessage]) -> None:
    assert msgs, "consume returned nothing"
    for msg in msgs:
        msg.release()


add(
    "consumer.subscribe.no_group_id",
    "Consumer({no group.id}).subscribe([t])  # librdkafka's code, not _FAIL",
    "KafkaError",
    _no_group_subscribe,
    check=code_is_not_fail,
)
add(
    "consumer.pause.unknown_partition",
    'Consumer.pause([TopicPartition("never-seen", 0)])  # per-partition error',
    "KafkaError",
    _cons(lambda c: c.pause([T("never-seen-topic", 0)])),
    check=code_is_not_fail,
)
add(
    "consumer.resume.unknown_partition",
    'Consumer.resume([TopicPartition("never-seen", 0)])  # per-partition error',
    "KafkaError",
    _cons(lambda c: c.resume([T("never-seen-topic", 0)])),
    check=code_is_not_fail,
)
add(
    "consumer.incremental_unassign.not_assigned",
    "Consumer.incremental_unassign([TopicPartition(t, 0)])  # nothing assigned: librdkafka's code, not _FAIL",
    "KafkaError",
    _cons(lambda c: c.incremental_unassign([T(DATA, 0)])),
    check=code_is_not_fail,
)


def _joined(strategy: str, call: Callable[[fk.Consumer], object]) -> Callable[[Env], object]:
    """Joins the group with `strategy`, then makes `call` (which librdkafka refuses with _STATE)."""

    def fn(e: Env) -> object:
        assigned = threading.Event()
        with e.consumer(**{"partition.assignment.strategy": strategy}) as consumer:
            consumer.subscribe([DATA], on_assign=lambda c, p: assigned.set())
            deadline = time.monotonic() + ROW_DEADLINE
            while not assigned.is_set() and time.monotonic() < deadline:
                msg = consumer.poll(0.2)
                if msg is not None:
                    msg.release()
            assert assigned.is_set(), "setup: no assignment"
            return call(consumer)

    return fn


add(
    "consumer.incremental_assign.eager_group",
    "subscribe (eager, range); after the assignment: incremental_assign([tp])  # librdkafka's _STATE, not _FAIL",
    "KafkaError",
    _joined("range", lambda c: c.incremental_assign([T(DATA, 0, 0)])),
    check=code_is_not_fail,
)
add(
    "consumer.assign.cooperative_group",
    "subscribe (cooperative-sticky); after the assignment: assign([tp])  # librdkafka's _STATE, not _FAIL",
    "KafkaError",
    _joined("cooperative-sticky", lambda c: c.assign([T(DATA, 0, 0)])),
    check=code_is_not_fail,
)
add(
    "consumer.seek.unassigned",
    'Consumer.seek(TopicPartition("never-seen", 0, 0), timeout=2)  # not _FAIL',
    "KafkaError",
    _cons(lambda c: c.seek(T("never-seen-topic", 0, 0), timeout=2)),
    check=code_is_not_fail,
)
add("consumer.closed.poll", "Consumer.close(); Consumer.poll(0)", "Error", _closed_consumer(lambda c: c.poll(0)))
add(
    "consumer.closed.subscribe",
    "Consumer.close(); Consumer.subscribe([t])",
    "Error",
    _closed_consumer(lambda c: c.subscribe([DATA])),
)
add(
    "consumer.closed.assign",
    "Consumer.close(); Consumer.assign([tp])",
    "Error",
    _closed_consumer(lambda c: c.assign([T(DATA, 0, 0)])),
)
add(
    "consumer.closed.commit",
    "Consumer.close(); Consumer.commit(offsets=[tp])",
    "Error",
    _closed_consumer(lambda c: c.commit(offsets=[T(DATA, 0, 1)])),
)


# === BorrowedMessage ================================================================================


def _msg_row(
    fn: Callable[[Env, fk.Consumer, fk.BorrowedMessage], object], topic: str = DATA
) -> Callable[[Env], object]:
    def call(e: Env) -> object:
        with e.consumer() as consumer:
            msg = e.message(consumer, topic)
            try:
                return fn(e, consumer, msg)
            finally:
                msg.release()

    return call


def _released_then(fn: Callable[[Env, fk.Consumer, fk.BorrowedMessage], object]) -> Callable[[Env], object]:
    def call(e: Env) -> object:
        with e.consumer() as consumer:
            msg = e.released(consumer)
            return fn(e, consumer, msg)

    return call


def _after_close(e: Env) -> None:
    with e.consumer() as consumer:
        msg = e.message(consumer)
        consumer.close()
        msg.payload


def _superseded(e: Env) -> None:
    with e.consumer() as consumer:
        _assigned(consumer)
        iterator = iter(consumer)
        first = next(iterator)
        second = next(iterator)
        try:
            first.payload
        finally:
            second.release()


def _release_elsewhere(e: Env, c: fk.Consumer, msg: fk.BorrowedMessage) -> None:
    in_thread(msg.release)
    assert in_thread(lambda: msg.valid) is False and msg.valid is False


def _readonly_simple_request(e: Env, c: fk.Consumer, msg: fk.BorrowedMessage) -> None:
    length, readonly = get_buffer(msg, PyBUF_SIMPLE)
    assert (length, readonly) == (len(bytes(msg.payload or b"")), 1), (length, readonly)


def _cast_write(obj: object) -> None:
    memoryview(obj).cast("B")[0] = 0


def _payload_write(obj: Any) -> None:
    obj.payload[0] = 0


for _bid, _btext, _bexc, _bfn, _bcheck in [
    ("constructor", "BorrowedMessage()", "TypeError", lambda e: fk.BorrowedMessage(), None),
    ("pickle", "pickle.dumps(msg)", "TypeError", _msg_row(lambda e, c, m: pickle.dumps(m)), None),
    (
        "released.detach",
        "msg.release(); msg.detach()",
        "MessageInvalidatedError",
        _released_then(lambda e, c, m: m.detach()),
        reason_is("released"),
    ),
    (
        "released.payload",
        "msg.release(); msg.payload",
        "MessageInvalidatedError",
        _released_then(lambda e, c, m: m.payload),
        reason_is("released"),
    ),
    (
        "released.memoryview",
        "msg.release(); memoryview(msg)",
        "MessageInvalidatedError",
        _released_then(lambda e, c, m: memoryview(m)),
        reason_is("released"),
    ),
    ("released.release_again", "msg.release(); msg.release()", None, _released_then(lambda e, c, m: m.release()), None),
    (
        "released.commit",
        "msg.release(); consumer.commit(msg)",
        "MessageInvalidatedError",
        _released_then(lambda e, c, m: c.commit(m)),
        None,
    ),
    (
        "released.store_offsets",
        "msg.release(); consumer.store_offsets(msg)",
        "MessageInvalidatedError",
        _released_then(lambda e, c, m: c.store_offsets(m)),
        None,
    ),
    (
        "consumer_closed.payload",
        "consumer.close(); msg.payload",
        "MessageInvalidatedError",
        _after_close,
        reason_is("consumer_closed"),
    ),
    (
        "superseded.payload",
        "first = next(it); next(it); first.payload",
        "MessageInvalidatedError",
        _superseded,
        reason_is("superseded"),
    ),
    (
        "other_thread.key",
        "msg.key on another thread",
        "WrongThreadError",
        _msg_row(lambda e, c, m: in_thread(lambda: m.key)),
        None,
    ),
    (
        "other_thread.memoryview",
        "memoryview(msg) on another thread",
        "WrongThreadError",
        _msg_row(lambda e, c, m: in_thread(lambda: memoryview(m))),
        None,
    ),
    (
        "other_thread.detach",
        "msg.detach() on another thread",
        "WrongThreadError",
        _msg_row(lambda e, c, m: in_thread(m.detach)),
        None,
    ),
    ("other_thread.release", "msg.release() and msg.valid on another thread", None, _msg_row(_release_elsewhere), None),
    (
        "no_payload.memoryview",
        "memoryview(msg)  # message without a value",
        "BufferError",
        _msg_row(lambda e, c, m: memoryview(m), NULLS),
        None,
    ),
    (
        "buffer.writable",
        "PyObject_GetBuffer(msg, PyBUF_WRITABLE)",
        "BufferError",
        _msg_row(lambda e, c, m: get_buffer(m, PyBUF_WRITABLE)),
        None,
    ),
    (
        "buffer.writable_no_payload",
        "PyObject_GetBuffer(msg, PyBUF_WRITABLE)  # message without a value",
        "BufferError",
        _msg_row(lambda e, c, m: get_buffer(m, PyBUF_WRITABLE), NULLS),
        None,
    ),
    (
        "buffer.payload_writable",
        "PyObject_GetBuffer(msg.payload, PyBUF_WRITABLE)",
        "BufferError",
        _msg_row(lambda e, c, m: get_buffer(m.payload, PyBUF_WRITABLE)),
        None,
    ),
    (
        "buffer.simple_readonly",
        "PyObject_GetBuffer(msg, PyBUF_SIMPLE)  # read-only view of the payload",
        None,
        _msg_row(_readonly_simple_request),
        None,
    ),
    (
        "buffer.ctypes_from_buffer",
        "ctypes.c_char.from_buffer(msg)",
        "TypeError",
        _msg_row(lambda e, c, m: ctypes.c_char.from_buffer(m)),
        None,
    ),
    (
        "buffer.cast_write",
        'memoryview(msg).cast("B")[0] = 0',
        "TypeError",
        _msg_row(lambda e, c, m: _cast_write(m)),
        None,
    ),
    ("buffer.payload_write", "msg.payload[0] = 0", "TypeError", _msg_row(lambda e, c, m: _payload_write(m)), None),
    ("exit.args", "msg.__exit__(None, None, None)", None, _msg_row(lambda e, c, m: m.__exit__(None, None, None)), None),
]:
    add(f"borrowed.{_bid}", _btext, _bexc, _bfn, check=_bcheck)


# === Producer: topic, value, key, partition, timestamp, headers ===================================


def _prod(fn: Callable[[fk.Producer], object], **extra: object) -> Callable[[Env], object]:
    return lambda e: _with_producer(e, fn, **extra)


def _result(future: Future[fk.DeliveryReport]) -> fk.DeliveryReport:
    return future.result(ROW_DEADLINE)


def _produce_borrowed(kind: str, role: str) -> Callable[[Env], object]:
    """Produces a BorrowedMessage (released, or received by another thread) as value/key/header."""

    def call(e: Env) -> object:
        with e.consumer() as consumer, e.producer() as producer:
            msg = e.message(consumer)
            if kind == "released":
                msg.release()

            def produce() -> object:
                if role == "value":
                    return producer.produce(DATA, msg)
                if role == "key":
                    return producer.produce(DATA, b"v", key=msg)
                return producer.produce(DATA, b"v", headers=[("h", msg)])

            try:
                return in_thread(produce) if kind == "foreign" else produce()
            finally:
                msg.release()

    return call


def _produce_valid_borrowed(e: Env) -> None:
    with e.consumer() as consumer, e.producer() as producer:
        msg = e.message(consumer)
        report = _result(producer.produce(DATA, msg, partition=1))
        assert report.partition == 1
        msg.release()


NONCONTIG = lambda: memoryview(b"abcdefgh")[::2]  # noqa: E731 - a strided, non-contiguous view

for _pid, _ptext, _pexc, _pfn, _pmatch, _pcheck in [
    ("topic_none", "produce(None, b'v')", "TypeError", lambda p: p.produce(None, b"v"), None, None),
    ("topic_int", "produce(5, b'v')", "TypeError", lambda p: p.produce(5, b"v"), None, None),
    ("topic_bytes", "produce(b'data', b'v')", "TypeError", lambda p: p.produce(b"data", b"v"), None, None),
    ("no_topic", "produce()", "TypeError", lambda p: p.produce(), None, None),
    ("value_int", "produce(t, 5)", "TypeError", lambda p: p.produce(DATA, 5), None, None),
    ("value_float", "produce(t, 1.5)", "TypeError", lambda p: p.produce(DATA, 1.5), None, None),
    ("value_list", "produce(t, [1, 2])", "TypeError", lambda p: p.produce(DATA, [1, 2]), None, None),
    ("value_dict", "produce(t, {})", "TypeError", lambda p: p.produce(DATA, {}), None, None),
    ("value_object", "produce(t, object())", "TypeError", lambda p: p.produce(DATA, object()), None, None),
    ("value_surrogate", 'produce(t, "\\udcff")', "ValueError", lambda p: p.produce(DATA, "\udcff"), None, None),
    (
        "value_noncontiguous",
        "produce(t, memoryview(b'abcdefgh')[::2])",
        "TypeError",
        lambda p: p.produce(DATA, NONCONTIG()),
        "contiguous",
        None,
    ),
    (
        "key_noncontiguous",
        "produce(t, b'v', key=memoryview(b'abcdefgh')[::2])",
        "TypeError",
        lambda p: p.produce(DATA, b"v", key=NONCONTIG()),
        "contiguous",
        None,
    ),
    ("key_int", "produce(t, b'v', key=5)", "TypeError", lambda p: p.produce(DATA, b"v", key=5), None, None),
    (
        "value_array",
        "produce(t, array.array('i', [1, 2])).result()",
        None,
        lambda p: _result(p.produce(DATA, array.array("i", [1, 2]))),
        None,
        None,
    ),
    (
        "value_owned_message",
        "produce(t, OwnedMessage('t', payload=b'x')).result()",
        None,
        lambda p: _result(p.produce(DATA, fk.OwnedMessage("t", payload=b"x"))),
        None,
        None,
    ),
    (
        "value_2mb",
        "produce(t, b'x'*2_000_000).result()  # > message.max.bytes",
        "KafkaError",
        lambda p: _result(p.produce(DATA, b"x" * 2_000_000)),
        None,
        name_is("MSG_SIZE_TOO_LARGE"),
    ),
    (
        "partition_99",
        "produce(t, b'v', partition=99).result()  # 3 partitions",
        "KafkaError",
        lambda p: _result(p.produce(DATA, b"v", partition=99)),
        None,
        name_is("_UNKNOWN_PARTITION"),
    ),
    (
        "partition_2p31",
        "produce(t, b'v', partition=2**31)",
        "ValueError",
        lambda p: p.produce(DATA, b"v", partition=2**31),
        None,
        None,
    ),
    (
        "partition_2p63",
        "produce(t, b'v', partition=2**63)",
        "ValueError",
        lambda p: p.produce(DATA, b"v", partition=2**63),
        None,
        None,
    ),
    (
        "partition_minus_2p31_1",
        "produce(t, b'v', partition=-2**31-1)",
        "ValueError",
        lambda p: p.produce(DATA, b"v", partition=-(2**31) - 1),
        None,
        None,
    ),
    (
        "partition_str",
        "produce(t, b'v', partition='0')",
        "TypeError",
        lambda p: p.produce(DATA, b"v", partition="0"),
        None,
        None,
    ),
    (
        "partition_float",
        "produce(t, b'v', partition=1.5)",
        "TypeError",
        lambda p: p.produce(DATA, b"v", partition=1.5),
        None,
        None,
    ),
    (
        "timestamp_2p63",
        "produce(t, b'v', timestamp=2**63)",
        "ValueError",
        lambda p: p.produce(DATA, b"v", timestamp=2**63),
        None,
        None,
    ),
    (
        "timestamp_2p64",
        "produce(t, b'v', timestamp=2**64)",
        "ValueError",
        lambda p: p.produce(DATA, b"v", timestamp=2**64),
        None,
        None,
    ),
    (
        "timestamp_minus_2p63_1",
        "produce(t, b'v', timestamp=-2**63-1)",
        "ValueError",
        lambda p: p.produce(DATA, b"v", timestamp=-(2**63) - 1),
        None,
        None,
    ),
    (
        "timestamp_str",
        "produce(t, b'v', timestamp='now')",
        "TypeError",
        lambda p: p.produce(DATA, b"v", timestamp="now"),
        None,
        None,
    ),
    (
        "timestamp_float",
        "produce(t, b'v', timestamp=1.5)",
        "TypeError",
        lambda p: p.produce(DATA, b"v", timestamp=1.5),
        None,
        None,
    ),
    ("unknown_kwarg", "produce(t, b'v', bogus=1)", "TypeError", lambda p: p.produce(DATA, b"v", bogus=1), None, None),
    ("headers_int", "produce(t, b'v', headers=5)", "TypeError", lambda p: p.produce(DATA, b"v", headers=5), None, None),
    (
        "headers_str",
        "produce(t, b'v', headers='abc')",
        "TypeError",
        lambda p: p.produce(DATA, b"v", headers="abc"),
        None,
        None,
    ),
    (
        "headers_1tuple",
        "produce(t, b'v', headers=[('k',)])",
        "TypeError",
        lambda p: p.produce(DATA, b"v", headers=[("k",)]),
        None,
        None,
    ),
    (
        "headers_3tuple",
        "produce(t, b'v', headers=[('k', b'v', b'x')])",
        "TypeError",
        lambda p: p.produce(DATA, b"v", headers=[("k", b"v", b"x")]),
        None,
        None,
    ),
    (
        "headers_none_item",
        "produce(t, b'v', headers=[None])",
        "TypeError",
        lambda p: p.produce(DATA, b"v", headers=[None]),
        None,
        None,
    ),
    (
        "headers_int_key",
        "produce(t, b'v', headers=[(1, b'v')])",
        "TypeError",
        lambda p: p.produce(DATA, b"v", headers=[(1, b"v")]),
        None,
        None,
    ),
    (
        "headers_int_value",
        "produce(t, b'v', headers=[('k', 5)])",
        "TypeError",
        lambda p: p.produce(DATA, b"v", headers=[("k", 5)]),
        None,
        None,
    ),
    (
        "headers_list_value",
        "produce(t, b'v', headers=[('k', [1])])",
        "TypeError",
        lambda p: p.produce(DATA, b"v", headers=[("k", [1])]),
        None,
        None,
    ),
    (
        "headers_dict_int_value",
        "produce(t, b'v', headers={'k': 5})",
        "TypeError",
        lambda p: p.produce(DATA, b"v", headers={"k": 5}),
        None,
        None,
    ),
    (
        "headers_dict_int_key",
        "produce(t, b'v', headers={1: b'v'})",
        "TypeError",
        lambda p: p.produce(DATA, b"v", headers={1: b"v"}),
        None,
        None,
    ),
    (
        "headers_nul_key",
        "produce(t, b'v', headers=[('a\\0b', b'v')])",
        "ValueError",
        lambda p: p.produce(DATA, b"v", headers=[("a\0b", b"v")]),
        None,
        None,
    ),
    (
        "headers_nul_bytes_key",
        "produce(t, b'v', headers=[(b'a\\0b', b'v')])",
        "ValueError",
        lambda p: p.produce(DATA, b"v", headers=[(b"a\0b", b"v")]),
        None,
        None,
    ),
    # Accepted by design: keys are decoded with surrogateescape (docs/concepts.md, "Errors"), so '\udcff' is the key
    # byte 0xff and round-trips; a lone surrogate outside that range cannot be encoded.
    (
        "headers_surrogate_key",
        "produce(t, b'v', headers=[('\\udcff', b'v')]).result()",
        None,
        lambda p: _result(p.produce(DATA, b"v", headers=[("\udcff", b"v")])),
        None,
        None,
    ),
    (
        "headers_lone_surrogate_key",
        "produce(t, b'v', headers=[('\\ud800', b'v')])",
        "ValueError",
        lambda p: p.produce(DATA, b"v", headers=[("\ud800", b"v")]),
        None,
        None,
    ),
    (
        "headers_ok_shapes",
        "produce(t, b'v', headers=[('k', None), (b'k2', 'str'), ('k3', b'a\\0b')]).result()",
        None,
        lambda p: _result(p.produce(DATA, b"v", headers=[("k", None), (b"k2", "str"), ("k3", b"a\0b")])),
        None,
        None,
    ),
    (
        "headers_ok_mapping",
        "produce(t, b'v', headers={'k': b'v'}).result()",
        None,
        lambda p: _result(p.produce(DATA, b"v", headers={"k": b"v"})),
        None,
        None,
    ),
]:
    add(f"producer.produce.{_pid}", f"Producer.{_ptext}", _pexc, _prod(_pfn), match=_pmatch, check=_pcheck)

add(
    "producer.produce.value_over_message_max_bytes",
    "Producer({message.max.bytes: 1000}).produce(t, b'x'*5000).result()",
    "KafkaError",
    _prod(lambda p: _result(p.produce(DATA, b"x" * 5000)), **{"message.max.bytes": 1000}),
    check=name_is("MSG_SIZE_TOO_LARGE"),
)
add(
    "producer.produce.value_released_borrowed",
    "msg.release(); produce(t, msg)",
    "MessageInvalidatedError",
    _produce_borrowed("released", "value"),
)
add(
    "producer.produce.key_released_borrowed",
    "msg.release(); produce(t, b'v', key=msg)",
    "MessageInvalidatedError",
    _produce_borrowed("released", "key"),
)
add(
    "producer.produce.header_released_borrowed",
    "msg.release(); produce(t, b'v', headers=[('h', msg)])",
    "MessageInvalidatedError",
    _produce_borrowed("released", "header"),
)
add(
    "producer.produce.value_foreign_borrowed",
    "produce(t, msg) on a thread that did not receive msg",
    "WrongThreadError",
    _produce_borrowed("foreign", "value"),
)
add(
    "producer.produce.key_foreign_borrowed",
    "produce(t, b'v', key=msg) on a thread that did not receive msg",
    "WrongThreadError",
    _produce_borrowed("foreign", "key"),
)
add(
    "producer.produce.value_valid_borrowed",
    "produce(t, msg).result()  # a valid BorrowedMessage is bytes-like",
    None,
    _produce_valid_borrowed,
)


def _closed_producer(fn: Callable[[fk.Producer], object]) -> Callable[[Env], object]:
    def call(e: Env) -> object:
        with e.producer() as producer:
            producer.close()
            return fn(producer)

    return call


for _pid, _ptext, _pexc, _pfn in [
    ("purge.str", "purge('x')", "TypeError", _prod(lambda p: p.purge("x"))),
    ("flush.list", "flush([1])", "TypeError", _prod(lambda p: p.flush([1]))),
    ("begin_transaction.arg", "begin_transaction(5)", "TypeError", _prod(lambda p: p.begin_transaction(5))),
    (
        "send_offsets_to_transaction.none",
        "send_offsets_to_transaction(None, metadata)",
        "TypeError",
        lambda e: _with_producer(e, lambda p: p.send_offsets_to_transaction(None, e.group_metadata())),
    ),
    (
        "send_offsets_to_transaction.metadata_none",
        "send_offsets_to_transaction([tp], None)",
        "TypeError",
        _prod(lambda p: p.send_offsets_to_transaction([T(DATA, 0, 1)], None)),
    ),
    (
        "send_offsets_to_transaction.metadata_str",
        'send_offsets_to_transaction([tp], "group")',
        "TypeError",
        _prod(lambda p: p.send_offsets_to_transaction([T(DATA, 0, 1)], "group")),
    ),
    ("closed.produce", "close(); produce(t, b'v')", "Error", _closed_producer(lambda p: p.produce(DATA, b"v"))),
]:
    add(f"producer.{_pid}", f"Producer.{_ptext}", _pexc, _pfn)


# === TopicPartition ===============================================================================

for _tid, _ttext, _texc, _tfn in [
    ("topic_none", "TopicPartition(None)", "TypeError", lambda: T(None)),
    ("topic_int", "TopicPartition(5)", "TypeError", lambda: T(5)),
    ("topic_bytes", "TopicPartition(b't')", "TypeError", lambda: T(b"t")),
    ("partition_2p31", "TopicPartition('t', 2**31)", "ValueError", lambda: T("t", 2**31)),
    ("partition_minus_2p31_1", "TopicPartition('t', -2**31-1)", "ValueError", lambda: T("t", -(2**31) - 1)),
    ("partition_1e30", "TopicPartition('t', 10**30)", "ValueError", lambda: T("t", 10**30)),
    ("partition_str", "TopicPartition('t', '0')", "TypeError", lambda: T("t", "0")),
    ("partition_float", "TopicPartition('t', 1.5)", "TypeError", lambda: T("t", 1.5)),
    ("partition_nan", "TopicPartition('t', float('nan'))", "TypeError", lambda: T("t", NAN)),
    ("partition_none", "TopicPartition('t', None)", "TypeError", lambda: T("t", None)),
    ("offset_2p63", "TopicPartition('t', 0, 2**63)", "ValueError", lambda: T("t", 0, 2**63)),
    ("offset_2p64", "TopicPartition('t', 0, 2**64)", "ValueError", lambda: T("t", 0, 2**64)),
    ("offset_minus_2p63_1", "TopicPartition('t', 0, -2**63-1)", "ValueError", lambda: T("t", 0, -(2**63) - 1)),
    ("offset_inf", "TopicPartition('t', 0, float('inf'))", "TypeError", lambda: T("t", 0, INF)),
    ("compare_int", "TopicPartition('t', 0) < 5", "TypeError", lambda: T("t", 0) < 5),
]:
    add(f"topic_partition.{_tid}", _ttext, _texc, lambda e, f=_tfn: f())


# === OwnedMessage ===================================================================================


def _owned_with_borrowed(kind: str) -> Callable[[Env], object]:
    def call(e: Env) -> object:
        with e.consumer() as consumer:
            msg = e.message(consumer)
            if kind == "released":
                msg.release()
            try:
                make = lambda: fk.OwnedMessage("t", payload=msg)  # noqa: E731
                return in_thread(make) if kind == "foreign" else make()
            finally:
                msg.release()

    return call


def _owned_headers_roundtrip() -> None:
    owned = fk.OwnedMessage("t", headers=[("k", b"a\0b"), ("n", None)])
    assert owned.headers == [("k", b"a\0b"), ("n", None)], owned.headers


def _owned_readonly_request() -> None:
    length, readonly = get_buffer(fk.OwnedMessage("t", payload=b"abc"), PyBUF_SIMPLE)
    assert (length, readonly) == (3, 1), (length, readonly)


for _oid, _otext, _oexc, _ofn, _omatch in [
    ("no_args", "OwnedMessage()", "TypeError", lambda: fk.OwnedMessage(), None),
    ("topic_none", "OwnedMessage(None)", "TypeError", lambda: fk.OwnedMessage(None), None),
    ("topic_int", "OwnedMessage(5)", "TypeError", lambda: fk.OwnedMessage(5), None),
    ("topic_bytes", "OwnedMessage(b't')", "TypeError", lambda: fk.OwnedMessage(b"t"), None),
    ("partition_str", "OwnedMessage('t', '0')", "TypeError", lambda: fk.OwnedMessage("t", "0"), None),
    ("partition_2p31", "OwnedMessage('t', 2**31)", "ValueError", lambda: fk.OwnedMessage("t", 2**31), None),
    ("offset_2p63", "OwnedMessage('t', 0, 2**63)", "ValueError", lambda: fk.OwnedMessage("t", 0, 2**63), None),
    (
        "offset_minus_2p63_1",
        "OwnedMessage('t', 0, -2**63-1)",
        "ValueError",
        lambda: fk.OwnedMessage("t", 0, -(2**63) - 1),
        None,
    ),
    (
        "timestamp_2p63",
        "OwnedMessage('t', timestamp=2**63)",
        "ValueError",
        lambda: fk.OwnedMessage("t", timestamp=2**63),
        None,
    ),
    (
        "timestamp_str",
        "OwnedMessage('t', timestamp='x')",
        "TypeError",
        lambda: fk.OwnedMessage("t", timestamp="x"),
        None,
    ),
    (
        "timestamp_type_int",
        "OwnedMessage('t', timestamp_type=1)",
        "TypeError",
        lambda: fk.OwnedMessage("t", timestamp_type=1),
        None,
    ),
    ("payload_int", "OwnedMessage('t', payload=5)", "TypeError", lambda: fk.OwnedMessage("t", payload=5), None),
    ("key_object", "OwnedMessage('t', key=object())", "TypeError", lambda: fk.OwnedMessage("t", key=object()), None),
    (
        "payload_noncontiguous",
        "OwnedMessage('t', payload=memoryview(b'abcdefgh')[::2])",
        "TypeError",
        lambda: fk.OwnedMessage("t", payload=NONCONTIG()),
        "contiguous",
    ),
    (
        "payload_surrogate",
        "OwnedMessage('t', payload='\\udcff')",
        "ValueError",
        lambda: fk.OwnedMessage("t", payload="\udcff"),
        None,
    ),
    ("headers_int", "OwnedMessage('t', headers=5)", "TypeError", lambda: fk.OwnedMessage("t", headers=5), None),
    (
        "headers_1tuple",
        "OwnedMessage('t', headers=[('k',)])",
        "TypeError",
        lambda: fk.OwnedMessage("t", headers=[("k",)]),
        None,
    ),
    (
        "headers_int_value",
        "OwnedMessage('t', headers=[('k', 5)])",
        "TypeError",
        lambda: fk.OwnedMessage("t", headers=[("k", 5)]),
        None,
    ),
    (
        "headers_nul_key",
        "OwnedMessage('t', headers=[('a\\0b', b'v')])",
        "ValueError",
        lambda: fk.OwnedMessage("t", headers=[("a\0b", b"v")]),
        None,
    ),
    (
        "headers_nul_bytes_key",
        "OwnedMessage('t', headers=[(b'a\\0b', b'v')])",
        "ValueError",
        lambda: fk.OwnedMessage("t", headers=[(b"a\0b", b"v")]),
        None,
    ),
    (
        "headers_nul_value_roundtrip",
        "OwnedMessage('t', headers=[('k', b'a\\0b'), ('n', None)]).headers",
        None,
        _owned_headers_roundtrip,
        None,
    ),
    (
        "payload_1mb",
        "OwnedMessage('t', payload=b'x'*1_000_000)",
        None,
        lambda: fk.OwnedMessage("t", payload=b"x" * 1_000_000),
        None,
    ),
    (
        "no_payload.memoryview",
        "memoryview(OwnedMessage('t'))",
        "BufferError",
        lambda: memoryview(fk.OwnedMessage("t")),
        None,
    ),
    (
        "buffer.writable",
        "PyObject_GetBuffer(OwnedMessage('t', payload=b'abc'), PyBUF_WRITABLE)",
        "BufferError",
        lambda: get_buffer(fk.OwnedMessage("t", payload=b"abc"), PyBUF_WRITABLE),
        None,
    ),
    (
        "buffer.simple_readonly",
        "PyObject_GetBuffer(OwnedMessage('t', payload=b'abc'), PyBUF_SIMPLE)",
        None,
        _owned_readonly_request,
        None,
    ),
    (
        "buffer.ctypes_from_buffer",
        "ctypes.c_char.from_buffer(OwnedMessage('t', payload=b'abc'))",
        "TypeError",
        lambda: ctypes.c_char.from_buffer(fk.OwnedMessage("t", payload=b"abc")),
        None,
    ),
    (
        "buffer.cast_write",
        "memoryview(OwnedMessage('t', payload=b'abc')).cast('B')[0] = 0",
        "TypeError",
        lambda: _cast_write(fk.OwnedMessage("t", payload=b"abc")),
        None,
    ),
    (
        "buffer.payload_write",
        "OwnedMessage('t', payload=b'abc').payload[0] = 0",
        "TypeError",
        lambda: _payload_write(fk.OwnedMessage("t", payload=b"abc")),
        None,
    ),
]:
    add(f"owned.{_oid}", _otext, _oexc, lambda e, f=_ofn: f(), match=_omatch)

add(
    "owned.payload_released_borrowed",
    "msg.release(); OwnedMessage('t', payload=msg)",
    "MessageInvalidatedError",
    _owned_with_borrowed("released"),
)
add(
    "owned.payload_foreign_borrowed",
    "OwnedMessage('t', payload=msg) on a thread that did not receive msg",
    "WrongThreadError",
    _owned_with_borrowed("foreign"),
)


# === TimestampType, KafkaError and the other classes, module functions ============================


def _kafka_error(*args: object) -> Callable[[Env], None]:
    def call(e: Env) -> None:
        err = fk.KafkaError(*args)
        kafka_error_attributes(err)
        if len(args) > 1:
            assert str(args[1]) in str(err), str(err)

    return call


def _raise_and_catch(e: Env) -> None:
    try:
        raise fk.KafkaError(fk.KafkaError._FAIL, "x")
    except fk.Error as err:
        kafka_error_attributes(err)


def _invalidated_reason(e: Env) -> None:
    err = fk.MessageInvalidatedError("x")
    assert hasattr(err, "reason"), "MessageInvalidatedError('x') has no .reason"


for _xid, _xtext, _xexc, _xfn in [
    ("timestamp_type.5", "TimestampType(5)", "ValueError", lambda e: fk.TimestampType(5)),
    ("timestamp_type.minus_1", "TimestampType(-1)", "ValueError", lambda e: fk.TimestampType(-1)),
    ("timestamp_type.2p31", "TimestampType(2**31)", "ValueError", lambda e: fk.TimestampType(2**31)),
    ("timestamp_type.str", "TimestampType('x')", "TypeError", lambda e: fk.TimestampType("x")),
    ("timestamp_type.none", "TimestampType(None)", "TypeError", lambda e: fk.TimestampType(None)),
    ("kafka_error.str", 'KafkaError("x") (a str, not a code), as confluent-kafka', "TypeError", _kafka_error("x")),
    ("kafka_error.no_args", "KafkaError() (no code), as confluent-kafka", "TypeError", _kafka_error()),
    ("kafka_error.none", "KafkaError(None)", "TypeError", _kafka_error(None)),
    ("kafka_error.code", "KafkaError(code): .code()/.name()/...", None, _kafka_error(-192)),
    ("kafka_error.unknown_code", "KafkaError(12345, 'x'): .code()/.name()/...", None, _kafka_error(12345, "x")),
    (
        "kafka_error.raise_catch",
        'raise KafkaError(_FAIL, "x") / except fk.Error: .code()/...',
        None,
        _raise_and_catch,
    ),
    ("invalidated_error.reason", 'MessageInvalidatedError("x").reason exists', None, _invalidated_reason),
    (
        "config_error.str",
        'ConfigError("x") is an Error',
        None,
        lambda e: _assert(isinstance(fk.ConfigError("x"), fk.Error)),
    ),
    ("delivery_report.constructor", "DeliveryReport()", "TypeError", lambda e: fk.DeliveryReport()),
    (
        "consumer_group_metadata.constructor",
        "ConsumerGroupMetadata()",
        "TypeError",
        lambda e: fk.ConsumerGroupMetadata(),
    ),
    (
        "module.live_native_messages_arg",
        "ferrokafka._native._live_native_messages(1)",
        "TypeError",
        lambda e: fk._native._live_native_messages(1),
    ),
]:
    add(_xid, _xtext, _xexc, _xfn)


def _assert(condition: bool) -> None:
    assert condition


# === NewTopic and AdminClient =======================================================================


def _adm(fn: Callable[[fk.AdminClient], object]) -> Callable[[Env], object]:
    return lambda e: _with_admin(e, fn)


def _closed_admin(e: Env) -> None:
    with e.admin() as admin:
        admin.close()
        admin.create_topics([fk.NewTopic("bi-t")])


for _aid, _atext, _aexc, _afn in [
    ("newtopic.name_none", "NewTopic(None)", "TypeError", lambda e: fk.NewTopic(None)),
    ("newtopic.partitions_str", "NewTopic('t', '1')", "TypeError", lambda e: fk.NewTopic("t", "1")),
    ("newtopic.partitions_2p31", "NewTopic('t', 2**31)", "ValueError", lambda e: fk.NewTopic("t", 2**31)),
    ("newtopic.partitions_minus_2", "NewTopic('t', -2)", "ValueError", lambda e: fk.NewTopic("t", -2)),
    ("newtopic.replication_minus_2", "NewTopic('t', 1, -2)", "ValueError", lambda e: fk.NewTopic("t", 1, -2)),
    ("newtopic.replication_2p31", "NewTopic('t', 1, 2**31)", "ValueError", lambda e: fk.NewTopic("t", 1, 2**31)),
    (
        "newtopic.config_int_value",
        "NewTopic('t', 1, 1, {'k': 5})",
        "TypeError",
        lambda e: fk.NewTopic("t", 1, 1, {"k": 5}),
    ),
    ("newtopic.config_str", "NewTopic('t', 1, 1, 'x')", "TypeError", lambda e: fk.NewTopic("t", 1, 1, "x")),
    (
        "newtopic.config_nul_key",
        "NewTopic('t', 1, 1, {'a\\0b': '1'})",
        "ValueError",
        lambda e: fk.NewTopic("t", 1, 1, {"a\0b": "1"}),
    ),
    ("newtopic.broker_defaults", "NewTopic('t', -1, -1)  # broker defaults", None, lambda e: fk.NewTopic("t", -1, -1)),
    ("admin.create_topics.none", "AdminClient.create_topics(None)", "TypeError", _adm(lambda a: a.create_topics(None))),
    (
        "admin.create_topics.str_items",
        "AdminClient.create_topics(['t'])",
        "TypeError",
        _adm(lambda a: a.create_topics(["t"])),
    ),
    (
        "admin.create_topics.partitions_1e6",
        "AdminClient.create_topics([NewTopic('t', 10**6)])",
        "ValueError",
        _adm(lambda a: a.create_topics([fk.NewTopic("bi-t", 10**6)])),
    ),
    ("admin.delete_topics.str", "AdminClient.delete_topics('t')", "TypeError", _adm(lambda a: a.delete_topics("t"))),
    ("admin.delete_topics.none", "AdminClient.delete_topics(None)", "TypeError", _adm(lambda a: a.delete_topics(None))),
    (
        "admin.delete_topics.int_items",
        "AdminClient.delete_topics([5])",
        "TypeError",
        _adm(lambda a: a.delete_topics([5])),
    ),
    (
        "admin.create_partitions.negative",
        "AdminClient.create_partitions('t', -1)",
        "ValueError",
        _adm(lambda a: a.create_partitions("bi-t", -1)),
    ),
    (
        "admin.create_partitions.2p31",
        "AdminClient.create_partitions('t', 2**31)",
        "ValueError",
        _adm(lambda a: a.create_partitions("bi-t", 2**31)),
    ),
    (
        "admin.create_partitions.str",
        "AdminClient.create_partitions('t', '3')",
        "TypeError",
        _adm(lambda a: a.create_partitions("bi-t", "3")),
    ),
    (
        "admin.describe_configs.bad_type",
        "AdminClient.describe_configs('bogus', 't')",
        "ValueError",
        _adm(lambda a: a.describe_configs("bogus", "t")),
    ),
    (
        "admin.describe_configs.broker_not_numeric",
        "AdminClient.describe_configs('broker', 'abc')",
        "ValueError",
        _adm(lambda a: a.describe_configs("broker", "abc")),
    ),
    (
        "admin.describe_configs.name_none",
        "AdminClient.describe_configs('topic', None)",
        "TypeError",
        _adm(lambda a: a.describe_configs("topic", None)),
    ),
    (
        "admin.alter_configs.int_value",
        "AdminClient.alter_configs('topic', 't', {'a': 5})",
        "TypeError",
        _adm(lambda a: a.alter_configs("topic", "t", {"a": 5})),
    ),
    (
        "admin.alter_configs.none",
        "AdminClient.alter_configs('topic', 't', None)",
        "TypeError",
        _adm(lambda a: a.alter_configs("topic", "t", None)),
    ),
    (
        "admin.alter_configs.bad_type",
        "AdminClient.alter_configs('nope', 't', {})",
        "ValueError",
        _adm(lambda a: a.alter_configs("nope", "t", {})),
    ),
    (
        "admin.alter_configs.nul_key",
        "AdminClient.alter_configs('topic', 't', {'a\\0b': '1'})",
        "ValueError",
        _adm(lambda a: a.alter_configs("topic", "t", {"a\0b": "1"})),
    ),
    ("admin.list_groups.arg", "AdminClient.list_groups(5)", "TypeError", _adm(lambda a: a.list_groups(5))),
    (
        "admin.describe_groups.none",
        "AdminClient.describe_groups(None)",
        "TypeError",
        _adm(lambda a: a.describe_groups(None)),
    ),
    (
        "admin.describe_groups.str",
        "AdminClient.describe_groups('g')",
        "TypeError",
        _adm(lambda a: a.describe_groups("g")),
    ),
    (
        "admin.describe_groups.int_items",
        "AdminClient.describe_groups([5])",
        "TypeError",
        _adm(lambda a: a.describe_groups([5])),
    ),
    ("admin.delete_groups.none", "AdminClient.delete_groups(None)", "TypeError", _adm(lambda a: a.delete_groups(None))),
    (
        "admin.list_consumer_group_offsets.none",
        "AdminClient.list_consumer_group_offsets(None)",
        "TypeError",
        _adm(lambda a: a.list_consumer_group_offsets(None)),
    ),
    (
        "admin.list_consumer_group_offsets.int_items",
        "AdminClient.list_consumer_group_offsets('g', [5])",
        "TypeError",
        _adm(lambda a: a.list_consumer_group_offsets("g", [5])),
    ),
    (
        "admin.alter_consumer_group_offsets.none",
        "AdminClient.alter_consumer_group_offsets('g', None)",
        "TypeError",
        _adm(lambda a: a.alter_consumer_group_offsets("g", None)),
    ),
    (
        "admin.list_offsets.bad_spec",
        "AdminClient.list_offsets([TopicPartition('t', 0)], 'middle')",
        "ValueError",
        _adm(lambda a: a.list_offsets([T("t", 0)], "middle")),
    ),
    ("admin.list_offsets.none", "AdminClient.list_offsets(None)", "TypeError", _adm(lambda a: a.list_offsets(None))),
    (
        "admin.delete_records.none",
        "AdminClient.delete_records(None)",
        "TypeError",
        _adm(lambda a: a.delete_records(None)),
    ),
    (
        "admin.delete_records.int_items",
        "AdminClient.delete_records([5])",
        "TypeError",
        _adm(lambda a: a.delete_records([5])),
    ),
    ("admin.closed.create_topics", "AdminClient.close(); create_topics([NewTopic('t')])", "Error", _closed_admin),
]:
    add(_aid, _atext, _aexc, _afn)


# === MockCluster ====================================================================================


def _mc(fn: Callable[[fk.MockCluster], object]) -> Callable[[Env], object]:
    return lambda e: _with_cluster(e, fn)


def _new_cluster(*args: object, **kwargs: object) -> Callable[[Env], None]:
    def call(e: Env) -> None:
        cluster = fk.MockCluster(*args, **kwargs)
        e.close_quietly(cluster)

    return call


def _closed_cluster(e: Env) -> None:
    cluster = fk.MockCluster()
    cluster.close()
    cluster.create_topic("t", 1)


def _duplicate_topic(m: fk.MockCluster) -> None:
    m.create_topic("dup", 1)
    m.create_topic("dup", 1)


for _mid, _mtext, _mexc, _mfn in [
    ("new.2p31", "MockCluster(2**31)", "ValueError", _new_cluster(2**31)),
    ("new.negative", "MockCluster(-1)", "ValueError", _new_cluster(-1)),
    ("new.zero", "MockCluster(0)", "ValueError", _new_cluster(0)),
    ("new.1e30", "MockCluster(10**30)", "ValueError", _new_cluster(10**30)),
    ("new.str", "MockCluster('1')", "TypeError", _new_cluster("1")),
    ("new.nan", "MockCluster(float('nan'))", "TypeError", _new_cluster(NAN)),
    (
        "new.rebalance_delay_negative",
        "MockCluster(group_rebalance_delay_ms=-1)",
        "ValueError",
        _new_cluster(group_rebalance_delay_ms=-1),
    ),
    (
        "new.rebalance_delay_2p31",
        "MockCluster(group_rebalance_delay_ms=2**31)",
        "ValueError",
        _new_cluster(group_rebalance_delay_ms=2**31),
    ),
    ("create_topic.partitions_negative", "create_topic('t', -1)", "ValueError", _mc(lambda m: m.create_topic("t", -1))),
    ("create_topic.partitions_zero", "create_topic('t', 0)", "ValueError", _mc(lambda m: m.create_topic("t", 0))),
    (
        "create_topic.partitions_1e9",
        "create_topic('t', 10**9)",
        "ValueError",
        _mc(lambda m: m.create_topic("t", 10**9)),
    ),
    (
        "create_topic.partitions_2p31",
        "create_topic('t', 2**31)",
        "ValueError",
        _mc(lambda m: m.create_topic("t", 2**31)),
    ),
    ("create_topic.partitions_str", "create_topic('t', '1')", "TypeError", _mc(lambda m: m.create_topic("t", "1"))),
    (
        "create_topic.replication_negative",
        "create_topic('t', 1, -1)",
        "ValueError",
        _mc(lambda m: m.create_topic("t", 1, -1)),
    ),
    (
        "create_topic.replication_zero",
        "create_topic('t', 1, 0)",
        "ValueError",
        _mc(lambda m: m.create_topic("t", 1, 0)),
    ),
    (
        "create_topic.replication_2p31",
        "create_topic('t', 1, 2**31)",
        "ValueError",
        _mc(lambda m: m.create_topic("t", 1, 2**31)),
    ),
    (
        "create_topic.replication_1e6",
        "create_topic('t', 1, 10**6)",
        "ValueError",
        _mc(lambda m: m.create_topic("t", 1, 10**6)),
    ),
    ("create_topic.name_none", "create_topic(None)", "TypeError", _mc(lambda m: m.create_topic(None))),
    ("create_topic.duplicate", "create_topic('dup', 1) twice", "KafkaError", _mc(_duplicate_topic)),
    ("broker_down.99", "broker_down(99)", "ValueError", _mc(lambda m: m.broker_down(99))),
    ("broker_down.negative", "broker_down(-1)", "ValueError", _mc(lambda m: m.broker_down(-1))),
    ("broker_down.2p31", "broker_down(2**31)", "ValueError", _mc(lambda m: m.broker_down(2**31))),
    ("broker_down.str", "broker_down('1')", "TypeError", _mc(lambda m: m.broker_down("1"))),
    ("broker_up.zero", "broker_up(0)", "ValueError", _mc(lambda m: m.broker_up(0))),
    (
        "inject_request_errors.bad_code",
        "inject_request_errors(0, [99999])",
        "ValueError",
        _mc(lambda m: m.inject_request_errors(0, [99999])),
    ),
    (
        "inject_request_errors.code_2p31",
        "inject_request_errors(0, [2**31])",
        "ValueError",
        _mc(lambda m: m.inject_request_errors(0, [2**31])),
    ),
    (
        "inject_request_errors.api_negative",
        "inject_request_errors(-1, [1])",
        "ValueError",
        _mc(lambda m: m.inject_request_errors(-1, [1])),
    ),
    (
        "inject_request_errors.api_10000",
        "inject_request_errors(10_000, [1])",
        "ValueError",
        _mc(lambda m: m.inject_request_errors(10_000, [1])),
    ),
    (
        "inject_request_errors.api_2p31",
        "inject_request_errors(2**31, [1])",
        "ValueError",
        _mc(lambda m: m.inject_request_errors(2**31, [1])),
    ),
    (
        "inject_request_errors.errors_none",
        "inject_request_errors(0, None)",
        "TypeError",
        _mc(lambda m: m.inject_request_errors(0, None)),
    ),
    (
        "inject_request_errors.errors_str",
        "inject_request_errors(0, 'x')",
        "TypeError",
        _mc(lambda m: m.inject_request_errors(0, "x")),
    ),
    (
        "clear_request_errors.negative",
        "clear_request_errors(-1)",
        "ValueError",
        _mc(lambda m: m.clear_request_errors(-1)),
    ),
    (
        "clear_request_errors.api_10000",
        "clear_request_errors(10_000)",
        "ValueError",
        _mc(lambda m: m.clear_request_errors(10_000)),
    ),
    ("closed.create_topic", "MockCluster.close(); create_topic('t', 1)", "Error", _closed_cluster),
]:
    add(f"mock.{_mid}", f"MockCluster.{_mtext}" if not _mtext.startswith("MockCluster") else _mtext, _mexc, _mfn)
