"""ferrokafka.parallel's pure parts: the gap-aware offset tracker and the per-key scheduler, under
hypothesis: whatever order handlers finish in, the committable offset never passes an unfinished
message, and no two messages of one key are ever in a handler at once."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ferrokafka as fk
from ferrokafka.parallel import OffsetTracker, Scheduler

TP = ("t", 0)


@st.composite
def handed_out_and_finish_order(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    # increasing offsets with gaps (compaction, transaction markers), finished in any order
    gaps = draw(st.lists(st.integers(1, 3), min_size=1, max_size=60))
    offsets, offset = [], draw(st.integers(0, 10))
    for gap in gaps:
        offsets.append(offset)
        offset += gap
    finish = draw(st.permutations(offsets))
    return offsets, list(finish)


@given(handed_out_and_finish_order(), st.integers(0, 60))
@settings(max_examples=500, deadline=None)
def test_committable_never_passes_an_unfinished_offset(case: tuple[list[int], list[int]], cut: int) -> None:
    offsets, finish = case
    tracker = OffsetTracker()
    for offset in offsets:
        tracker.handed_out(TP, offset)
    unfinished = set(offsets)
    previous = tracker.committable(TP)
    assert previous == offsets[0]
    for offset in finish[:cut]:
        tracker.finished(TP, offset)
        unfinished.discard(offset)
        committable = tracker.committable(TP)
        assert committable is not None and previous is not None
        assert committable >= previous, "the committable offset never goes back"
        if unfinished:
            assert committable == min(unfinished)  # as far as it may go, never past an unfinished one
        else:
            assert committable == offsets[-1] + 1
        assert tracker.unfinished(TP) == len(unfinished)
        previous = committable
    assert tracker.window(TP) == sum(1 for o in offsets if o >= (previous or 0))


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 200)), max_size=200))
@settings(max_examples=300, deadline=None)
def test_interleaved_hand_out_and_finish(steps: list[tuple[bool, int]]) -> None:
    """Handing out (in increasing order) interleaved with finishing any handed-out offset."""
    tracker = OffsetTracker()
    handed: list[int] = []
    unfinished: set[int] = set()
    next_offset = 0
    for hand_out, pick in steps:
        if hand_out or not unfinished:
            tracker.handed_out(TP, next_offset)
            handed.append(next_offset)
            unfinished.add(next_offset)
            next_offset += 1 + pick % 2
        else:
            offset = sorted(unfinished)[pick % len(unfinished)]
            tracker.finished(TP, offset)
            tracker.finished(TP, offset)  # twice: no effect
            unfinished.discard(offset)
        committable = tracker.committable(TP)
        assert committable == (min(unfinished) if unfinished else handed[-1] + 1)


def test_out_of_order_redelivery_pulls_the_committable_offset_back() -> None:
    tracker = OffsetTracker()
    for offset in (5, 6, 7):
        tracker.handed_out(TP, offset)
    tracker.finished(TP, 5)
    assert tracker.committable(TP) == 6
    tracker.handed_out(TP, 4)  # delivered again after a seek back
    assert tracker.committable(TP) == 4
    assert tracker.committable(("t", 1)) is None


def message(partition: int, offset: int, key: bytes | None) -> fk.OwnedMessage:
    return fk.OwnedMessage("t", partition, offset, payload=b"x", key=key)


@given(
    st.lists(st.tuples(st.integers(0, 1), st.sampled_from([b"a", b"b", b"c", None])), min_size=1, max_size=80),
    st.randoms(use_true_random=False),
    st.sampled_from(["key", "partition", "none"]),
)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.large_base_example])
def test_scheduler_keeps_key_order_and_commits_safely(
    messages: list[tuple[int, bytes | None]], rnd: random.Random, ordering: str
) -> None:
    sched = Scheduler(ordering)  # type: ignore[arg-type]
    sched.assign([("t", 0), ("t", 1)])
    offsets = {0: 0, 1: 0}
    works = []
    for partition, key in messages:
        work = sched.add(message(partition, offsets[partition], key))
        assert work is not None
        works.append(work)
        offsets[partition] += 1
    running: list = []
    finished: set[tuple[int, int]] = set()
    started: list = []
    while len(finished) < len(works):
        # take a random number of ready messages, then finish or retry a random running one
        while (not running or rnd.random() < 0.7) and (work := sched.take(now=0.0)) is not None:
            if ordering != "none":
                assert all(w.key != work.key for w in running), "two messages of one key at once"
            started.append(work)
            running.append(work)
        assert running, "something is always ready while messages are unfinished"
        work = running.pop(rnd.randrange(len(running)))
        if rnd.random() < 0.2:
            sched.retry(work, not_before=0.0)
            continue
        sched.done(work)
        finished.add((work.tp[1], work.offset))
        for partition in (0, 1):
            committable = sched.tracker.committable(("t", partition))
            pending = [
                o for (p, o) in ((w.tp[1], w.offset) for w in works) if p == partition and (p, o) not in finished
            ]
            if committable is not None:
                assert not pending or committable == min(pending)
    assert sched.in_flight == 0 and sched.running == 0
    if ordering != "none":
        for key in {w.key for w in works}:
            firsts = []
            for w in started:
                if w.key == key and w not in firsts:
                    firsts.append(w)
            assert [w.offset for w in firsts] == sorted(w.offset for w in firsts), "order within a key kept"


def test_revoked_partition_drops_waiting_work_and_ignores_abandoned_results() -> None:
    sched = Scheduler("key")
    sched.assign([TP])
    first = sched.add(message(0, 0, b"k"))
    second = sched.add(message(0, 1, b"k"))
    assert first is not None and second is not None
    assert sched.take(0.0) is first
    assert sched.take(0.0) is None  # same key: waits for the first
    assert sched.stats().key_queue_depths == {(TP, b"k"): 1}
    sched.stop_taking([TP])
    assert sched.add(message(0, 2, b"k")) is None  # no new work once revocation started
    assert sched.running_in([TP]) == 1 and sched.in_flight == 1
    assert sched.to_commit([TP]) == {TP: 0}
    sched.forget([TP])  # the deadline passed: the first is abandoned
    sched.assign([TP])  # and the partition comes back
    again = sched.add(message(0, 0, b"k"))
    assert again is not None
    sched.done(first)  # the abandoned handler returns late: ignored
    assert sched.tracker.committable(TP) == 0
    assert sched.take(0.0) is again  # its key was released by the late return


def test_retry_waits_for_its_backoff_and_holds_its_key() -> None:
    sched = Scheduler("key")
    sched.assign([TP])
    a = sched.add(message(0, 0, b"a"))
    a2 = sched.add(message(0, 1, b"a"))
    b = sched.add(message(0, 2, b"b"))
    assert sched.take(0.0) is a and sched.take(0.0) is b
    sched.retry(a, not_before=10.0)
    assert sched.take(5.0) is None and sched.next_ready_at() == 10.0
    sched.done(b)
    assert sched.tracker.committable(TP) == 0
    assert sched.take(10.0) is a
    sched.done(a)
    assert sched.take(10.0) is a2
    sched.done(a2)
    assert sched.tracker.committable(TP) == 3


def test_bad_ordering_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="ordering"):
        Scheduler("keys")  # type: ignore[arg-type]
