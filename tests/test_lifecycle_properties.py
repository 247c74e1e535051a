"""Stateful property test of the message lifecycle (docs/concepts.md, "Lifetime rules") on the mock cluster.

A hypothesis `RuleBasedStateMachine` drives one consumer per sequence over a pre-filled one-partition
topic whose every message is known in advance (key, payload, headers and timestamp are functions of
the offset). The model tracks, for every message lent, whether it is valid or the exact reason it was
invalidated ("released", "superseded", "consumer_closed"), which memoryviews of it are kept, and
whether the lending iterator still holds it; from that it predicts `live_message_count` exactly.

Budget: CI runs `DEFAULT_EXAMPLES` sequences (about a minute on the project's 2-core machine);
FERROKAFKA_LIFECYCLE_EXAMPLES overrides it (scripts/soak runs 100,000). The figures of the run
(sequences, steps, messages lent, RSS) are printed at the end, and appended as a JSON line to
$FERROKAFKA_SOAK_REPORT when that is set.
"""

from __future__ import annotations

import functools
import gc
import json
import os
import pickle
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import ferrokafka as fk
from ferrokafka import _native

# ~55 s on the project's 2-core machine (measured: 2,500 sequences of up to 40 steps in 69 s).
DEFAULT_EXAMPLES = 2000
STEPS_PER_SEQUENCE = 40
SOURCE_MESSAGES = 4000
MAX_BATCH = 40  # consume(n) draws n up to this; 40 steps * 40 < SOURCE_MESSAGES, so a call never blocks
BASE_TIMESTAMP = 1_600_000_000_000
WAIT = 10.0  # seconds any single wait may take before the test calls it a hang

ACCESSORS = ["topic", "partition", "offset", "timestamp", "timestamp_type", "key", "payload", "headers"]
REASONS = {"released", "superseded", "consumer_closed"}


# --- what the source topic holds: every field a function of the offset -------------------------


def key_of(i: int) -> bytes | None:
    return None if i % 7 == 3 else b"k%d" % i


def payload_of(i: int) -> bytes | None:
    if i % 11 == 5:
        return None
    if i % 13 == 4:
        return b""
    return (b"v%d." % i) * (1 + i % 23)


def headers_of(i: int) -> list[tuple[str, bytes | None]]:
    return [("i", b"%d" % i), ("none", None)] if i % 5 == 0 else []


def rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


# --- the shared environment of one test run ----------------------------------------------------


@dataclass
class Environment:
    bootstrap: str
    source: str
    sink: str
    producer: fk.Producer
    other_thread: ThreadPoolExecutor
    baseline_native: int
    sequences: int = 0
    steps: int = 0
    lent: int = 0
    produced: int = 0
    closed_by_step: int = 0  # sequences closed by a step, not by teardown


ENV: Environment | None = None


def env() -> Environment:
    assert ENV is not None
    return ENV


def on_other_thread(fn: Callable[[], Any]) -> tuple[str, Any]:
    """Runs fn on the helper thread: ("ok", result) or ("raised", exception)."""

    def call() -> tuple[str, Any]:
        try:
            return "ok", fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the owner thread
            exc.__traceback__ = None  # a traceback's frames would keep messages alive
            return "raised", exc

    return env().other_thread.submit(call).result(WAIT)


def raised_by(fn: Callable[[], Any]) -> BaseException | None:
    """The exception fn raises (its traceback dropped, so it keeps no frame alive), or None."""
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001 - inspected by the caller
        exc.__traceback__ = None
        return exc
    return None


def expect_invalidated(fn: Callable[[], Any], reason: str, what: str) -> None:
    exc = raised_by(fn)
    assert isinstance(exc, fk.MessageInvalidatedError), (
        f"{what}: expected MessageInvalidatedError({reason}), got {exc!r}"
    )
    assert exc.reason == reason, f"{what}: reason {exc.reason!r}, the model says {reason!r}"
    assert isinstance(exc, fk.Error)


# --- the model ---------------------------------------------------------------------------------


@dataclass(eq=False)
class Lent:
    """One borrowed message as the model sees it."""

    offset: int
    msg: fk.BorrowedMessage | None  # None once the model dropped its reference
    reason: str | None = None  # None while valid
    iterated: bool = False  # the lending iterator holds it (until the next next() or close)
    views: int = 0  # memoryviews of it the model keeps

    def invalidate(self, reason: str) -> None:
        if self.reason is None:  # the first reason wins
            self.reason = reason


@dataclass(eq=False)
class KeptView:
    view: memoryview
    expected: bytes
    lent: Lent | None  # None for a view of an OwnedMessage


@dataclass(eq=False)
class Owned:
    msg: fk.OwnedMessage
    offset: int


@dataclass
class Produced:
    offset: int
    payload: bytes | None
    key: bytes | None


def expected_owned(offset: int) -> fk.OwnedMessage:
    return fk.OwnedMessage(
        env().source,
        0,
        offset,
        payload=payload_of(offset),
        key=key_of(offset),
        timestamp=BASE_TIMESTAMP + offset,
        timestamp_type=fk.TimestampType.CREATE_TIME,
        headers=headers_of(offset),
    )


indices = st.integers(min_value=0, max_value=10**6)


def guarded(fn: Callable[..., None]) -> Callable[..., None]:
    """Marks the machine failed when a step raises, so that teardown only cleans up after that."""

    @functools.wraps(fn)
    def wrapper(self: MessageLifecycle, *args: Any, **kwargs: Any) -> None:
        try:
            fn(self, *args, **kwargs)
        except BaseException:
            self.failed = True
            raise

    return wrapper


class MessageLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.lents: list[Lent] = []
        self.views: list[KeptView] = []
        self.owned: list[Owned] = []
        self.produced: list[Produced] = []
        self.next_offset = 0
        self.committed: int | None = None
        self.closed = False
        self.consumer: fk.Consumer | None = None
        self.failed = False  # a step raised: teardown only cleans up

    # --- helpers ---

    def held(self) -> list[Lent]:
        return [lent for lent in self.lents if lent.msg is not None]

    def pick_held(self, index: int) -> Lent:
        held = self.held()
        return held[index % len(held)]

    def has_held(self) -> bool:
        return any(lent.msg is not None for lent in self.lents)

    def can_fetch(self) -> bool:
        return not self.closed and self.next_offset + MAX_BATCH <= SOURCE_MESSAGES

    def expected_live(self) -> int:
        return sum(
            1
            for lent in self.lents
            if (lent.reason is None and (lent.msg is not None or lent.iterated)) or lent.views > 0
        )

    def c(self) -> fk.Consumer:
        assert self.consumer is not None
        return self.consumer

    def admit(self, msg: fk.BorrowedMessage) -> Lent:
        assert isinstance(msg, fk.BorrowedMessage)
        assert msg.valid
        assert msg.offset == self.next_offset, f"offset {msg.offset}, expected {self.next_offset}"
        lent = Lent(self.next_offset, msg)
        self.next_offset += 1
        self.lents.append(lent)
        env().lent += 1
        return lent

    def check_closed_call(self, fn: Callable[[], Any], what: str) -> None:
        exc = raised_by(fn)
        assert isinstance(exc, fk.Error), f"{what} after close: expected fk.Error, got {exc!r}"

    # --- setup and teardown ---

    @initialize()
    def open_consumer(self) -> None:
        e = env()
        e.sequences += 1
        # Hypothesis keeps what it learnt from every sequence: tens of thousands of objects that a
        # full gc.collect() would traverse again and again (up to 100 ms each after a thousand
        # sequences). Freezing what exists now leaves the collector this sequence's objects; every
        # 50 sequences one full collection frees what became garbage meanwhile.
        if e.sequences % 50 == 0:
            gc.unfreeze()
            gc.collect()
        gc.freeze()
        self.consumer = fk.Consumer(
            {
                "bootstrap.servers": e.bootstrap,
                "group.id": f"lifecycle-{uuid.uuid4().hex[:12]}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            }
        )
        self.consumer.assign([fk.TopicPartition(e.source, 0, 0)])

    def teardown(self) -> None:
        consumer = self.consumer
        if consumer is None:
            return
        try:
            if self.failed:
                raised_by(consumer.close)
                return
            if not self.closed:
                self.do_close("close")
            self.check_all_invalid()
            # Dropping everything frees every native message of this consumer.
            self.lents.clear()
            self.views.clear()
            if consumer.live_message_count:  # a full collection costs ~30 ms here: only when needed
                gc.collect()
            assert consumer.live_message_count == 0
            self.verify_sink()
        finally:
            self.lents.clear()
            self.views.clear()
            self.owned.clear()
            self.consumer = None

    def check_all_invalid(self) -> None:
        """Every message the model still holds is invalid with the reason the model predicts, and
        every kept view still reads the same bytes (a method of its own: its loop variables, which
        refer to messages and views, go away when it returns)."""
        for lent in self.held():
            assert lent.reason is not None
            self.check_accessors(lent)
        for kept in self.views:
            assert bytes(kept.view) == kept.expected

    def verify_sink(self) -> None:
        """What was produced from borrowed payloads and kept views arrived intact."""
        if not self.produced:
            return
        e = env()
        e.produced += len(self.produced)
        first = min(p.offset for p in self.produced)
        wanted = {p.offset: p for p in self.produced}
        with fk.Consumer(
            {"bootstrap.servers": e.bootstrap, "group.id": "lifecycle-reader", "enable.auto.commit": False}
        ) as reader:
            reader.assign([fk.TopicPartition(e.sink, 0, first)])
            got: dict[int, tuple[bytes | None, bytes | None]] = {}
            deadline = time.monotonic() + WAIT
            while not wanted.keys() <= got.keys():
                assert time.monotonic() < deadline, f"sink: only {len(got)} of {len(wanted)} arrived"
                for m in reader.consume(1000, timeout=1):
                    got[m.offset] = (
                        None if m.payload is None else bytes(m.payload),
                        None if m.key is None else bytes(m.key),
                    )
        for offset, p in wanted.items():
            assert got[offset] == (p.payload, p.key), f"sink offset {offset}"

    # --- invariants ---

    @invariant()
    @guarded
    def count_steps_and_check_state(self) -> None:
        if self.consumer is None:
            return
        env().steps += 1
        consumer = self.c()
        assert consumer.closed == self.closed
        live = consumer.live_message_count
        assert 0 <= live < 2**62, f"live_message_count {live}"
        assert live == self.expected_live(), f"live_message_count {live}, the model says {self.expected_live()}"
        for lent in self.held():
            assert lent.msg is not None
            assert lent.msg.valid == (lent.reason is None), f"offset {lent.offset}: model reason {lent.reason}"

    @invariant()
    @guarded
    def kept_views_unchanged(self) -> None:
        for kept in self.views:
            assert bytes(kept.view) == kept.expected

    # --- getting messages ---

    @rule()
    @guarded
    def poll(self) -> None:
        if self.closed:
            self.check_closed_call(lambda: self.c().poll(0), "poll")
            return
        if not self.can_fetch():
            return
        msg = self.c().poll(WAIT)
        assert msg is not None, "poll timed out on a topic with messages left"
        self.admit(msg)

    @rule(n=st.integers(min_value=1, max_value=MAX_BATCH))
    @guarded
    def consume(self, n: int) -> None:
        if self.closed:
            self.check_closed_call(lambda: self.c().consume(n, 0), "consume")
            return
        if not self.can_fetch():
            return
        # Exactly n, over as many calls as it takes (usually one): which message an index picks
        # must not depend on how librdkafka's fetches happened to be split, or the sequence would
        # not replay the same way when hypothesis shrinks it.
        got = 0
        while got < n:
            batch = self.c().consume(n - got, timeout=WAIT)
            assert 1 <= len(batch) <= n - got, f"consume({n - got}) returned {len(batch)}"
            for msg in batch:
                self.admit(msg)
            got += len(batch)
            del batch, msg

    @rule()
    @guarded
    def iterate(self) -> None:
        consumer = self.c()
        if self.closed:
            assert raised_by(lambda: next(consumer)).__class__ is StopIteration, "iteration must end after close"
            return
        if not self.can_fetch():
            return
        for lent in self.lents:
            if lent.iterated:
                lent.invalidate("superseded")
                lent.iterated = False
        msg = next(consumer)
        self.admit(msg).iterated = True

    # --- giving them back ---

    @precondition(lambda self: self.has_held())
    @rule(index=indices, how=st.sampled_from(["release", "with", "release_twice", "other_thread"]))
    @guarded
    def release(self, index: int, how: str) -> None:
        lent = self.pick_held(index)
        msg = lent.msg
        assert msg is not None
        if how == "with":
            if lent.reason is None:
                with msg as same:
                    assert same is msg and msg.valid
            else:

                def enter() -> None:
                    with msg:
                        pass

                expect_invalidated(enter, lent.reason, "with msg")
        elif how == "other_thread":
            outcome = on_other_thread(msg.release)
            assert outcome == ("ok", None), outcome
        else:
            msg.release()
            if how == "release_twice":
                msg.release()
        lent.invalidate("released")
        assert not msg.valid

    @precondition(lambda self: self.has_held())
    @rule(index=indices)
    @guarded
    def drop_message(self, index: int) -> None:
        self.pick_held(index).msg = None

    @precondition(lambda self: bool(self.views))
    @rule(index=indices)
    @guarded
    def drop_view(self, index: int) -> None:
        kept = self.views.pop(index % len(self.views))
        if kept.lent is not None:
            kept.lent.views -= 1

    @rule(generation=st.sampled_from([0, 1, 2]))
    @guarded
    def collect_garbage(self, generation: int) -> None:
        gc.collect(generation)

    @rule(how=st.sampled_from(["close", "close_timeout", "exit", "twice"]))
    @guarded
    def close(self, how: str) -> None:
        if not self.closed:
            env().closed_by_step += 1
        self.do_close(how)

    def do_close(self, how: str) -> None:
        consumer = self.c()
        if how == "exit":
            consumer.__exit__(None, None, None)
        elif how == "close_timeout":
            consumer.close(timeout=WAIT)
        else:
            consumer.close()
            if how == "twice":
                consumer.close()
        self.closed = True
        for lent in self.lents:
            lent.invalidate("consumer_closed")
            lent.iterated = False
        assert consumer.closed

    # --- reading them ---

    def check_accessors(self, lent: Lent) -> None:
        msg = lent.msg
        assert msg is not None
        i = lent.offset
        if lent.reason is not None:
            for name in ACCESSORS:
                expect_invalidated(lambda: getattr(msg, name), lent.reason, name)
            expect_invalidated(msg.detach, lent.reason, "detach()")
            expect_invalidated(lambda: memoryview(msg), lent.reason, "memoryview(msg)")  # type: ignore[arg-type]
            assert lent.reason in repr(msg)
            return
        assert msg.topic == env().source
        assert msg.partition == 0 and msg.offset == i
        assert msg.timestamp == BASE_TIMESTAMP + i
        assert msg.timestamp_type == fk.TimestampType.CREATE_TIME
        assert msg.headers == headers_of(i)
        key, payload = msg.key, msg.payload
        assert (None if key is None else bytes(key)) == key_of(i)
        assert (None if payload is None else bytes(payload)) == payload_of(i)
        del key, payload

    @precondition(lambda self: self.has_held())
    @rule(index=indices)
    @guarded
    def read_accessors(self, index: int) -> None:
        self.check_accessors(self.pick_held(index))

    @precondition(lambda self: self.has_held())
    @rule(index=indices)
    @guarded
    def read_from_other_thread(self, index: int) -> None:
        lent = self.pick_held(index)
        msg = lent.msg
        assert msg is not None
        calls: dict[str, Callable[[], Any]] = {name: functools.partial(getattr, msg, name) for name in ACCESSORS}
        calls["detach()"] = msg.detach
        calls["memoryview(msg)"] = lambda: memoryview(msg)  # type: ignore[arg-type]  # the stubs lack __buffer__
        calls["produce(value=msg)"] = lambda: env().producer.produce(env().sink, msg, partition=0)  # type: ignore[arg-type]
        for what, call in calls.items():
            status, value = on_other_thread(call)
            assert status == "raised", f"{what} from another thread returned {value!r}"
            if lent.reason is None or not isinstance(value, fk.MessageInvalidatedError):
                # A valid message refuses other threads; an invalid one may say either.
                assert isinstance(value, fk.WrongThreadError), f"{what} from another thread: {value!r}"
            else:
                assert value.reason == lent.reason, f"{what} from another thread: {value.reason}"
        assert on_other_thread(lambda: msg.valid) == ("ok", lent.reason is None)
        del calls, value

    @precondition(lambda self: self.has_held())
    @rule(index=indices)
    @guarded
    def detach(self, index: int) -> None:
        lent = self.pick_held(index)
        msg = lent.msg
        assert msg is not None
        if lent.reason is not None:
            expect_invalidated(msg.detach, lent.reason, "detach()")
            return
        owned = msg.detach()
        assert isinstance(owned, fk.OwnedMessage) and owned.valid
        assert msg.valid, "detach() must leave the borrowed message valid"
        # Equal to what the borrowed message shows, and to what was produced.
        for name in ["topic", "partition", "offset", "timestamp", "timestamp_type", "headers"]:
            assert getattr(owned, name) == getattr(msg, name), name
        for name in ["key", "payload"]:
            mine, theirs = getattr(owned, name), getattr(msg, name)
            assert (None if mine is None else bytes(mine)) == (None if theirs is None else bytes(theirs)), name
        del mine, theirs
        assert owned == expected_owned(lent.offset)
        self.owned.append(Owned(owned, lent.offset))

    @precondition(lambda self: self.has_held())
    @rule(index=indices, part=st.sampled_from(["key", "payload", "memoryview"]))
    @guarded
    def take_view(self, index: int, part: str) -> None:
        lent = self.pick_held(index)
        msg = lent.msg
        assert msg is not None
        get: Callable[[], memoryview | None] = (
            (lambda: memoryview(msg))
            if part == "memoryview"
            # type: ignore[arg-type]
            else (lambda: getattr(msg, part))
        )
        if lent.reason is not None:
            expect_invalidated(get, lent.reason, part)
            return
        expected = key_of(lent.offset) if part == "key" else payload_of(lent.offset)
        if expected is None:
            if part == "memoryview":
                exc = raised_by(get)
                assert isinstance(exc, BufferError), f"memoryview of a message without payload: {exc!r}"
            else:
                assert get() is None
            return
        view = get()
        assert isinstance(view, memoryview) and view.readonly
        assert bytes(view) == expected
        self.views.append(KeptView(view, expected, lent))
        lent.views += 1

    @precondition(lambda self: bool(self.owned))
    @rule(index=indices, part=st.sampled_from(["key", "payload", "memoryview"]))
    @guarded
    def take_owned_view(self, index: int, part: str) -> None:
        owned = self.owned[index % len(self.owned)]
        expected = key_of(owned.offset) if part == "key" else payload_of(owned.offset)
        if expected is None:
            if part != "memoryview":
                assert getattr(owned.msg, part) is None
            return
        view = memoryview(owned.msg) if part == "memoryview" else getattr(owned.msg, part)  # type: ignore[arg-type]
        assert bytes(view) == expected
        self.views.append(KeptView(view, expected, None))

    @precondition(lambda self: bool(self.views))
    @rule(index=indices)
    @guarded
    def read_kept_view(self, index: int) -> None:
        kept = self.views[index % len(self.views)]
        assert bytes(kept.view) == kept.expected
        assert kept.view.tobytes() == kept.expected
        assert bytes(kept.view[1:]) == kept.expected[1:]

    # --- commits ---

    @precondition(lambda self: self.has_held())
    @rule(index=indices)
    @guarded
    def commit_message(self, index: int) -> None:
        lent = self.pick_held(index)
        msg = lent.msg
        assert msg is not None
        if self.closed:
            self.check_closed_call(lambda: self.c().commit(msg, asynchronous=False), "commit(message)")
        elif lent.reason is not None:
            expect_invalidated(lambda: self.c().commit(msg, asynchronous=False), lent.reason, "commit(message)")
        else:
            self.c().commit(msg, asynchronous=False)
            self.committed = lent.offset + 1

    @precondition(lambda self: bool(self.owned))
    @rule(index=indices)
    @guarded
    def commit_owned(self, index: int) -> None:
        owned = self.owned[index % len(self.owned)]
        if self.closed:
            self.check_closed_call(lambda: self.c().commit(owned.msg, asynchronous=False), "commit(owned)")
            return
        self.c().commit(owned.msg, asynchronous=False)
        self.committed = owned.offset + 1

    @rule()
    @guarded
    def commit_position(self) -> None:
        if self.closed:
            self.check_closed_call(lambda: self.c().commit(asynchronous=False), "commit()")
            return
        self.c().commit(asynchronous=False)
        if self.next_offset > 0:  # nothing handed out yet: nothing to commit
            self.committed = self.next_offset

    @rule()
    @guarded
    def check_committed(self) -> None:
        consumer = self.c()
        tp = fk.TopicPartition(env().source, 0)
        if self.closed:
            self.check_closed_call(lambda: consumer.committed([tp], timeout=WAIT), "committed()")
            return
        [got] = consumer.committed([tp], timeout=WAIT)
        expected = fk.OFFSET_INVALID if self.committed is None else self.committed
        assert got.offset == expected, f"committed {got.offset}, the model says {expected}"
        [position] = consumer.position([tp])
        assert position.offset == (self.next_offset if self.next_offset else fk.OFFSET_INVALID)

    @precondition(lambda self: self.closed)
    @rule(
        which=st.sampled_from(
            [
                "subscribe",
                "assign",
                "assignment",
                "position",
                "seek",
                "pause",
                "store_offsets",
                "unsubscribe",
                "list_topics",
                "get_watermark_offsets",
                "consumer_group_metadata",
            ]
        )
    )
    @guarded
    def call_after_close(self, which: str) -> None:
        consumer = self.c()
        tp = fk.TopicPartition(env().source, 0, 0)
        calls: dict[str, Callable[[], Any]] = {
            "subscribe": lambda: consumer.subscribe([env().source]),
            "assign": lambda: consumer.assign([tp]),
            "assignment": consumer.assignment,
            "position": consumer.position,
            "seek": lambda: consumer.seek(tp),
            "pause": lambda: consumer.pause([tp]),
            "store_offsets": lambda: consumer.store_offsets(offsets=[tp]),
            "unsubscribe": consumer.unsubscribe,
            "list_topics": lambda: consumer.list_topics(timeout=1),
            "get_watermark_offsets": lambda: consumer.get_watermark_offsets(tp, timeout=1),
            "consumer_group_metadata": consumer.consumer_group_metadata,
        }
        self.check_closed_call(calls[which], which)

    # --- producing and pickling ---

    @precondition(lambda self: self.has_held())
    @rule(index=indices, how=st.sampled_from(["payload_view", "message_as_value"]))
    @guarded
    def produce_borrowed(self, index: int, how: str) -> None:
        lent = self.pick_held(index)
        msg = lent.msg
        assert msg is not None
        e = env()
        if lent.reason is not None:

            def produce() -> None:
                e.producer.produce(e.sink, msg, partition=0)  # type: ignore[arg-type]

            expect_invalidated(produce, lent.reason, "produce(value=invalidated message)")
            return
        payload = payload_of(lent.offset)
        if how == "message_as_value" and payload is None:
            return  # what a message without payload produces as a value is not specified
        value: Any = msg if how == "message_as_value" else msg.payload
        future = e.producer.produce(e.sink, value, key=msg.key, partition=0)
        del value
        report = future.result(WAIT)
        self.produced.append(Produced(report.offset, payload, key_of(lent.offset)))

    @precondition(lambda self: bool(self.views))
    @rule(index=indices)
    @guarded
    def produce_kept_view(self, index: int) -> None:
        kept = self.views[index % len(self.views)]
        e = env()
        report = e.producer.produce(e.sink, kept.view, partition=0).result(WAIT)
        self.produced.append(Produced(report.offset, kept.expected, None))

    @precondition(lambda self: bool(self.owned))
    @rule(index=indices)
    @guarded
    def pickle_owned(self, index: int) -> None:
        owned = self.owned[index % len(self.owned)]
        clone = pickle.loads(pickle.dumps(owned.msg))
        assert clone == owned.msg and hash(clone) == hash(owned.msg)
        assert clone == expected_owned(owned.offset)
        assert clone.headers == headers_of(owned.offset) and clone.timestamp == BASE_TIMESTAMP + owned.offset

    @precondition(lambda self: self.has_held())
    @rule(index=indices)
    @guarded
    def pickle_borrowed(self, index: int) -> None:
        msg = self.pick_held(index).msg
        exc = raised_by(lambda: pickle.dumps(msg))
        assert isinstance(exc, TypeError), f"pickling a BorrowedMessage: {exc!r}"


def examples() -> int:
    return int(os.environ.get("FERROKAFKA_LIFECYCLE_EXAMPLES", DEFAULT_EXAMPLES))


@pytest.fixture
def environment(mock_cluster: fk.MockCluster, topic_name: str) -> Any:
    global ENV
    bootstrap = mock_cluster.bootstrap_servers
    source, sink = topic_name + "-source", topic_name + "-sink"
    mock_cluster.create_topic(source, 1)
    mock_cluster.create_topic(sink, 1)
    with fk.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5}) as filler:
        futures = [
            filler.produce(
                source, payload_of(i), key=key_of(i), partition=0, headers=headers_of(i), timestamp=BASE_TIMESTAMP + i
            )
            for i in range(SOURCE_MESSAGES)
        ]
        assert filler.flush(60) == 0
        assert [f.result(0).offset for f in futures] == list(range(SOURCE_MESSAGES))
    gc.collect()
    producer = fk.Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    with ThreadPoolExecutor(1, thread_name_prefix="lifecycle-other") as other:
        ENV = Environment(bootstrap, source, sink, producer, other, _native._live_native_messages())
        try:
            yield ENV
        finally:
            ENV = None
            producer.close(WAIT)


def test_message_lifecycle_state_machine(environment: Environment, capsys: pytest.CaptureFixture[str]) -> None:
    n = examples()
    rss_before = rss_kb()
    started = time.monotonic()
    e = environment
    try:
        run_machine(n)
    finally:
        gc.unfreeze()
        gc.collect()
        figures = {
            "test": "lifecycle",
            "examples_requested": n,
            "sequences": e.sequences,
            "steps": e.steps,
            "messages_lent": e.lent,
            "messages_produced": e.produced,
            "sequences_closed_by_a_step": e.closed_by_step,
            "seconds": round(time.monotonic() - started, 1),
            "rss_kb_before": rss_before,
            "rss_kb_after": rss_kb(),
        }
        with capsys.disabled():
            print(f"\nlifecycle state machine: {json.dumps(figures)}")
        if report := os.environ.get("FERROKAFKA_SOAK_REPORT"):
            with open(report, "a") as out:
                out.write(json.dumps(figures) + "\n")
    assert _native._live_native_messages() == e.baseline_native, "native messages outlived every consumer"
    assert e.sequences >= min(n, 50) and e.steps > e.sequences


def run_machine(n: int) -> None:
    run_state_machine_as_test(
        MessageLifecycle,
        settings=settings(
            max_examples=n,
            stateful_step_count=STEPS_PER_SEQUENCE,
            deadline=None,
            database=None,
            print_blob=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
