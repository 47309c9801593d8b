"""Selecting and ordering lines. Pure: stored batches in, ordered rows out.

Rows are merged across hosts and streams in event-time order; ties break on host, stream and
sequence number, so the same query always prints the same timeline.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from chronolog.timefmt import to_rfc3339
from chronolog.wire import Chunk
from collector.store import StoredBatch

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
    stored: StoredBatch
    chunk: Chunk
    index: int

    def sort_key(self) -> tuple[int, str, str, int]:
        return (self.ts, self.host, self.stream, self.seq)

    def record(self, zone: str) -> dict[str, Any]:
        """The row as the query API returns it (docs/wire.md, "Query results")."""
        c, i, batch = self.chunk, self.index, self.stored.batch
        return {
            "ts": to_rfc3339(self.ts, zone),
            "host": self.host,
            "stream": self.stream,
            "seq": self.seq,
            "agent": batch.agent,
            "ts_source": c.src[i],
            "ts_flags": _sparse_at(c.ts_flags, i, []),
            "ts_raw": c.raw[i],
            "read_time": to_rfc3339(c.read, zone),
            "received": to_rfc3339(self.stored.received, zone),
            "clock": dataclasses.asdict(c.clock),
            "msg": c.msg[i],
            "line_flags": _sparse_at(c.line_flags, i, []),
            "fields": _sparse_at(c.fields, i, {}),
        }


@dataclass(frozen=True, slots=True)
class QueryResult:
    rows: list[Row]
    matched: int
    truncated: bool


def _sparse_at(pairs: list[tuple[int, Any]], index: int, empty: Any) -> Any:
    for i, value in pairs:
        if i == index:
            return value
    return empty


def _matches(stored: Iterable[StoredBatch], spec: QuerySpec) -> Iterator[Row]:
    for sb in stored:
        batch = sb.batch
        if spec.hosts and batch.host not in spec.hosts:
            continue
        for chunk in batch.chunks:
            for i, ts in enumerate(chunk.ts):
                if spec.since <= ts < spec.until and (
                    spec.grep is None or spec.grep in chunk.msg[i]
                ):
                    yield Row(ts, batch.host, chunk.stream, chunk.seq + i, sb, chunk, i)


def run_query(stored: Iterable[StoredBatch], spec: QuerySpec) -> QueryResult:
    """The first ``spec.limit`` matching rows in timeline order, and how many matched."""
    matched = 0

    def counted() -> Iterator[Row]:
        nonlocal matched
        for row in _matches(stored, spec):
            matched += 1
            yield row

    rows = heapq.nsmallest(spec.limit, counted(), key=Row.sort_key)
    return QueryResult(rows, matched, matched > len(rows))
