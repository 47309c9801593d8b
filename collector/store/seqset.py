"""Which sequence numbers of one stream the store holds, as disjoint half-open intervals.

The store asks it which part of an incoming range is new (so a resend never duplicates) and
reports the holes between the intervals as gaps. Pure; no IO.
"""

from __future__ import annotations

import bisect

from chronolog.wire import Batch, Chunk, slice_chunk
from collector.store import StreamReport

__all__ = ["HeldLines", "SeqSet"]


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


StreamKey = tuple[str, str]  # (agent, stream)


class HeldLines:
    """Which lines a tenant's store holds, per ``(agent, stream)``: what de-duplication asks,
    and what `Store.streams` reports (counts and gaps). Both backends keep one per tenant."""

    __slots__ = ("seqs",)

    def __init__(self) -> None:
        self.seqs: dict[StreamKey, SeqSet] = {}

    def seqset(self, agent: str, stream: str) -> SeqSet:
        found = self.seqs.get((agent, stream))
        if found is None:
            found = self.seqs[(agent, stream)] = SeqSet()
        return found

    def add(self, agent: str, stream: str, start: int, end: int) -> None:
        self.seqset(agent, stream).add(start, end)

    def take_new(self, batch: Batch) -> tuple[list[Chunk], list[tuple[StreamKey, int, int]], int]:
        """Split the batch's chunks into the runs of lines not yet held and mark them held;
        returns the new chunks, what was marked (for `forget`), and how many were held."""
        new_chunks: list[Chunk] = []
        added: list[tuple[StreamKey, int, int]] = []
        duplicates = 0
        for chunk in batch.chunks:
            seqs = self.seqset(batch.agent, chunk.stream)
            runs = seqs.missing(chunk.seq, chunk.seq + len(chunk))
            duplicates += len(chunk) - sum(e - s for s, e in runs)
            for s, e in runs:
                new_chunks.append(slice_chunk(chunk, s - chunk.seq, e - chunk.seq))
                seqs.add(s, e)
                added.append(((batch.agent, chunk.stream), s, e))
        return new_chunks, added, duplicates

    def forget(self, added: list[tuple[StreamKey, int, int]]) -> None:
        """Undo `take_new` (the write of those lines failed)."""
        for key, start, end in added:
            self.seqs[key].remove(start, end)

    def holds(self, agent: str, stream: str, seq: int) -> bool:
        found = self.seqs.get((agent, stream))
        return found is not None and not found.missing(seq, seq + 1)

    def reports(self) -> list[StreamReport]:
        return [
            StreamReport(agent, stream, len(seqs), seqs.intervals()[-1][1] - 1, seqs.gaps())
            for (agent, stream), seqs in sorted(self.seqs.items())
            if seqs.intervals()
        ]
