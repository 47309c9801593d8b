"""Everything the agent reports about itself goes through `Telemetry`: each event updates its
metric and writes its log line in one place, so the pipeline code stays readable.

The per-stream ledger (lines read, acknowledged, dropped by reason) is these counters.
"""

from __future__ import annotations

import logging
from collections import Counter as Tally

from prometheus_client import CollectorRegistry, Counter, Gauge

from chronolog.wire import ClockView

__all__ = ["Telemetry"]

log = logging.getLogger("agent")


class Telemetry:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self._read = Counter("chronolog_agent_lines_read", "Lines read, per stream.",
                             ["stream"], registry=r)
        self._acked = Counter("chronolog_agent_lines_acked",
                              "Lines the collector acknowledged, per stream.", ["stream"], registry=r)
        self._dropped = Counter("chronolog_agent_lines_dropped",
                                "Lines given up on, per stream and reason.", ["stream", "reason"],
                                registry=r)
        self._batches = Counter("chronolog_agent_batches_acked", "Batches acknowledged.", registry=r)
        self._ts_sources = Counter("chronolog_agent_lines_by_ts_source",
                                   "Lines read, per stream and how their event time was obtained "
                                   "(read_time: no timestamp found).", ["stream", "ts_source"], registry=r)
        self._send_failures = Counter("chronolog_agent_send_failures",
                                      "Failed delivery attempts, by reason.", ["reason"], registry=r)
        self._offset = Gauge("chronolog_agent_clock_offset_seconds",
                             "Local clock minus UTC (NaN when unknown).", registry=r)
        self._bound = Gauge("chronolog_agent_clock_bound_seconds",
                            "Largest clock error the agent can vouch for (NaN when unknown).",
                            registry=r)
        self._known = Gauge("chronolog_agent_clock_bound_known",
                            "1 when the clock bound is known, 0 when it is not.", registry=r)
        self._offset.set(float("nan"))
        self._bound.set(float("nan"))

    def lines_read(self, stream: str, n: int) -> None:
        self._read.labels(stream).inc(n)

    def event_times(self, stream: str, sources: list[str]) -> None:
        """The ``ts_source`` of each line just stamped (docs/timestamps.md)."""
        for source, n in Tally(sources).items():
            self._ts_sources.labels(stream, source).inc(n)

    def lines_acked(self, stream: str, n: int) -> None:
        self._acked.labels(stream).inc(n)

    def lines_dropped(self, stream: str, n: int, reason: str) -> None:
        self._dropped.labels(stream, reason).inc(n)
        log.error("lines dropped", extra={"stream": stream, "lines": n, "reason": reason})

    def batch_acked(self, chunks: int, accepted: int, duplicates: int) -> None:
        self._batches.inc()
        log.debug("batch acked", extra={"chunks": chunks, "accepted": accepted,
                                        "duplicates": duplicates})

    def send_failed(self, reason: str, detail: str, retry_in: float) -> None:
        self._send_failures.labels(reason).inc()
        log.warning("delivery failed; will retry",
                    extra={"reason": reason, "detail": detail, "retry_in_s": round(retry_in, 2)})

    def file_event(self, path: str, event: str) -> None:
        """``opened`` (from the start), ``resumed`` (at the checkpoint), ``rotated``, ``truncated``."""
        log.info(f"file {event}", extra={"path": path})

    def file_unreadable(self, path: str, error: str) -> None:
        log.warning("cannot read file; skipping it", extra={"path": path, "error": error})

    def input_failed(self, name: str, error: str) -> None:
        log.error("input stopped", extra={"input": name, "error": error})

    def clock_checked(self, view: ClockView, changed: bool) -> None:
        nan = float("nan")
        self._offset.set(view.offset if view.offset is not None else nan)
        self._bound.set(view.bound if view.bound is not None else nan)
        self._known.set(1 if view.bound is not None else 0)
        if not changed:
            return
        if view.bound is None:
            log.warning("clock error unknown", extra={"reason": view.reason})
        else:
            log.info("clock checked", extra={"offset_s": view.offset, "bound_s": view.bound})
