"""Running a query over the store: lines out in timeline order as they are found. Pure apart
from the store reader it is handed.

The store lists *parts* (segment blocks, WAL files) with the time range of their lines. They
are read in order of their earliest line and merged: a part is opened only once the
timeline reaches its first line, so a page that fills up early never touches the rest of
the range, and lines leave as they are found. A page ends when it holds ``limit`` hits, or
when its time budget is spent; either way it ends with a cursor from which the next page
continues, each line returned once. The pages of one query read one snapshot: lines the
collector received before the first page began (``as_of``).

Ties in time break on host, stream, agent and sequence number, so the same query always
prints the same timeline, and a sort key names one line.

**Windows and clocks.** A line belongs to ``[since, until)`` when its stamped time or its
corrected time (by its host's measured clock offset, clocks.py) falls in it; the parts up
to ``skew_margin`` either side are read for lines that only correction brings in. With no
``until``, every line stamped later is included, those after the collector's clock flagged.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from collector.query.clocks import ClockHistory, Correction, from_values, from_view
from collector.query.context import ContextFinder
from collector.query.match import Matcher
from collector.query.spec import Cursor, Page
from collector.query.timeline import OrderMarker, load_histories, released
from collector.store import DamagedPart, Part, StoreReader
from collector.store.lines import LineBlock
from collector.store.sealed import BlockAt

__all__ = ["NEVER", "Row", "Run", "Summary", "Window"]

Key = tuple[int, str, str, str, int]
NEVER = 2**63 - 1
US = 1_000_000
READ_AHEAD = 4  # parts read ahead of the merge
WORKERS = 2


@dataclass(slots=True)
class Row:
    """One line of the answer: a hit, or a context line (``kind`` ``before``/``after``)."""

    key: Key  # (time it sorts by, host, stream, agent, seq)
    block: LineBlock
    index: int
    correction: Correction | None
    flags: list[str] = field(default_factory=list)
    kind: str = "hit"
    shown: bool = True  # False: read before the cursor, only to decide the order of others
    sealed: BlockAt | None = None  # the segment and block it was read from; None: the WAL

    @property
    def ts(self) -> int:
        return self.block.ts[self.index]


@dataclass(slots=True)
class Summary:
    """How a page ended (docs/wire.md, "the summary line")."""

    hits: int = 0
    context: int = 0
    stopped: str | None = None  # "limit" or "time_budget": the cursor continues
    cursor: str | None = None
    damaged: list[dict[str, str]] = field(default_factory=list)
    parts: int = 0  # parts read
    as_of: int = 0
    future: int = 0  # lines stamped after the collector's clock (as_of)
    context_missing: int = 0  # context lines the store holds but none were found near the hit
    beyond_margin: set[str] = field(default_factory=set)  # hosts whose clock was off by more than the margin

    @property
    def complete(self) -> bool:
        return self.stopped is None and not self.damaged


@dataclass(frozen=True, slots=True)
class Window:
    """The instants a query covers, and how far correction may move a line into them."""

    since: int
    until: int  # NEVER when open-ended
    margin: int  # microseconds

    def holds(self, ts: int) -> bool:
        return self.since <= ts < self.until

    @property
    def read_from(self) -> int:
        return self.since - self.margin

    @property
    def read_until(self) -> int:
        return NEVER if self.until == NEVER else self.until + self.margin


class Run:
    """One page of a query. Iterate for its rows; `summary` then says how it ended."""

    def __init__(self, reader: StoreReader, page: Page, now: int, skew_margin: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        spec = page.spec
        self.spec = spec
        self.reader = reader
        self.matcher = Matcher(spec.text)
        self.as_of = page.cursor.as_of if page.cursor is not None else now
        self.window = Window(spec.since, NEVER if spec.until is None else spec.until, round(skew_margin * US))
        self.deadline = clock() + page.budget
        self.clock = clock
        self.summary = Summary(as_of=self.as_of)
        self.context = ContextFinder(reader, self._row, self._is_hit)
        self._after: Key | None = page.cursor.key if page.cursor is not None else None
        self.corrected = spec.order == "corrected"
        self.histories: dict[str, ClockHistory] = {}
        self.shift = 0  # how far (us) correction may move a line earlier or later
        if self.corrected:
            self.histories = load_histories(reader, spec.since, self.window.until, spec.hosts, self.as_of)
            largest = max((h.largest_offset() for h in self.histories.values()), default=0.0)
            self.shift = max(self.window.margin, round(largest * US))
            self.window = Window(self.window.since, self.window.until, self.shift)

    # ---- the page -------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Row]:
        with ThreadPoolExecutor(WORKERS, thread_name_prefix="query") as pool:
            merged = self._merged(pool)
            try:
                yield from self._page(merged)
            finally:
                merged.close()
                self.summary.parts = merged.read

    def _page(self, merged: _Merge) -> Iterator[Row]:
        spec, summary = self.spec, self.summary
        last = self._after
        marker = None
        rows: Iterator[Row] = iter(merged)
        if self.corrected:
            floor = max((s.radius for h in self.histories.values() for s in h.samples), default=0.0)
            marker = OrderMarker(floor)
            rows = (r for r in released(marker, merged) if r.shown)
        for row in rows:
            if summary.hits == spec.limit:
                summary.stopped = "limit"
                break
            if summary.hits and self._overdue():
                summary.stopped = "time_budget"
                break
            summary.hits += 1
            summary.future += "future" in row.flags
            last = row.key
            if spec.before or spec.after:
                yield from self._with_context(row)
            else:
                yield row
        else:
            if merged.interrupted:
                summary.stopped = "time_budget"
                # Everything before the earliest line not yet read (or held to be ordered) is done.
                held = marker.held_from() if marker is not None else None
                earliest = min(merged.remaining_from(), NEVER if held is None else held)
                frontier: Key = (earliest, "", "", "", -1)
                last = frontier if last is None else max(last, frontier)
        if summary.stopped is not None and last is not None:
            summary.cursor = Cursor(spec.selection(), self.as_of, last).encode()

    def _overdue(self) -> bool:
        return self.clock() > self.deadline

    def line_with_context(self, agent: str, stream: str, seq: int, ts: int) -> list[Row]:
        """One line (by its id and stamped time) and its context, as a page gives them; empty
        when the snapshot does not hold it. Reads only near ``ts``."""
        host = next(iter(self.spec.hosts), None)
        hosts = frozenset({host}) if host else frozenset()
        self.context.is_hit = lambda block, i: False  # around one line, every other line is context
        for part in self.reader.parts(ts, ts + 1, hosts, frozenset({stream})):
            try:
                block = part.load()
            except DamagedPart as e:
                self.summary.damaged.append({"where": e.where, "detail": e.detail})
                continue
            if block is None:
                continue
            for i in range(len(block)):
                if block.seq[i] == seq and block.ts[i] == ts and block.origin_key(block.origin[i])[1:] == (
                        stream, agent):
                    row = self._row(block, i)
                    if row is None:
                        return []
                    self.summary.hits = 1
                    return list(self._with_context(row))
        return []

    def _with_context(self, row: Row) -> Iterator[Row]:
        self.context.hit(row)
        found = self.context.around(row, self.spec.before, self.spec.after, self._overdue)
        self.summary.context_missing += found.missing
        self.summary.context += len(found.before) + len(found.after)
        for r in found.before:
            r.kind = "before"
            yield r
        yield row
        for r in found.after:
            r.kind = "after"
            yield r

    # ---- reading parts --------------------------------------------------------------------

    def _merged(self, pool: ThreadPoolExecutor) -> _Merge:
        w = self.window
        lo, hi = w.read_from, w.read_until
        if self._after is not None:
            # Resuming: from the last line given (in corrected order, from as far back as a
            # line may sort after it, and a little more, to order the first lines again).
            lo = max(lo, self._after[0] - 3 * self.shift if self.corrected else self._after[0])
        parts = [p for p in self.reader.parts(lo, hi, self.spec.hosts, self.spec.streams) if p.max_ts >= lo]

        def stop() -> bool:
            # Every page moves on: it gives a hit, or reads past where it started, before
            # its time budget may end it.
            return (self.summary.hits > 0 or merge.remaining_from() > lo) and self._overdue()

        merge = _Merge(parts, self._rows, stop, pool, self.shift)
        return merge

    def _rows(self, part: Part) -> list[Row]:
        """The part's lines this page keeps, sorted by key (blocking IO; in a worker thread)."""
        try:
            block = part.load(self.matcher.hint)
        except DamagedPart as e:
            self.summary.damaged.append({"where": e.where, "detail": e.detail})
            return []
        if block is None:
            return []
        rows = list(self._block_rows(block, part.ordered))
        if part.at is not None:
            for r in rows:
                r.sealed = part.at
        if not part.ordered or self.corrected:
            rows.sort(key=lambda r: r.key)
        return rows

    def _block_rows(self, block: LineBlock, ordered: bool) -> Iterator[Row]:
        w = self.window
        ts = block.ts
        lo, hi = (_bisect(ts, w.read_from), _bisect(ts, w.read_until)) if ordered else (0, len(ts))
        kept = self._kept_origins(block)
        if lo >= hi or not kept:
            return
        candidates = range(lo, hi) if self.matcher.everything else self.matcher.lines(*block.text(), lo, hi)
        after, origin, seq = self._after, block.origin, block.seq
        for i in candidates:
            entry = kept.get(origin[i])
            if entry is None:
                continue
            correction, host, stream, agent = entry
            t = ts[i]
            if self.corrected:
                correction = self._correction(host, t, correction)
            key = (self._sort_time(t, correction), host, stream, agent, seq[i])
            shown = after is None or key > after
            if not shown and not self.corrected:
                continue
            flags = self._flags(t, correction)
            if flags is not None:
                yield Row(key, block, i, correction, flags, shown=shown)

    def _correction(self, host: str, t: int, own: Correction | None) -> Correction | None:
        """The host's clock history at ``t`` when there is one; else the line's own view."""
        history = self.histories.get(host)
        found = history.at(t) if history else None
        return found or own

    def _sort_time(self, t: int, correction: Correction | None) -> int:
        """The time a line sorts by: its own, or in corrected order its corrected time (its own
        when its clock is unknown or off by more than correction may move it here)."""
        if not self.corrected or correction is None or abs(correction.offset_us) > self.shift:
            return t
        return t - correction.offset_us

    def _flags(self, t: int, correction: Correction | None) -> list[str] | None:
        """The flags of a line stamped ``t``; None when it is outside the window."""
        w = self.window
        flags = []
        if not w.holds(t):
            if (correction is None or not w.read_from <= t < w.read_until
                    or not w.holds(t - correction.offset_us)):
                return None
            flags.append("corrected_in_window")
        if t > self.as_of:
            flags.append("future")
        status = correction.status if correction is not None else "unknown"
        if status in ("over_budget", "unknown"):
            flags.append(f"clock_{status}")
        return flags

    def _kept_origins(self, block: LineBlock) -> dict[int, tuple[Correction | None, str, str, str]]:
        """Per origin of the block that this query keeps (host, stream, received before
        ``as_of``): its correction and its names."""
        spec = self.spec
        kept = {}
        for k in range(block.origin_count()):
            host, stream, agent, received, clock = block.origin_brief(k)
            if (spec.hosts and host not in spec.hosts) or (spec.streams and stream not in spec.streams):
                continue
            if received < self.as_of:
                correction = from_values(clock)
                kept[k] = (correction, host, stream, agent)
                if correction is not None and abs(correction.offset_us) > self.window.margin:
                    # Its lines more than the margin away were not read: say so.
                    self.summary.beyond_margin.add(host)
        return kept

    def _row(self, block: LineBlock, i: int) -> Row | None:
        """Any line as a row of this page (a context line), flagged; None when the page's
        snapshot does not hold it."""
        o = block.origin_at(block.origin[i])
        if o.received >= self.as_of:
            return None
        t = block.ts[i]
        correction = from_view(o.clock)
        if self.corrected:
            correction = self._correction(o.host, t, correction)
        flags = self._flags(t, correction) or []
        if not self.window.holds(t) and "corrected_in_window" not in flags:
            flags = [f for f in self._flags(self.window.since, correction) or [] if f.startswith("clock_")]
            flags += ["future"] if t > self.as_of else []
        key = (self._sort_time(t, correction), o.host, o.stream, o.agent, block.seq[i])
        return Row(key, block, i, correction, flags)

    def _is_hit(self, block: LineBlock, i: int) -> bool:
        """Whether a line is a hit of this query (then it is never given as context)."""
        o = block.origin_at(block.origin[i])
        if (self.spec.hosts and o.host not in self.spec.hosts) or o.received >= self.as_of:
            return False
        return (self._flags(block.ts[i], from_view(o.clock)) is not None
                and self.matcher.matches(block.message(i)))


class _Merge:
    """Rows of parts merged into one order; a part is loaded only when the merge reaches the
    earliest line it may hold. The next few parts in that order are read ahead by worker
    threads (decompression runs outside the GIL: two cores scan at once)."""

    def __init__(self, parts: list[Part], rows: Callable[[Part], list[Row]], stop: Callable[[], bool],
                 pool: ThreadPoolExecutor | None = None, shift: int = 0) -> None:
        # A part's rows sort from ``min_ts - shift`` on (``shift``: how far correction may
        # move a line earlier). pop() takes the earliest.
        self._shift = shift
        self._pending = sorted(parts, key=lambda p: p.min_ts, reverse=True)
        self._rows = rows
        self._stop = stop
        self._pool = pool
        self._ahead: dict[int, Future[list[Row]]] = {}  # by id(part)
        self.interrupted = False  # stopped (``stop()``) before every part was read
        self.read = 0
        self._heap: list[tuple[Key, int, Row, Iterator[Row]]] = []
        self._tie = itertools.count()

    def __iter__(self) -> Iterator[Row]:
        heap = self._heap
        while True:
            # Admit every part that may hold a line before the next row in hand.
            while self._pending and (not heap or self._pending[-1].min_ts - self._shift <= heap[0][0][0]):
                if self._stop():
                    self.interrupted = True
                    return
                rows = iter(self._next())
                first = next(rows, None)
                if first is not None:
                    heapq.heappush(heap, (first.key, next(self._tie), first, rows))
            if not heap:
                return
            _, _, row, rows = heap[0]
            nxt = next(rows, None)
            if nxt is None:
                heapq.heappop(heap)
            else:
                heapq.heapreplace(heap, (nxt.key, next(self._tie), nxt, rows))
            yield row

    def _next(self) -> list[Row]:
        part = self._pending.pop()
        self.read += 1
        if self._pool is None:
            return self._rows(part)
        for ahead in self._pending[-1:-READ_AHEAD - 1:-1]:
            if id(ahead) not in self._ahead:
                self._ahead[id(ahead)] = self._pool.submit(self._rows, ahead)
        future = self._ahead.pop(id(part), None)
        return future.result() if future is not None else self._rows(part)

    def close(self) -> None:
        """Stop reading ahead; returns once no worker touches a part any more."""
        for future in self._ahead.values():
            future.cancel()
        for future in self._ahead.values():
            if not future.cancelled():
                future.exception()  # waits; what it read is not needed
        self._ahead.clear()

    def remaining_from(self) -> int:
        """The earliest time a row not yet given may have."""
        times = [self._heap[0][0][0]] if self._heap else []
        if self._pending:
            times.append(self._pending[-1].min_ts - self._shift)
        return min(times, default=NEVER)


def _bisect(ts: Any, x: int) -> int:
    """The first index whose time is at least ``x`` (``ts`` sorted)."""
    lo, hi = 0, len(ts)
    while lo < hi:
        mid = (lo + hi) // 2
        if ts[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo
