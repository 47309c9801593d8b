"""What a bundle shows of each host's clock while its lines were written. Pure.

Two sources, both inside the bundle: every line carries the agent's view of its clock when it
read the line (``clock``: offset, bound, status); the clock evidence records (the agent's
``clock`` stream: audit samples against NTP, and events such as steps) cover the query's range
with a margin. The manifest adds the collector's own cross-check of each host's clock when the
collector keeps one (docs/clock.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

__all__ = ["HostClock", "clock_summary"]


@dataclass
class HostClock:
    host: str
    lines: int = 0
    statuses: dict[str, int] = field(default_factory=dict)  # clock status of the lines
    worst_bound: float | None = None  # largest error bound of a line (None: none known)
    offsets: tuple[float, float] | None = None  # (min, max) offset the lines were read at
    first_line: int | None = None
    last_line: int | None = None
    samples: int = 0  # audit samples in the clock evidence
    sample_offsets: tuple[float, float] | None = None
    sample_bound: float | None = None  # largest bound of a sample
    first_sample: int | None = None
    last_sample: int | None = None
    events: list[dict[str, Any]] = field(default_factory=list)  # {ts, kind, msg}
    cross_check: dict[str, Any] | None = None

    @property
    def verdict(self) -> str:
        """One phrase: were the lines written with a clock within its budget?"""
        if not self.lines:
            return "no lines of this host in the export"
        bad = {k: v for k, v in self.statuses.items() if k not in ("ok", "warn")}
        if not bad:
            return f"within budget for all {self.lines} lines"
        return "; ".join(f"{status} for {n} of {self.lines} lines" for status, n in sorted(bad.items()))


def _span(pair: tuple[float, float] | None, value: float) -> tuple[float, float]:
    return (value, value) if pair is None else (min(pair[0], value), max(pair[1], value))


def _most(current: float | None, value: float) -> float:
    return value if current is None else max(current, value)


def clock_summary(records: Iterable[tuple[bool, bytes]], manifest: dict[str, Any]) -> list[HostClock]:
    """Per host, from the bundle's records (each with whether it is one of the query's lines;
    if not, it is clock evidence) and the manifest's cross-check."""
    hosts: dict[str, HostClock] = {}
    statuses: dict[str, Counter[str]] = {}
    for is_line, raw in records:
        try:
            r = orjson.loads(raw)
            host, ts, clock = str(r["host"]), int(r["ts"]), r.get("clock") or {}
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            continue  # a damaged record: the findings name it
        h = hosts.setdefault(host, HostClock(host))
        if is_line:
            h.lines += 1
            counts = statuses.get(host)
            if counts is None:
                counts = statuses[host] = Counter()
            counts[str(clock.get("status") or "unknown")] += 1
            if isinstance(clock.get("bound"), int | float):
                h.worst_bound = _most(h.worst_bound, float(clock["bound"]))
            if isinstance(clock.get("offset"), int | float):
                h.offsets = _span(h.offsets, float(clock["offset"]))
            h.first_line = ts if h.first_line is None else min(h.first_line, ts)
            h.last_line = ts if h.last_line is None else max(h.last_line, ts)
            continue
        fields = r.get("fields") or {}
        if fields.get("kind") == "sample":
            h.samples += 1
            h.first_sample = ts if h.first_sample is None else min(h.first_sample, ts)
            h.last_sample = ts if h.last_sample is None else max(h.last_sample, ts)
            if isinstance(fields.get("offset"), int | float):
                h.sample_offsets = _span(h.sample_offsets, float(fields["offset"]))
            if isinstance(fields.get("bound"), int | float):
                h.sample_bound = _most(h.sample_bound, float(fields["bound"]))
        else:
            h.events.append({"ts": ts, "kind": str(fields.get("kind", "?")), "msg": str(r.get("msg", ""))})
    for host, counts in statuses.items():
        hosts[host].statuses = dict(counts)
    cross = manifest.get("cross_check") or {}
    for host, check in (cross.get("hosts") or {}).items():
        hosts.setdefault(str(host), HostClock(str(host))).cross_check = check
    return [hosts[h] for h in sorted(hosts)]
