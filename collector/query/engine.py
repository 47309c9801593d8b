"""Selecting and ordering lines. Pure: blocks of stored lines in, ordered rows out.

Rows are merged across hosts and streams in event-time order; ties break on host, stream and
sequence number, so the same query always prints the same timeline. A block in timeline
order is cut to the time range by bisection; a text search runs over a block's messages
joined into one string (one C-level search per block, not one per line).
"""

from __future__ import annotations

import bisect
import functools
import heapq
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from chronolog.timefmt import to_rfc3339
from collector.store.lines import CLOCK_FIELDS, LineBlock, Origin

__all__ = ["QueryResult", "QuerySpec", "Row", "run_query"]


@dataclass(frozen=True, slots=True)
class QuerySpec:
    since: int  # inclusive, microseconds since the epoch
    until: int  # exclusive
    hosts: frozenset[str] = frozenset()  # empty: every host
    grep: str | None = None  # substring the message must contain
    limit: int = 10_000


@dataclass(frozen=True, slots=True)
class Row:
    ts: int
    host: str
    stream: str
    seq: int
    block: LineBlock
    index: int

    def sort_key(self) -> tuple[int, str, str, int]:
        return (self.ts, self.host, self.stream, self.seq)

    def record(self, zone: str) -> dict[str, Any]:
        """The row as the query API returns it (docs/wire.md, "Query results")."""
        b, i = self.block, self.index
        agent, read_time, received, clock = _origin_fields(b.origins[b.origin[i]], zone)
        return {
            "ts": to_rfc3339(self.ts, zone),
            "host": self.host,
            "stream": self.stream,
            "seq": self.seq,
            "agent": agent,
            "ts_source": b.src[i],
            "ts_flags": b.ts_flags.get(i, []),
            "ts_raw": b.raw[i],
            "read_time": read_time,
            "received": received,
            "clock": clock,
            "msg": b.msg[i],
            "line_flags": b.line_flags.get(i, []),
            "fields": b.fields.get(i, {}),
        }


@functools.lru_cache(maxsize=4096)
def _origin_fields(origin: Origin, zone: str) -> tuple[str, str, str, dict[str, Any]]:
    """What every line of one chunk shares, rendered once (many rows share an origin)."""
    clock = {f: getattr(origin.clock, f) for f in CLOCK_FIELDS}
    return origin.agent, to_rfc3339(origin.read, zone), to_rfc3339(origin.received, zone), clock


@dataclass(frozen=True, slots=True)
class QueryResult:
    rows: list[Row]
    matched: int
    truncated: bool


def _containing(msg: list[str], lo: int, hi: int, text: str) -> Iterator[int]:
    """Indices in [lo, hi) of messages containing ``text``."""
    if "\n" in text:
        yield from (i for i in range(lo, hi) if text in msg[i])
        return
    # Joined with newlines, an occurrence of text (which has none) lies inside one message.
    # Where each message starts is worked out only once there is a hit: a block without
    # one costs a single C-level search.
    joined = "\n".join(msg[lo:hi])
    at = joined.find(text)
    if at == -1:
        return
    starts = list(itertools.accumulate((len(m) + 1 for m in msg[lo:hi]), initial=0))
    while at != -1:
        k = bisect.bisect_right(starts, at) - 1
        yield lo + k
        at = joined.find(text, starts[k + 1])


def _block_rows(block: LineBlock, spec: QuerySpec) -> Iterator[Row]:
    ts, origin, origins = block.ts, block.origin, block.origins
    allowed = None
    if spec.hosts:
        allowed = {k for k, o in enumerate(origins) if o.host in spec.hosts}
        if not allowed:
            return
    if block.ordered:
        lo, hi = bisect.bisect_left(ts, spec.since), bisect.bisect_left(ts, spec.until)
    else:
        lo, hi = 0, len(ts)
    candidates: Iterable[int] = (range(lo, hi) if spec.grep is None
                                 else _containing(block.msg, lo, hi, spec.grep))
    since, until = spec.since, spec.until
    for i in candidates:
        if since <= ts[i] < until and (allowed is None or origin[i] in allowed):
            o = origins[origin[i]]
            yield Row(ts[i], o.host, o.stream, block.seq[i], block, i)


def run_query(blocks: Iterable[LineBlock], spec: QuerySpec) -> QueryResult:
    """The first ``spec.limit`` matching rows in timeline order, and how many matched."""
    matched = 0

    def counted() -> Iterator[Row]:
        nonlocal matched
        for block in blocks:
            for row in _block_rows(block, spec):
                matched += 1
                yield row

    rows = heapq.nsmallest(spec.limit, counted(), key=Row.sort_key)
    return QueryResult(rows, matched, matched > len(rows))
