"""Which sequence numbers of one stream the store holds, as disjoint half-open intervals.

The store asks it which part of an incoming range is new (so a resend never duplicates) and
reports the holes between the intervals as gaps. Pure; no IO.
"""

from __future__ import annotations

import bisect

__all__ = ["SeqSet"]


class SeqSet:
    """A set of non-negative integers kept as sorted, disjoint, non-touching [start, end)."""

    __slots__ = ("_ends", "_starts")

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []

    def __len__(self) -> int:
        return sum(e - s for s, e in zip(self._starts, self._ends, strict=True))

    def intervals(self) -> list[tuple[int, int]]:
        return list(zip(self._starts, self._ends, strict=True))

    def missing(self, start: int, end: int) -> list[tuple[int, int]]:
        """The parts of [start, end) not in the set, in order."""
        out: list[tuple[int, int]] = []
        i = bisect.bisect_right(self._ends, start)
        cursor = start
        while cursor < end and i < len(self._starts):
            s, e = self._starts[i], self._ends[i]
            if s >= end:
                break
            if s > cursor:
                out.append((cursor, s))
            cursor = max(cursor, e)
            i += 1
        if cursor < end:
            out.append((cursor, end))
        return out

    def add(self, start: int, end: int) -> None:
        """Add [start, end), merging with every interval it overlaps or touches."""
        if start >= end:
            return
        lo = bisect.bisect_left(self._ends, start)
        hi = bisect.bisect_right(self._starts, end)
        if lo < hi:
            start = min(start, self._starts[lo])
            end = max(end, self._ends[hi - 1])
        self._starts[lo:hi] = [start]
        self._ends[lo:hi] = [end]

    def remove(self, start: int, end: int) -> None:
        """Remove [start, end) (used to undo an add whose write failed)."""
        if start >= end:
            return  # nothing to remove: splitting an interval here would leave two that touch
        kept = [(s, e) for s, e in self.intervals() if e <= start or s >= end]
        for s, e in self.intervals():
            if s < start < e:
                kept.append((s, start))
            if s < end < e:
                kept.append((end, e))
        kept.sort()
        self._starts = [s for s, _ in kept]
        self._ends = [e for _, e in kept]

    def gaps(self) -> list[tuple[int, int]]:
        """The holes from 0 to the highest number held: sequence numbers never received."""
        holes: list[tuple[int, int]] = []
        cursor = 0
        for s, e in zip(self._starts, self._ends, strict=True):
            if s > cursor:
                holes.append((cursor, s))
            cursor = e
        return holes
