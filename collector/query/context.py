"""Context lines: the lines just before and after a hit in its own stream, as ``grep -B/-A``
shows them in a file. Pure apart from the store reader.

A stream's order is its sequence numbers, so the context of hit ``seq`` is ``seq - B`` to
``seq + A`` of the same ``(agent, stream)``, whatever their timestamps. They are looked for
in the hit's own block first (usually all there), then in that stream's parts ever further
from the hit (a minute, an hour, a day). Only lines the store holds are looked for: the
start of a stream, its end and its gaps simply have none. A line that is itself a hit of the
query is left to appear as a hit; a line is given once per page.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from collector.store import DamagedPart, Part, StoreReader
from collector.store.lines import LineBlock

if TYPE_CHECKING:
    from collector.query.engine import Row

__all__ = ["ContextFinder", "Found"]

US = 1_000_000
WIDTHS = (60 * US, 3600 * US, 86_400 * US)  # how far from the hit to look, step by step
CACHED_PARTS = 16


@dataclass(slots=True)
class Found:
    before: list[Row] = field(default_factory=list)
    after: list[Row] = field(default_factory=list)
    missing: int = 0  # held by the store but not found within a day of the hit (or out of time)


LineId = tuple[str, str, int]  # (agent, stream, seq)


class ContextFinder:
    """Finds context for the hits of one page. ``row(block, i)`` makes a row of a line (or
    None when the page does not show it: received after the snapshot); ``is_hit(block, i)``
    says whether the query matches it."""

    def __init__(self, reader: StoreReader, row: Callable[[LineBlock, int], Row | None],
                 is_hit: Callable[[LineBlock, int], bool]) -> None:
        self.reader = reader
        self.row = row
        self.is_hit = is_hit
        self.given: set[LineId] = set()
        self._parts: collections.OrderedDict[str, LineBlock | None] = collections.OrderedDict()
        self._streams: dict[tuple[int, str, str], tuple[LineBlock, dict[int, int]]] = {}

    def hit(self, row: Row) -> None:
        """A hit the page gives (it is never repeated as context)."""
        self.given.add((row.key[3], row.key[2], row.key[4]))

    def around(self, hit: Row, before: int, after: int, overdue: Callable[[], bool]) -> Found:
        _, host, stream, agent, seq = hit.key
        wanted = [s for s in (*range(max(0, seq - before), seq), *range(seq + 1, seq + after + 1))
                  if (agent, stream, s) not in self.given and self.reader.holds(agent, stream, s)]
        located: dict[int, tuple[LineBlock, int]] = {}
        self._look(hit.block, agent, stream, wanted, located)
        for width in WIDTHS:
            if len(located) == len(wanted) or overdue():
                break
            t = hit.ts
            for part in self.reader.parts(t - width, t + width + 1, frozenset({host}), frozenset({stream})):
                block = self._load(part)
                if block is not None:
                    self._look(block, agent, stream, wanted, located)
        found = Found(missing=len(wanted) - len(located))
        for s in sorted(located):
            block, i = located[s]
            if self.is_hit(block, i):
                continue  # it comes as a hit in its own place
            row = self.row(block, i)
            if row is None:
                continue
            self.given.add((agent, stream, s))
            (found.before if s < seq else found.after).append(row)
        return found

    def _look(self, block: LineBlock, agent: str, stream: str, wanted: list[int],
              located: dict[int, tuple[LineBlock, int]]) -> None:
        by_seq = self._stream_lines(block, agent, stream)
        for s in wanted:
            if s not in located and (i := by_seq.get(s)) is not None:
                located[s] = (block, i)

    def _stream_lines(self, block: LineBlock, agent: str, stream: str) -> dict[int, int]:
        """Line index by seq of one stream's lines in a block (built once per block)."""
        key = (id(block), agent, stream)
        found = self._streams.get(key)
        if found is None or found[0] is not block:
            ks = {k for k in range(block.origin_count()) if block.origin_key(k)[1:] == (stream, agent)}
            seq, origin = block.seq, block.origin
            lines = {seq[i]: i for i in range(len(seq)) if origin[i] in ks} if ks else {}
            if len(self._streams) > 4 * CACHED_PARTS:
                self._streams.clear()
            found = self._streams[key] = (block, lines)
        return found[1]

    def _load(self, part: Part) -> LineBlock | None:
        if part.name in self._parts:
            self._parts.move_to_end(part.name)
            return self._parts[part.name]
        try:
            block = part.load()
        except DamagedPart:
            block = None  # named by the scan if it reads it; context just goes without
        self._parts[part.name] = block
        if len(self._parts) > CACHED_PARTS:
            self._parts.popitem(last=False)
        return block
