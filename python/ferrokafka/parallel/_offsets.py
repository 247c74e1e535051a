"""The gap-aware offset tracker: which offset of each partition may be committed.

A pure data structure (no clients, no threads, no clock). For every partition it remembers the
offsets handed to handlers that are not yet below the committable offset, and which of those
finished. The committable offset is the lowest handed-out offset that has not finished, or, when
every handed-out offset finished, the highest one + 1: whatever order handlers finish in, it never
passes a message that is still being processed (or waiting to be).
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass, field

__all__ = ["OffsetTracker", "PartitionOffsets"]

TP = tuple[str, int]


@dataclass
class PartitionOffsets:
    """One partition's handed-out offsets at or above its committable offset."""

    outstanding: deque[int] = field(default_factory=deque)  # sorted, each handed out once
    finished: set[int] = field(default_factory=set)  # the finished ones among `outstanding`
    next_offset: int | None = None  # highest offset handed out + 1

    def committable(self) -> int | None:
        if self.outstanding:
            return self.outstanding[0]
        return self.next_offset


class OffsetTracker:
    """Per partition: offsets handed out, offsets finished, and the offset safe to commit."""

    def __init__(self) -> None:
        self._partitions: dict[TP, PartitionOffsets] = {}

    def handed_out(self, tp: TP, offset: int) -> None:
        """Records that the message at `offset` was handed out (to be processed)."""
        part = self._partitions.setdefault(tp, PartitionOffsets())
        outstanding = part.outstanding
        if not outstanding or offset > outstanding[-1]:
            outstanding.append(offset)
        else:
            # Out of order (a redelivery after a seek): rare, so a sorted insert is fine.
            index = bisect.bisect_left(outstanding, offset)
            if index < len(outstanding) and outstanding[index] == offset:
                part.finished.discard(offset)  # handed out again: not finished any more
            else:
                outstanding.insert(index, offset)
        if part.next_offset is None or offset + 1 > part.next_offset:
            part.next_offset = offset + 1

    def finished(self, tp: TP, offset: int) -> None:
        """Records that the message at `offset` is done with; unknown offsets are ignored."""
        part = self._partitions.get(tp)
        if part is None:
            return
        outstanding = part.outstanding
        if not outstanding or offset < outstanding[0]:
            return
        if offset == outstanding[0]:
            outstanding.popleft()
            while outstanding and outstanding[0] in part.finished:
                part.finished.discard(outstanding.popleft())
        else:
            index = bisect.bisect_left(outstanding, offset)
            if index < len(outstanding) and outstanding[index] == offset:
                part.finished.add(offset)

    def committable(self, tp: TP) -> int | None:
        """The offset to commit for `tp` (the next one to read), or None if nothing was handed out."""
        part = self._partitions.get(tp)
        return None if part is None else part.committable()

    def window(self, tp: TP) -> int:
        """How many handed-out messages are at or above the committable offset: what a crash now
        would deliver again (at most)."""
        part = self._partitions.get(tp)
        return 0 if part is None else len(part.outstanding)

    def unfinished(self, tp: TP) -> int:
        """How many handed-out messages of `tp` have not finished."""
        part = self._partitions.get(tp)
        return 0 if part is None else len(part.outstanding) - len(part.finished)

    def highest(self, tp: TP) -> int | None:
        """The highest offset handed out + 1, or None."""
        part = self._partitions.get(tp)
        return None if part is None else part.next_offset

    def forget(self, tp: TP) -> None:
        """Drops everything known about `tp` (after it was revoked)."""
        self._partitions.pop(tp, None)

    def partitions(self) -> list[TP]:
        return list(self._partitions)
