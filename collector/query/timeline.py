"""The clock-aware timeline (``order=corrected``): each host's clock history read from its
``clock`` stream, and which lines of different hosts cannot be put in order.

A line's corrected time is uncertain by its error bound: it lies in ``[c - e, c + e]``. Two
lines of different hosts whose intervals overlap may have happened in either order, so both
are flagged ``order_undecidable``; a line whose clock is unknown cannot be ordered against
anything and is flagged too. Lines of one host keep their own order whatever the bounds.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from collector.query.clocks import CLOCK_STREAM, ClockHistory, Sample
from collector.store import DamagedPart, StoreReader

if TYPE_CHECKING:
    from collector.query.engine import Row

__all__ = ["UNDECIDABLE", "OrderMarker", "load_histories"]

US = 1_000_000
UNDECIDABLE = "order_undecidable"
HISTORY_MARGIN = 900 * US  # samples this far outside the window still correct lines inside it
VOIDING = ("step", "suspend")  # events after which earlier samples no longer hold


def load_histories(reader: StoreReader, since: int, until: int, hosts: frozenset[str],
                   as_of: int) -> dict[str, ClockHistory]:
    """Per host, its audit samples and clock steps from ``since`` to ``until`` (widened by
    `HISTORY_MARGIN`), as the collector held them at ``as_of``."""
    samples: dict[str, list[Sample]] = collections.defaultdict(list)
    steps: dict[str, list[int]] = collections.defaultdict(list)
    lo, hi = since - HISTORY_MARGIN, min(until, 2**63 - 1 - HISTORY_MARGIN) + HISTORY_MARGIN
    for part in reader.parts(lo, hi, hosts, frozenset({CLOCK_STREAM})):
        try:
            block = part.load()
        except DamagedPart:
            continue  # the query's own scan names it when it reads it
        if block is None:
            continue
        clock_origins = {k for k in range(block.origin_count())
                         if block.origin_key(k)[1] == CLOCK_STREAM and block.origin_brief(k)[3] < as_of}
        for i, fields in block.fields.items():
            if block.origin[i] not in clock_origins or not lo <= block.ts[i] < hi:
                continue
            host = block.origin_key(block.origin[i])[0]
            kind = fields.get("kind")
            if kind == "sample" and _number(fields.get("offset")) and _number(fields.get("bound")):
                offset, bound = float(fields["offset"]), float(fields["bound"])
                samples[host].append(Sample(block.ts[i], offset, max(0.0, bound - abs(offset)),
                                            fields.get("status")))
            elif kind in VOIDING:
                steps[host].append(block.ts[i])
    return {h: ClockHistory(samples[h], steps.get(h, ())) for h in samples}


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class OrderMarker:
    """Flags undecidable order among rows given in corrected order. `feed` takes each row
    and returns the rows now final: none later can overlap them (later rows start at or after
    the latest row's time, and none has an error above the largest seen or ``floor``)."""

    def __init__(self, floor: float) -> None:
        self._held: collections.deque[Row] = collections.deque()
        self._recent: collections.deque[Row] = collections.deque()  # given, still near enough
        self._widest = round(floor * US)

    def feed(self, row: Row) -> list[Row]:
        c, e = _interval(row)
        if e is None:
            row.flags.append(UNDECIDABLE)
        else:
            self._widest = max(self._widest, e)
            for other in self._recent:  # given already: it keeps its flags
                if _overlap(other, row, c - e):
                    _flag(row)
            for other in self._held:
                if _overlap(other, row, c - e):
                    _flag(row)
                    _flag(other)
        self._held.append(row)
        return self._release(c)

    def flush(self) -> list[Row]:
        out = list(self._held)
        self._held.clear()
        return out

    def held_from(self) -> int | None:
        """The earliest sort time among rows not yet released."""
        return self._held[0].key[0] if self._held else None

    def _release(self, now: int) -> list[Row]:
        out = []
        while self._held:
            c, e = _interval(self._held[0])
            if c + (e or 0) + 2 * self._widest >= now:
                break
            out.append(self._held.popleft())
            self._recent.append(out[-1])
        while self._recent and self._recent[0].key[0] + 2 * self._widest < now:
            self._recent.popleft()
        return out


def _interval(row: Row) -> tuple[int, int | None]:
    c = row.correction
    return row.key[0], (round(c.error * US) if c is not None else None)


def _overlap(earlier: Row, row: Row, start: int) -> bool:
    c, e = _interval(earlier)
    return e is not None and earlier.key[1] != row.key[1] and c + e >= start


def _flag(row: Row) -> None:
    if UNDECIDABLE not in row.flags:
        row.flags.append(UNDECIDABLE)


def released(marker: OrderMarker, rows: Iterable[Row]) -> Iterator[Row]:
    """Rows through the marker, each once final."""
    for row in rows:
        yield from marker.feed(row)
    yield from marker.flush()
