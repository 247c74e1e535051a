# The bad-input rows pass wrong types on purpose.
# mypy: disable-error-code="arg-type, call-arg, list-item, dict-item, misc, call-overload, operator, index"
"""The bad-input table of ``consume_batch()`` and ``produce_batch()``: every row is a bad or boundary
input with its documented outcome. Each row is one parametrized test; the rows share one mock
cluster per test process. Run with pytest-xdist (``scripts/test`` runs this file with ``-n 2``), a
row that crashes its worker or hangs (pytest-timeout's thread method ends the worker) fails alone:
see tests/test_bad_inputs.py. A panic fails a row whatever it raised.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa
import pytest

import ferrokafka as fk
from arrow_batch_helpers import (
    INF,
    NAN,
    T,
    deliver,
    subscribed,
    take_batches,
)

# --- the bad-input table ------------------------------------------------------------------------


class Boom(Exception):
    """Raised by the Arrow objects of the 'raising export' rows."""


DATA = "data"  # 3 partitions, 10 messages each
ROW_LIMIT = 20.0  # seconds a row may take (the worker's mock cluster, made by its first row, included)


class RowEnv:
    """Fresh clients for one row; `queued()` counts what the row's producers hold (it must be 0 after a
    rejected call: nothing may be sent before everything is validated)."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.consumers: list[fk.Consumer] = []
        self.producers: list[fk.Producer] = []

    def consumer(self) -> fk.Consumer:
        consumer = fk.Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": f"bad-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        self.consumers.append(consumer)
        consumer.assign([T(DATA, p, 0) for p in range(3)])
        return consumer

    def producer(self) -> fk.Producer:
        # linger.ms: anything a rejected call produced would still be queued when checked.
        producer = fk.Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 60_000})
        self.producers.append(producer)
        return producer

    def batch(self) -> fk.MessageBatch:
        consumer = self.consumer()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            batch = consumer.consume_batch(5, timeout=0.5)
            if len(batch):
                return batch
        raise AssertionError("setup: no batch")

    def queued(self) -> int:
        return sum(len(p) for p in self.producers if not p.closed)

    def close(self) -> None:
        for consumer in self.consumers:
            consumer.close()
        for producer in self.producers:
            producer.close(0)


@dataclass(frozen=True)
class BadInput:
    id: str
    call: str  # as a reader would write it
    expected: tuple[type[BaseException], ...] | None  # None: must succeed (the row checks the result)
    fn: Callable[[RowEnv], object]


BAD_INPUTS: list[BadInput] = []
VALUE_OR_TYPE = (TypeError, ValueError)
OUT_OF_RANGE = (ValueError, OverflowError)


def bad(id: str, call: str, expected: tuple[type[BaseException], ...] | None, fn: Callable[[RowEnv], object]) -> None:
    assert all(row.id != id for row in BAD_INPUTS), id
    BAD_INPUTS.append(BadInput(id, call, expected, fn))


def _returns_data(batch: object) -> None:
    assert isinstance(batch, fk.MessageBatch), f"returned {batch!r}"
    assert len(batch) >= 1, "returned an empty batch although data was there"


def _zero_max_messages(e: RowEnv) -> None:
    """max_messages=0: ValueError, or an empty batch that takes (and loses) nothing."""
    consumer = e.consumer()
    try:
        batch = consumer.consume_batch(0, timeout=1)
    except ValueError:
        return
    assert isinstance(batch, fk.MessageBatch) and len(batch) == 0, f"consume_batch(0) returned {batch!r}"
    after = consumer.consume_batch(30, timeout=5)
    firsts: dict[int, int] = {}
    for m in after:
        firsts.setdefault(m.partition, m.offset)
    assert firsts and all(o == 0 for o in firsts.values()), f"messages lost by consume_batch(0): {firsts}"


for _id, _call, _exp, _args in [
    ("max_messages_negative", "consume_batch(-1)", OUT_OF_RANGE, (-1,)),
    ("max_messages_min_int", "consume_batch(-2**63)", OUT_OF_RANGE, (-(2**63),)),
    ("max_messages_2p64", "consume_batch(2**64)", OUT_OF_RANGE, (2**64,)),
    ("max_messages_1e30", "consume_batch(10**30)", OUT_OF_RANGE, (10**30,)),
    ("max_messages_float", "consume_batch(1.5)", (TypeError,), (1.5,)),
    ("max_messages_float_integral", "consume_batch(10.0)", (TypeError,), (10.0,)),
    ("max_messages_str", 'consume_batch("10")', (TypeError,), ("10",)),
    ("max_messages_bytes", 'consume_batch(b"10")', (TypeError,), (b"10",)),
    ("max_messages_none", "consume_batch(None)", (TypeError,), (None,)),
    ("max_messages_list", "consume_batch([10])", (TypeError,), ([10],)),
    ("timeout_negative", "consume_batch(10, -1)", (ValueError,), (10, -1)),
    ("timeout_negative_small", "consume_batch(10, -0.001)", (ValueError,), (10, -0.001)),
    ("timeout_minus_inf", "consume_batch(10, -inf)", (ValueError,), (10, -INF)),
    ("timeout_nan", "consume_batch(10, nan)", (ValueError,), (10, NAN)),
    ("timeout_str", 'consume_batch(10, "1")', (TypeError,), (10, "1")),
    ("timeout_bytes", 'consume_batch(10, b"1")', (TypeError,), (10, b"1")),
    ("timeout_list", "consume_batch(10, [1])", (TypeError,), (10, [1])),
    ("timeout_complex", "consume_batch(10, 1j)", (TypeError,), (10, 1j)),
]:
    bad(f"consume_batch.{_id}", _call, _exp, lambda e, a=_args: e.consumer().consume_batch(*a))

bad("consume_batch.max_messages_0", "consume_batch(0)  # ValueError or an empty batch", None, _zero_max_messages)
bad(
    "consume_batch.max_messages_2p31",
    "consume_batch(2**31, 5)  # data there: returns it",
    None,
    lambda e: _returns_data(e.consumer().consume_batch(2**31, 5)),
)
bad(
    "consume_batch.timeout_inf",
    "consume_batch(10, inf)  # inf means forever; data there: returns it",
    None,
    lambda e: _returns_data(e.consumer().consume_batch(10, INF)),
)
bad(
    "consume_batch.timeout_huge",
    "consume_batch(10, 1e300)  # saturates; data there: returns it",
    None,
    lambda e: _returns_data(e.consumer().consume_batch(10, 1e300)),
)
bad(
    "consume_batch.keywords",
    "consume_batch(max_messages=10, timeout=5)",
    None,
    lambda e: _returns_data(e.consumer().consume_batch(max_messages=10, timeout=5)),
)
bad(
    "consume_batch.unknown_keyword",
    "consume_batch(10, bogus=1)",
    (TypeError,),
    lambda e: e.consumer().consume_batch(10, bogus=1),
)
bad(
    "consume_batch.too_many_args",
    "consume_batch(10, 1, 2)",
    (TypeError,),
    lambda e: e.consumer().consume_batch(10, 1, 2),
)


def _closed_consumer(e: RowEnv) -> object:
    consumer = e.consumer()
    consumer.close()
    return consumer.consume_batch(10, 0)


bad("consume_batch.closed", "consumer.close(); consume_batch(10, 0)", (fk.Error,), _closed_consumer)

# The batch as a sequence and an Arrow exporter
for _id, _call, _exp, _index in [
    ("index_len", "batch[len(batch)]", (IndexError,), "len"),
    ("index_minus_len_minus_1", "batch[-len(batch) - 1]", (IndexError,), "-len-1"),
    ("index_2p63", "batch[2**63]", (IndexError, OverflowError), 2**63),
    ("index_minus_2p70", "batch[-2**70]", (IndexError, OverflowError), -(2**70)),
    ("index_str", 'batch["0"]', (TypeError,), "0"),
    ("index_float", "batch[0.0]", (TypeError,), 0.0),
    ("index_none", "batch[None]", (TypeError,), None),
    ("index_slice", "batch[0:2]", (TypeError,), slice(0, 2)),
    ("index_tuple", "batch[0, 1]", (TypeError,), (0, 1)),
]:

    def _index_row(e: RowEnv, index: object = _index) -> object:
        batch = e.batch()
        if index == "len":
            index = len(batch)
        elif index == "-len-1":
            index = -len(batch) - 1
        return batch[index]

    bad(f"batch.{_id}", _call, _exp, _index_row)


def _import_array(capsules: object) -> pa.RecordBatch:
    assert isinstance(capsules, tuple) and len(capsules) == 2, capsules
    return pa.RecordBatch._import_from_c_capsule(*capsules)


for _id, _call, _requested in [
    ("int", "(requested_schema=5)", lambda: 5),
    ("str", '(requested_schema="x")', lambda: "x"),
    ("array_capsule", "(requested_schema=<an arrow_array capsule>)", lambda: pa.array([1]).__arrow_c_array__()[1]),
    (
        "stream_capsule",
        "(requested_schema=<an arrow_array_stream capsule>)",
        lambda: pa.table({"x": [1]}).__arrow_c_stream__(),
    ),
]:

    def _requested_row(e: RowEnv, requested: Any = _requested) -> None:
        """Not a schema capsule: TypeError/ValueError, or ignored (the batch's own data)."""
        batch = e.batch()
        try:
            rb = _import_array(batch.__arrow_c_array__(requested_schema=requested()))
        except (TypeError, ValueError):
            return
        assert rb.schema == pa.schema(batch) and rb.num_rows == len(batch)

    def _requested_stream_row(e: RowEnv, requested: Any = _requested) -> None:
        batch = e.batch()
        try:
            capsule = batch.__arrow_c_stream__(requested_schema=requested())
        except (TypeError, ValueError):
            return
        table = pa.RecordBatchReader._import_from_c_capsule(capsule).read_all()
        assert table.schema == pa.schema(batch) and table.num_rows == len(batch)

    bad(f"batch.requested_schema_{_id}", f"batch.__arrow_c_array__{_call}  # raise or ignore", None, _requested_row)
    bad(
        f"batch.stream_requested_schema_{_id}",
        f"batch.__arrow_c_stream__{_call}  # raise or ignore",
        None,
        _requested_stream_row,
    )


def _other_requested_schema(e: RowEnv) -> None:
    """A schema the batch cannot give: refused (ValueError, TypeError, NotImplementedError) or ignored
    (the PyCapsule protocol allows returning the batch's own schema)."""
    batch = e.batch()
    other = pa.schema([("x", pa.int64())])
    try:
        rb = _import_array(batch.__arrow_c_array__(requested_schema=other.__arrow_c_schema__()))
    except (ValueError, TypeError, NotImplementedError):
        return
    assert rb.schema == pa.schema(batch) and rb.num_rows == len(batch)


bad(
    "batch.requested_schema_other",
    "batch.__arrow_c_array__(requested_schema=<int64 schema>)",
    None,
    _other_requested_schema,
)
bad(
    "batch.commit_other_type",
    "consumer.commit(5)  # still TypeError with batches",
    (TypeError,),
    lambda e: e.consumer().commit(5),
)

# produce_batch: the call
PRODUCE_ROWS: list[tuple[str, str, tuple[type[BaseException], ...], Callable[[fk.Producer], object]]] = [
    ("topic_int", "produce_batch(5, [b'v'])", (TypeError,), lambda p: p.produce_batch(5, [b"v"])),
    ("topic_none", "produce_batch(None, [b'v'])", (TypeError,), lambda p: p.produce_batch(None, [b"v"])),
    ("topic_bytes", "produce_batch(b'data', [b'v'])", (TypeError,), lambda p: p.produce_batch(b"data", [b"v"])),
    ("messages_int", "produce_batch(t, 5)", (TypeError,), lambda p: p.produce_batch(DATA, 5)),
    ("messages_none", "produce_batch(t, None)", (TypeError,), lambda p: p.produce_batch(DATA, None)),
    ("messages_bytes", "produce_batch(t, b'abc')", (TypeError,), lambda p: p.produce_batch(DATA, b"abc")),
    ("messages_str", "produce_batch(t, 'abc')", (TypeError,), lambda p: p.produce_batch(DATA, "abc")),
    ("messages_dict", "produce_batch(t, {'value': b'v'})", (TypeError,), lambda p: p.produce_batch(DATA, {"value": b"v"})),
    ("messages_set", "produce_batch(t, {b'v'})", (TypeError,), lambda p: p.produce_batch(DATA, {b"v"})),
    ("messages_generator", "produce_batch(t, (v for v in [b'v']))", (TypeError,), lambda p: p.produce_batch(DATA, (v for v in [b"v"]))),
    ("messages_missing", "produce_batch(t)", (TypeError,), lambda p: p.produce_batch(DATA)),
    ("partition_2p31", "produce_batch(t, [b'v'], partition=2**31)", OUT_OF_RANGE, lambda p: p.produce_batch(DATA, [b"v"], partition=2**31)),
    ("partition_minus_2p31_minus_1", "produce_batch(t, [b'v'], partition=-2**31-1)", OUT_OF_RANGE, lambda p: p.produce_batch(DATA, [b"v"], partition=-(2**31) - 1)),
    ("partition_2p64", "produce_batch(t, [b'v'], partition=2**64)", OUT_OF_RANGE, lambda p: p.produce_batch(DATA, [b"v"], partition=2**64)),
    ("partition_str", "produce_batch(t, [b'v'], partition='1')", (TypeError,), lambda p: p.produce_batch(DATA, [b"v"], partition="1")),
    ("partition_float", "produce_batch(t, [b'v'], partition=1.0)", (TypeError,), lambda p: p.produce_batch(DATA, [b"v"], partition=1.0)),
    ("partition_positional", "produce_batch(t, [b'v'], 1)", (TypeError,), lambda p: p.produce_batch(DATA, [b"v"], 1)),
    ("on_delivery_int", "produce_batch(t, [b'v'], on_delivery=5)", (TypeError,), lambda p: p.produce_batch(DATA, [b"v"], on_delivery=5)),
    ("on_delivery_str", "produce_batch(t, [b'v'], on_delivery='x')", (TypeError,), lambda p: p.produce_batch(DATA, [b"v"], on_delivery="x")),
    ("unknown_keyword", "produce_batch(t, [b'v'], bogus=1)", (TypeError,), lambda p: p.produce_batch(DATA, [b"v"], bogus=1)),
    # items of a list
    ("item_int", "produce_batch(t, [5])", (TypeError,), lambda p: p.produce_batch(DATA, [5])),
    ("item_float", "produce_batch(t, [1.5])", (TypeError,), lambda p: p.produce_batch(DATA, [1.5])),
    ("item_object", "produce_batch(t, [object()])", (TypeError,), lambda p: p.produce_batch(DATA, [object()])),
    ("item_bad_last", "produce_batch(t, [b'ok'] * 50 + [5])", (TypeError,), lambda p: p.produce_batch(DATA, [b"ok"] * 50 + [5])),
    ("item_bad_in_tuple_list", "produce_batch(t, ([b'ok'], 5))", (TypeError,), lambda p: p.produce_batch(DATA, (b"ok", 5))),
    ("tuple_empty", "produce_batch(t, [()])", VALUE_OR_TYPE, lambda p: p.produce_batch(DATA, [()])),
    ("tuple_one", "produce_batch(t, [(b'k',)])", VALUE_OR_TYPE, lambda p: p.produce_batch(DATA, [(b"k",)])),
    ("tuple_six", "produce_batch(t, [(b'k', b'v', None, None, None, None)])", VALUE_OR_TYPE, lambda p: p.produce_batch(DATA, [(b"k", b"v", None, None, None, None)])),
    ("tuple_key_int", "produce_batch(t, [(5, b'v')])", (TypeError,), lambda p: p.produce_batch(DATA, [(5, b"v")])),
    ("tuple_value_int", "produce_batch(t, [(b'k', 5)])", (TypeError,), lambda p: p.produce_batch(DATA, [(b"k", 5)])),
    ("tuple_headers_str", "produce_batch(t, [(b'k', b'v', 'headers')])", (TypeError,), lambda p: p.produce_batch(DATA, [(b"k", b"v", "headers")])),
    ("tuple_headers_int", "produce_batch(t, [(b'k', b'v', 5)])", (TypeError,), lambda p: p.produce_batch(DATA, [(b"k", b"v", 5)])),
    ("tuple_header_key_int", "produce_batch(t, [(b'k', b'v', [(1, b'x')])])", (TypeError,), lambda p: p.produce_batch(DATA, [(b"k", b"v", [(1, b"x")])])),
    ("tuple_header_value_int", "produce_batch(t, [(b'k', b'v', [('h', 5)])])", (TypeError,), lambda p: p.produce_batch(DATA, [(b"k", b"v", [("h", 5)])])),
    ("tuple_header_pair_short", "produce_batch(t, [(b'k', b'v', [('h',)])])", VALUE_OR_TYPE, lambda p: p.produce_batch(DATA, [(b"k", b"v", [("h",)])])),
    ("tuple_timestamp_str", "produce_batch(t, [(b'k', b'v', None, 'now')])", (TypeError,), lambda p: p.produce_batch(DATA, [(b"k", b"v", None, "now")])),
    ("tuple_timestamp_float", "produce_batch(t, [(b'k', b'v', None, 1.5)])", (TypeError,), lambda p: p.produce_batch(DATA, [(b"k", b"v", None, 1.5)])),
    ("tuple_timestamp_2p64", "produce_batch(t, [(b'k', b'v', None, 2**64)])", OUT_OF_RANGE, lambda p: p.produce_batch(DATA, [(b"k", b"v", None, 2**64)])),
    ("tuple_partition_str", "produce_batch(t, [(b'k', b'v', None, None, '0')])", (TypeError,), lambda p: p.produce_batch(DATA, [(b"k", b"v", None, None, "0")])),
    ("tuple_partition_2p31", "produce_batch(t, [(b'k', b'v', None, None, 2**31)])", OUT_OF_RANGE, lambda p: p.produce_batch(DATA, [(b"k", b"v", None, None, 2**31)])),
    ("dict_value_int", "produce_batch(t, [{'value': 5}])", (TypeError,), lambda p: p.produce_batch(DATA, [{"value": 5}])),
    ("dict_key_int", "produce_batch(t, [{'value': b'v', 'key': 5}])", (TypeError,), lambda p: p.produce_batch(DATA, [{"value": b"v", "key": 5}])),
    ("dict_headers_int", "produce_batch(t, [{'value': b'v', 'headers': 5}])", (TypeError,), lambda p: p.produce_batch(DATA, [{"value": b"v", "headers": 5}])),
    ("dict_timestamp_str", "produce_batch(t, [{'value': b'v', 'timestamp': 'x'}])", (TypeError,), lambda p: p.produce_batch(DATA, [{"value": b"v", "timestamp": "x"}])),
    ("dict_partition_2p31", "produce_batch(t, [{'value': b'v', 'partition': 2**31}])", OUT_OF_RANGE, lambda p: p.produce_batch(DATA, [{"value": b"v", "partition": 2**31}])),
    ("dict_partition_str", "produce_batch(t, [{'value': b'v', 'partition': '0'}])", (TypeError,), lambda p: p.produce_batch(DATA, [{"value": b"v", "partition": "0"}])),
]  # fmt: skip


def _table(**columns: Any) -> pa.Table:
    return pa.table(columns)


class FakeArrowStream:
    def __init__(self, stream: Callable[[], object]) -> None:
        self._stream = stream

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        return self._stream()


class FakeArrowArray:
    def __init__(self, array: Callable[[], object]) -> None:
        self._array = array

    def __arrow_c_array__(self, requested_schema: object = None) -> object:
        return self._array()


def _raise_boom() -> object:
    raise Boom("export failed")


_BIN = [b"a", b"b"]
ARROW_ROWS: list[tuple[str, str, tuple[type[BaseException], ...], Callable[[], object]]] = [
    ("no_value_column", "pa.table({key: binary})", VALUE_OR_TYPE, lambda: _table(key=_BIN)),
    ("no_columns", "pa.table({x: int64})", VALUE_OR_TYPE, lambda: _table(x=[1, 2])),
    ("value_int64", "pa.table({value: int64})", VALUE_OR_TYPE, lambda: _table(value=[1, 2])),
    ("value_float", "pa.table({value: float64})", VALUE_OR_TYPE, lambda: _table(value=[1.5, 2.5])),
    ("value_list", "pa.table({value: list<int8>})", VALUE_OR_TYPE, lambda: _table(value=pa.array([[1], [2]], pa.list_(pa.int8())))),
    ("value_struct", "pa.table({value: struct<a: binary>})", VALUE_OR_TYPE, lambda: _table(value=pa.array([{"a": b"x"}], pa.struct([("a", pa.binary())])))),
    ("key_int64", "pa.table({value: binary, key: int64})", VALUE_OR_TYPE, lambda: _table(value=_BIN, key=[1, 2])),
    ("headers_list_of_str", "pa.table({value, headers: list<string>})", VALUE_OR_TYPE, lambda: _table(value=_BIN, headers=[["a"], ["b"]])),
    ("headers_str", "pa.table({value, headers: string})", VALUE_OR_TYPE, lambda: _table(value=_BIN, headers=["a", "b"])),
    ("headers_struct_no_value", "pa.table({value, headers: list<struct<key: string>>})", VALUE_OR_TYPE, lambda: _table(value=_BIN, headers=[[{"key": "a"}], []])),
    ("headers_value_int", "pa.table({value, headers: list<struct<key: string, value: int64>>})", VALUE_OR_TYPE, lambda: _table(value=_BIN, headers=[[{"key": "a", "value": 1}], []])),
    ("headers_key_int", "pa.table({value, headers: list<struct<key: int64, value: binary>>})", VALUE_OR_TYPE, lambda: _table(value=_BIN, headers=[[{"key": 1, "value": b"x"}], []])),
    ("partition_str", "pa.table({value, partition: string})", VALUE_OR_TYPE, lambda: _table(value=_BIN, partition=["0", "1"])),
    ("partition_float", "pa.table({value, partition: float64})", VALUE_OR_TYPE, lambda: _table(value=_BIN, partition=[0.0, 1.0])),
    ("timestamp_str", "pa.table({value, timestamp: string})", VALUE_OR_TYPE, lambda: _table(value=_BIN, timestamp=["now", "then"])),
    ("timestamp_float", "pa.table({value, timestamp: float64})", VALUE_OR_TYPE, lambda: _table(value=_BIN, timestamp=[1.5, 2.5])),
    ("array_int64", "pa.array([1, 2])", VALUE_OR_TYPE, lambda: pa.array([1, 2])),
    ("array_struct", "pa.array([{value: b'a'}])  # a struct array is not a binary array", VALUE_OR_TYPE, lambda: pa.array([{"x": 1}])),
    ("polars_value_int", "pl.DataFrame({value: Int64})", VALUE_OR_TYPE, lambda: pl.DataFrame({"value": [1, 2]})),
    ("stream_raises", "<__arrow_c_stream__ raises Boom>", (Boom, TypeError, ValueError), lambda: FakeArrowStream(_raise_boom)),
    ("stream_returns_int", "<__arrow_c_stream__ returns 5>", VALUE_OR_TYPE, lambda: FakeArrowStream(lambda: 5)),
    ("stream_returns_schema_capsule", "<__arrow_c_stream__ returns a schema capsule>", VALUE_OR_TYPE, lambda: FakeArrowStream(lambda: pa.schema([("value", pa.binary())]).__arrow_c_schema__())),
    ("array_raises", "<__arrow_c_array__ raises Boom>", (Boom, TypeError, ValueError), lambda: FakeArrowArray(_raise_boom)),
    ("array_returns_int", "<__arrow_c_array__ returns 5>", VALUE_OR_TYPE, lambda: FakeArrowArray(lambda: 5)),
    ("array_returns_triple", "<__arrow_c_array__ returns a 3-tuple>", VALUE_OR_TYPE, lambda: FakeArrowArray(lambda: (*pa.array(_BIN).__arrow_c_array__(), None))),
    ("array_returns_swapped", "<__arrow_c_array__ returns (array, schema) capsules>", VALUE_OR_TYPE, lambda: FakeArrowArray(lambda: pa.array(_BIN).__arrow_c_array__()[::-1])),
    ("array_returns_two_schemas", "<__arrow_c_array__ returns (schema, schema) capsules>", VALUE_OR_TYPE, lambda: FakeArrowArray(lambda: (pa.array(_BIN).__arrow_c_array__()[0],) * 2)),
    ("stream_int_value", "<a stream of {value: int64}>", VALUE_OR_TYPE, lambda: FakeArrowStream(lambda: _table(value=[1, 2]).__arrow_c_stream__())),
]  # fmt: skip

for _pid, _pcall, _pexc, _pfn in PRODUCE_ROWS:
    bad(f"produce_batch.{_pid}", _pcall, _pexc, lambda e, fn=_pfn: fn(e.producer()))
for _aid, _acall, _aexc, _amake in ARROW_ROWS:
    bad(
        f"produce_batch.arrow_{_aid}",
        f"produce_batch(t, {_acall})",
        _aexc,
        lambda e, make=_amake: e.producer().produce_batch(DATA, make()),
    )


def _closed_producer(e: RowEnv) -> object:
    producer = e.producer()
    producer.close()
    return producer.produce_batch(DATA, [b"v"])


bad("produce_batch.closed", "producer.close(); produce_batch(t, [b'v'])", (fk.Error,), _closed_producer)


@pytest.fixture(scope="session")
def arrow_rows_bootstrap() -> Iterator[str]:
    """One mock cluster with the rows' data per test process (an xdist worker): DATA, 30 messages."""
    with fk.MockCluster(num_brokers=1) as cluster:
        cluster.create_topic(DATA, 3)
        with fk.Producer({"bootstrap.servers": cluster.bootstrap_servers}) as producer:
            for i in range(30):
                producer.produce(DATA, b"v%d" % i, key=b"k%d" % i, partition=i % 3, headers=[("h", b"x")])
            assert producer.flush(30) == 0
        yield cluster.bootstrap_servers


@pytest.mark.timeout(ROW_LIMIT, method="thread")
@pytest.mark.parametrize("row", [pytest.param(row, id=row.id) for row in BAD_INPUTS])
def test_batch_bad_input(row: BadInput, arrow_rows_bootstrap: str, capfd: pytest.CaptureFixture[str]) -> None:
    """Each bad input raises its proper exception (nothing queued), or succeeds where the row says so;
    never a panic, a crash or a hang (run with ``-n 2``, as scripts/test does, a crash or a hang
    fails this row only: see tests/test_bad_inputs.py)."""
    expected = "success" if row.expected is None else " or ".join(c.__name__ for c in row.expected)
    env = RowEnv(arrow_rows_bootstrap)
    error: BaseException | None = None
    try:
        row.fn(env)
    except BaseException as err:  # noqa: B036 - a panic is a BaseException: judged below
        error = err
    queued = env.queued()
    try:
        env.close()
    except BaseException as err:  # noqa: B036
        closing: BaseException | None = err
    else:
        closing = None
    stderr = capfd.readouterr().err
    sys.stderr.write(stderr)  # shown with the report of a failing row
    observed = "succeeded" if error is None else f"{type(error).__module__}.{type(error).__qualname__}: {error}"[:600]
    panics = [line.strip()[:300] for line in stderr.splitlines() if " panicked at " in line]
    panics += [repr(e) for e in (error, closing) if e is not None and "PanicException" in type(e).__name__]
    assert not panics, f"[panic] {row.call}: expected {expected}, observed {observed}; panics: {panics}"
    if row.expected is None:
        assert error is None, f"[wrong] {row.call}: expected {expected}, observed {observed}"
    else:
        assert error is not None, f"[wrong] {row.call}: expected {expected}, observed no exception"
        assert isinstance(error, row.expected), f"[wrong] {row.call}: expected {expected}, observed {observed}"
        assert queued == 0, f"[wrong] {row.call}: {observed}, but {queued} message(s) were queued"
    assert closing is None, f"[wrong] {row.call}: {observed}; then closing the clients raised {closing!r}"


def test_clients_still_work_after_bad_inputs(mock_cluster, topic_name, group_id):
    """In this process: after a run of rejected calls, the same consumer and producer carry on."""
    mock_cluster.create_topic(topic_name, 1)
    with fk.Producer({"bootstrap.servers": mock_cluster.bootstrap_servers, "linger.ms": 5}) as producer:
        for messages in ([5], [(b"k",)], pa.table({"value": [1]}), None, "abc"):
            with pytest.raises((TypeError, ValueError)):
                producer.produce_batch(topic_name, messages)
        assert len(producer) == 0
        results = deliver(producer, topic_name, [b"a", b"b"])
    assert [r.offset for r in results] == [0, 1]
    with subscribed(mock_cluster.bootstrap_servers, topic_name, group_id) as consumer:
        for args in ((-1,), (10, NAN), ("10",), (10, -1)):
            with pytest.raises((TypeError, ValueError)):
                consumer.consume_batch(*args)
        batches = take_batches(consumer, 2)  # one batch or two, as they arrive
    assert [m.payload for batch in batches for m in batch] == [b"a", b"b"]
