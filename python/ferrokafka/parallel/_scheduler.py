"""The scheduler: per-key (or per-partition) queues over the offset tracker.

A pure data structure, not thread-safe: the thread mode guards it with one lock, the asyncio mode
uses it from the loop. A message enters with `add()` (it is then handed out, for the offset
tracker), becomes ready when no earlier message of its ordering key is pending, is taken by a
worker with `take()`, and leaves with `done()` (finished: counts for the commit), `retry()` (ready
again after a delay, still holding its key) or `fail()` (unfinished for good: holds its key and
its partition's committable offset).
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Literal

from ferrokafka import OwnedMessage
from ferrokafka.parallel._offsets import TP, OffsetTracker

__all__ = ["Ordering", "PartitionStats", "Scheduler", "Stats", "Work"]

Ordering = Literal["key", "partition", "none"]


@dataclass(eq=False)
class Work:
    """One message on its way through a handler."""

    message: OwnedMessage
    tp: TP
    offset: int
    key: Hashable
    generation: int
    attempts: int = 0  # failed attempts so far
    worker_deaths: int = 0
    not_before: float = 0.0
    dropped: bool = False
    running: bool = False


@dataclass(frozen=True)
class PartitionStats:
    """One assigned partition: offsets handed out, committable and committed, and its window."""

    handed_out: int | None  # highest offset handed out + 1
    committable: int | None  # lowest unfinished handed-out offset (or handed_out when none is)
    committed: int | None  # last offset this processor committed
    window: int  # handed-out messages at or above `committable`
    paused: bool


@dataclass(frozen=True)
class Stats:
    """A snapshot of a processor's state (`ParallelProcessor.stats()`)."""

    in_flight: int  # messages taken in and not finished (queued, waiting for a retry or running)
    running: int  # messages inside a handler right now
    partitions: dict[TP, PartitionStats] = field(default_factory=dict)
    key_queue_depths: dict[Hashable, int] = field(default_factory=dict)  # keys with messages waiting


class Scheduler:
    def __init__(self, ordering: Ordering) -> None:
        if ordering not in ("key", "partition", "none"):
            raise ValueError(f"ordering must be 'key', 'partition' or 'none', not {ordering!r}")
        self.ordering: Ordering = ordering
        self.tracker = OffsetTracker()
        self._generation: dict[TP, int] = {}  # assigned partitions (taking work) and their generation
        self._generations = itertools.count(1)
        self._busy: dict[Hashable, deque[Work]] = {}  # key -> its waiting messages (key busy if present)
        self._ready: list[tuple[float, int, Work]] = []  # heap by (not_before, sequence)
        self._sequence = itertools.count()
        self._pending: dict[TP, set[Work]] = {}  # taken in, not finished, per partition
        self.committed: dict[TP, int] = {}
        self.paused: set[TP] = set()
        self.in_flight = 0
        self.running = 0

    # --- assignment -----------------------------------------------------------------------------

    def assign(self, tps: list[TP]) -> None:
        for tp in tps:
            self._generation[tp] = next(self._generations)
            self.tracker.forget(tp)
            self.committed.pop(tp, None)
            self._pending.setdefault(tp, set())

    def stop_taking(self, tps: list[TP]) -> None:
        """Revocation starts: no new work for `tps`; what waits for a handler is dropped (never
        finished, so never committed past). What runs goes on."""
        for tp in tps:
            self._generation.pop(tp, None)
            for work in list(self._pending.get(tp, ())):
                if not work.running:
                    self._drop(work)

    def running_in(self, tps: list[TP]) -> int:
        return sum(1 for tp in tps for work in self._pending.get(tp, ()) if work.running)

    def forget(self, tps: list[TP]) -> None:
        """Revocation ends: what still runs is abandoned (its result will be ignored)."""
        for tp in tps:
            for work in self._pending.pop(tp, set()):
                work.dropped = True
                self.in_flight -= 1
            self.tracker.forget(tp)
            self.committed.pop(tp, None)
            self.paused.discard(tp)

    def assigned(self) -> list[TP]:
        return list(self._generation)

    # --- work -----------------------------------------------------------------------------------

    def ordering_key(self, message: OwnedMessage, tp: TP) -> Hashable:
        if self.ordering == "partition":
            return tp
        if self.ordering == "none":
            return object()
        key = message.key
        # A message without a key is ordered with the other keyless ones of its partition.
        return (tp, None if key is None else bytes(key))

    def add(self, message: OwnedMessage) -> Work | None:
        """Takes a message in; None if its partition is not assigned (any more)."""
        tp = (message.topic, message.partition)
        generation = self._generation.get(tp)
        if generation is None:
            return None
        work = Work(message, tp, message.offset, self.ordering_key(message, tp), generation)
        self.tracker.handed_out(tp, work.offset)
        self._pending[tp].add(work)
        self.in_flight += 1
        queue = self._busy.get(work.key)
        if queue is None:
            self._busy[work.key] = deque()
            self._push_ready(work)
        else:
            queue.append(work)
        return work

    def _push_ready(self, work: Work) -> None:
        heapq.heappush(self._ready, (work.not_before, next(self._sequence), work))

    def take(self, now: float) -> Work | None:
        """The next message ready for a handler, or None."""
        while self._ready:
            not_before, _, work = self._ready[0]
            if work.dropped:
                heapq.heappop(self._ready)
                continue
            if not_before > now:
                return None
            heapq.heappop(self._ready)
            work.running = True
            self.running += 1
            return work
        return None

    def next_ready_at(self) -> float | None:
        """When the earliest ready message may start (a retry's backoff), or None if none is ready."""
        while self._ready and self._ready[0][2].dropped:
            heapq.heappop(self._ready)
        return self._ready[0][0] if self._ready else None

    def _finish_running(self, work: Work) -> bool:
        """Bookkeeping when a handler returns; False if the work was abandoned meanwhile."""
        if work.running:
            work.running = False
            self.running -= 1
        return not work.dropped

    def done(self, work: Work) -> None:
        """The handler is done with `work` (processed, dead-lettered or skipped)."""
        live = self._finish_running(work)
        self._release_key(work)
        if not live:
            return
        work.dropped = True
        self._pending[work.tp].discard(work)
        self.in_flight -= 1
        if self._generation.get(work.tp) == work.generation or work.tp in self._pending:
            self.tracker.finished(work.tp, work.offset)

    def retry(self, work: Work, not_before: float) -> None:
        """Runs `work` again from `not_before` on; its key stays held meanwhile."""
        if not self._finish_running(work):
            self._release_key(work)
            return
        if work.tp not in self._generation:  # revoked meanwhile: do not start it again
            self._drop(work)
            return
        work.not_before = not_before
        self._push_ready(work)

    def fail(self, work: Work) -> None:
        """`work` failed for good: it stays unfinished and keeps holding its key."""
        self._finish_running(work)

    def _drop(self, work: Work) -> None:
        """Removes work that never (or no longer) runs; it stays unfinished for the tracker."""
        work.dropped = True
        self._pending[work.tp].discard(work)
        self.in_flight -= 1
        queue = self._busy.get(work.key)
        if queue is not None and work in queue:
            queue.remove(work)
        else:
            self._release_key(work)

    def _release_key(self, work: Work) -> None:
        queue = self._busy.get(work.key)
        if queue is None:
            return
        while queue:
            nxt = queue.popleft()
            if not nxt.dropped:
                self._push_ready(nxt)
                return
        del self._busy[work.key]

    def drop_waiting(self) -> None:
        """Stopping: everything not running is dropped (unfinished, so never committed past)."""
        for pending in self._pending.values():
            for work in list(pending):
                if not work.running:
                    self._drop(work)

    # --- commits and observation ----------------------------------------------------------------

    def to_commit(self, tps: list[TP] | None = None) -> dict[TP, int]:
        """Committable offsets that moved past what was last committed."""
        offsets: dict[TP, int] = {}
        for tp in self._pending if tps is None else tps:
            offset = self.tracker.committable(tp)
            if offset is not None and offset != self.committed.get(tp):
                offsets[tp] = offset
        return offsets

    def stats(self) -> Stats:
        partitions = {
            tp: PartitionStats(
                handed_out=self.tracker.highest(tp),
                committable=self.tracker.committable(tp),
                committed=self.committed.get(tp),
                window=self.tracker.window(tp),
                paused=tp in self.paused,
            )
            for tp in self._pending
        }
        depths = {key: len(queue) for key, queue in self._busy.items() if queue}
        return Stats(self.in_flight, self.running, partitions, depths)
