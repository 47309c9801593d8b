"""Which segments retention removes. Pure: catalog rows, holds and a policy in, a list out.

A segment expires as a whole, once both its newest event and its sealing are older than the
tenant's retention: a line with a wrong, far-past timestamp is kept for the full period after
it arrived, and one with a future timestamp is never removed early. A legal hold (on the
whole tenant, or on an event-time range) keeps every segment it overlaps.
"""

from __future__ import annotations

from typing import Any

from chronolog.timefmt import US_PER_S
from collector.store.catalog import Hold, SegmentRow

__all__ = ["expiring", "summary"]

DAY_US = 86_400 * US_PER_S


def expiring(rows: list[SegmentRow], holds: list[Hold], days: int, now: int) -> list[SegmentRow]:
    """The live segments that ``days`` of retention (0: keep forever) removes at ``now``."""
    if days <= 0:
        return []
    cutoff = now - days * DAY_US
    return [r for r in rows
            if r.state == "live" and r.max_ts < cutoff and r.sealed < cutoff
            and not any(h.covers(r.min_ts, r.max_ts) for h in holds)]


def summary(rows: list[SegmentRow]) -> dict[str, Any]:
    """What a set of segments holds, for a preview or a report."""
    return {
        "segments": [r.number for r in rows],
        "lines": sum(r.lines for r in rows),
        "bytes": sum(r.stored_bytes for r in rows),
        "raw_bytes": sum(r.raw_bytes for r in rows),
        "min_ts": min((r.min_ts for r in rows), default=None),
        "max_ts": max((r.max_ts for r in rows), default=None),
    }
