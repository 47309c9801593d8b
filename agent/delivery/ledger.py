"""The ledger: per stream, how many lines were read, truncated, spooled, acknowledged and
dropped (by reason). It is what `chronolog-agent status` shows and what the
``chronolog_agent_lines_*`` metrics are read from, so the two always agree.

The counts are lifetime totals: the ledger is saved inside the checkpoint file, in the same
atomic write as the positions it accounts for, and restored at start. ``read`` and
``truncated`` count what this agent read, so lines read again after a crash (from the last
committed position) are counted again; ``spooled``, ``acked`` and ``dropped`` change only at
commit points and are saved with them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

__all__ = ["Ledger", "LedgerMetrics", "StreamLedger"]

_COUNTS = ("read", "truncated", "spooled", "acked")


@dataclass(frozen=True, slots=True)
class StreamLedger:
    """One stream's counts, as a snapshot."""

    stream: str
    read: int
    truncated: int
    spooled: int
    acked: int
    dropped: dict[str, int]

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())


@dataclass(slots=True)
class _Counts:
    read: int = 0
    truncated: int = 0
    spooled: int = 0
    acked: int = 0
    dropped: dict[str, int] = field(default_factory=dict)


class Ledger:
    def __init__(self) -> None:
        self._streams: dict[str, _Counts] = {}

    def _counts(self, stream: str) -> _Counts:
        found = self._streams.get(stream)
        if found is None:
            found = self._streams[stream] = _Counts()
        return found

    def add(self, stream: str, what: str, n: int) -> None:
        """Add ``n`` to one of read, truncated, spooled, acked."""
        counts = self._counts(stream)
        setattr(counts, what, getattr(counts, what) + n)

    def drop(self, stream: str, reason: str, n: int) -> None:
        dropped = self._counts(stream).dropped
        dropped[reason] = dropped.get(reason, 0) + n

    def report(self) -> tuple[StreamLedger, ...]:
        return tuple(
            StreamLedger(name, c.read, c.truncated, c.spooled, c.acked, dict(c.dropped))
            for name, c in sorted(self._streams.items())
        )

    def to_json(self) -> dict[str, Any]:
        return {name: {**{k: getattr(c, k) for k in _COUNTS}, "dropped": dict(c.dropped)}
                for name, c in self._streams.items()}

    def restore(self, doc: Any) -> None:
        """Take the totals saved by `to_json` (anything unreadable is ignored: the ledger is
        an account, not a position, so a bad entry must not stop the agent)."""
        if not isinstance(doc, dict):
            return
        for name, entry in doc.items():
            if not isinstance(entry, dict):
                continue
            counts = self._counts(str(name))
            for key in _COUNTS:
                value = entry.get(key)
                if isinstance(value, int) and value >= 0:
                    setattr(counts, key, value)
            dropped = entry.get("dropped")
            if isinstance(dropped, dict):
                counts.dropped = {str(k): v for k, v in dropped.items() if isinstance(v, int) and v >= 0}


class LedgerMetrics(Collector):
    """Exposes the ledger as Prometheus counters, read at scrape time."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def collect(self) -> Iterator[CounterMetricFamily]:
        helps = {
            "read": "Lines read, per stream.",
            "truncated": "Lines cut to max_line_bytes (still delivered, flagged), per stream.",
            "spooled": "Lines written (fsync'd) to the on-disk spool, per stream.",
            "acked": "Lines the collector acknowledged, per stream.",
        }
        report = self._ledger.report()
        for key, text in helps.items():
            family = CounterMetricFamily(f"chronolog_agent_lines_{key}", text, labels=["stream"])
            for s in report:
                family.add_metric([s.stream], getattr(s, key))
            yield family
        dropped = CounterMetricFamily("chronolog_agent_lines_dropped",
                                      "Lines given up on, per stream and reason.",
                                      labels=["stream", "reason"])
        for s in report:
            for reason, n in sorted(s.dropped.items()):
                dropped.add_metric([s.stream, reason], n)
        yield dropped
