"""Rows and summaries as the query API writes them (docs/wire.md, "Query results"). Pure.

Every instant is shown in the query's zone. Rendering a zone is the costly part of a row, so
`Renderer` works out each second once and adds the microseconds itself.
"""

from __future__ import annotations

import functools
from typing import Any

from chronolog.timefmt import to_rfc3339
from collector.query.engine import Row, Summary
from collector.store.lines import CLOCK_FIELDS, Origin

__all__ = ["Renderer"]

US = 1_000_000


class Renderer:
    def __init__(self, zone: str) -> None:
        self.zone = zone
        self._seconds: dict[int, tuple[str, str]] = {}

    def time(self, ts: int) -> str:
        """``ts`` as RFC 3339 in the zone, e.g. ``2026-11-27T09:14:03.118000+09:00``."""
        second, micros = divmod(ts, US)
        found = self._seconds.get(second)
        if found is None:
            text = to_rfc3339(second * US, self.zone)  # "2026-11-27T09:14:03.000000+09:00"
            if len(text) != 32 or text[19] != ".":  # beyond year 9999: not cut the usual way
                return to_rfc3339(ts, self.zone)
            found = (text[:19], text[26:])
            if len(self._seconds) > 100_000:
                self._seconds.clear()
            self._seconds[second] = found
        return f"{found[0]}.{micros:06d}{found[1]}"

    def record(self, row: Row) -> dict[str, Any]:
        b, i = row.block, row.index
        ts = b.ts[i]
        agent, read_time, received, clock = _origin_fields(b.origin_at(b.origin[i]), self.zone)
        c = row.correction
        return {
            "kind": row.kind,
            "ts": self.time(ts),
            "host": row.key[1],
            "stream": row.key[2],
            "seq": row.key[4],
            "agent": agent,
            "ts_source": b.source(i),
            "ts_flags": b.ts_flags.get(i, []),
            "ts_raw": b.raw[i],
            "read_time": read_time,
            "received": received,
            "clock": clock,
            "corrected": self.time(ts - c.offset_us) if c is not None else None,
            "error_bound": round(c.error, 6) if c is not None else None,
            "correction": c.source if c is not None else None,
            "flags": row.flags,
            "msg": b.message(i),
            "line_flags": b.line_flags.get(i, []),
            "fields": b.fields.get(i, {}),
        }

    def summary(self, s: Summary, since: int, until: int | None, order: str) -> dict[str, Any]:
        return {"summary": {
            "count": s.hits + s.context, "hits": s.hits, "context": s.context,
            "complete": s.complete, "stopped": s.stopped, "cursor": s.cursor,
            "damaged": s.damaged, "context_missing": s.context_missing, "future": s.future,
            "since": self.time(since), "until": self.time(until) if until is not None else None,
            "as_of": self.time(s.as_of), "zone": self.zone, "order": order, "parts_read": s.parts,
            "skew_beyond_margin": sorted(s.beyond_margin),
        }}


@functools.lru_cache(maxsize=4096)
def _origin_fields(origin: Origin, zone: str) -> tuple[str, str, str, dict[str, Any]]:
    """What every line of one chunk shares, rendered once (many rows share an origin)."""
    clock = {f: getattr(origin.clock, f) for f in CLOCK_FIELDS}
    return origin.agent, to_rfc3339(origin.read, zone), to_rfc3339(origin.received, zone), clock
