"""Everything the agent reports about itself goes through `Telemetry`: each event updates its
metric and writes its log line in one place, so the pipeline code stays readable.

The per-stream ledger (`agent.delivery.ledger`: lines read, truncated, spooled, acknowledged,
dropped by reason) is kept here and exposed as the ``chronolog_agent_lines_*`` counters.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge

from agent.delivery.ledger import Ledger, LedgerMetrics
from agent.delivery.spool import SpoolReport
from chronolog.wire import ClockView

if TYPE_CHECKING:
    from agent.clock.events import ClockEvent
    from agent.clock.readers import DaemonView
    from chronolog.clock.audit import BurstResult

__all__ = ["Telemetry"]

log = logging.getLogger("agent")


class Telemetry:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.ledger = Ledger()
        r.register(LedgerMetrics(self.ledger))
        self._batches = Counter("chronolog_agent_batches_acked", "Batches acknowledged.", registry=r)
        self._ts_sources = Counter("chronolog_agent_lines_by_ts_source",
                                   "Lines read, per stream and how their event time was obtained "
                                   "(read_time: no timestamp found).", ["stream", "ts_source"], registry=r)
        self._future = Counter("chronolog_agent_lines_future",
                               "Lines whose written time is after the read time plus the source's "
                               "future_tolerance (flagged 'future'): a writer's clock ahead.",
                               ["stream"], registry=r)
        self._spool_full = Counter("chronolog_agent_spool_full",
                                   "Times a batch found the spool full under when_full = block.",
                                   registry=r)
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
        self._clock_metrics(r)

    def identify(self, agent: str, host: str, version: str) -> None:
        """The info metric a central Prometheus joins on: which host this agent is for."""
        Gauge("chronolog_agent_info", "Always 1: the agent's id, the host name on its records and "
              "its version.", ["agent", "host", "version"], registry=self.registry
              ).labels(agent, host, version).set(1)

    def watch_delivery(self, queued_bytes: Callable[[], int],
                       oldest_unacked: Callable[[], int | None]) -> None:
        """Serve the in-memory queue's size and the shipping lag, read at scrape time."""
        r = self.registry
        Gauge("chronolog_agent_queue_bytes", "Bytes of lines in the in-memory queue, waiting to be "
              "shipped.", registry=r).set_function(queued_bytes)

        def lag() -> float:
            oldest = oldest_unacked()
            return 0.0 if oldest is None else max(0.0, time.time() - oldest / 1e6)

        Gauge("chronolog_agent_shipping_lag_seconds",
              "How long the oldest line not yet acknowledged by the collector has waited since it "
              "was read, in memory or in the spool (0: everything read is acknowledged).",
              registry=r).set_function(lag)

    def lines_read(self, stream: str, n: int, truncated: int = 0) -> None:
        self.ledger.add(stream, "read", n)
        if truncated:
            self.ledger.add(stream, "truncated", truncated)
            log.warning("over-long lines cut to max_line_bytes",
                        extra={"stream": stream, "lines": truncated})

    def lines_spooled(self, stream: str, n: int) -> None:
        self.ledger.add(stream, "spooled", n)

    def event_times(self, stream: str, sources: Mapping[str, int], future: int = 0) -> None:
        """How many lines just stamped have each ``ts_source`` (docs/timestamps.md), and how
        many were written for a time beyond the future tolerance."""
        for source, n in sources.items():
            self._ts_sources.labels(stream, source).inc(n)
        if future:
            self._future.labels(stream).inc(future)
            log.warning("lines written for a time after the read time and its tolerance",
                        extra={"stream": stream, "lines": future})

    def lines_acked(self, stream: str, n: int) -> None:
        self.ledger.add(stream, "acked", n)

    def lines_dropped(self, stream: str, n: int, reason: str) -> None:
        self.ledger.drop(stream, reason, n)
        log.error("lines dropped", extra={"stream": stream, "lines": n, "reason": reason})

    # -- spool (agent.delivery.spool) --

    def watch_spool(self, report: Callable[[], SpoolReport]) -> None:
        """Serve the spool's size and age as gauges, read at scrape time."""
        r = self.registry
        Gauge("chronolog_agent_spool_bytes", "Bytes of batches waiting in the on-disk spool.",
              registry=r).set_function(lambda: report().bytes)
        Gauge("chronolog_agent_spool_batches", "Batches waiting in the on-disk spool.",
              registry=r).set_function(lambda: report().batches)

        def age() -> float:
            oldest = report().oldest_created
            return 0.0 if oldest is None else max(0.0, time.time() - oldest / 1e6)

        Gauge("chronolog_agent_spool_oldest_age_seconds",
              "Age of the oldest batch in the spool (0 when empty).", registry=r).set_function(age)

    def batch_spooled(self, chunks: int, nbytes: int, why: str) -> None:
        extra = {"chunks": chunks, "bytes": nbytes}
        if why == "unreachable":
            log.info("collector unreachable; batch spooled", extra=extra)
        elif why == "behind_spool":
            log.debug("batch spooled behind older ones waiting for delivery", extra=extra)
        else:  # a generated stream: written down before it is sent, as always
            log.debug("batch of a generated stream spooled before sending", extra=extra)

    def spool_full(self, detail: str, retry_in: float) -> None:
        self._spool_full.inc()
        log.warning("spool full; inputs wait (when_full = block)",
                    extra={"detail": detail, "retry_in_s": round(retry_in, 2)})

    def spool_unreadable(self, name: str, error: str) -> None:
        log.error("spool file unreadable; moved aside", extra={"file": name, "error": error})

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

    # -- clock verification (agent/clock/) ---------------------------------------------------

    def _clock_metrics(self, r: CollectorRegistry) -> None:
        nan = float("nan")
        self._synced = Gauge("chronolog_agent_clock_synced",
                             "1 when the local time daemon says it is synchronised, 0 when not, "
                             "NaN when no daemon is readable.", registry=r)
        self._status = Gauge("chronolog_agent_clock_status",
                             "1 for the current clock status (ok, warn, over_budget, unknown).",
                             ["status"], registry=r)
        self._last_audit = Gauge("chronolog_agent_clock_last_good_audit_timestamp_seconds",
                                 "When an NTP server last gave a good sample (0: never), by this "
                                 "host's clock.", registry=r)
        self._last_audit_mono: float | None = None

        def audit_age() -> float:
            last = self._last_audit_mono
            return nan if last is None else time.monotonic() - last

        Gauge("chronolog_agent_clock_audit_age_seconds",
              "Seconds since an NTP server last gave a good sample, on the monotonic clock (a step "
              "of the wall clock does not change it; NaN: never).", registry=r).set_function(audit_age)

        def per_server(name: str, text: str) -> Gauge:
            return Gauge(f"chronolog_agent_clock_server_{name}", text, ["server"], registry=r)

        self._server_offset = per_server("offset_seconds", "Local clock minus the server's (best sample).")
        self._server_delay = per_server("delay_seconds", "Round-trip delay of the server's best sample.")
        self._server_jitter = per_server("jitter_seconds", "RMS of a burst's offsets against its best "
                                         "one (NaN: one sample).")
        self._server_bound = per_server("bound_seconds", "The clock error bound from this server alone.")
        self._server_last = per_server("last_good_timestamp_seconds", "When this server last gave a "
                                       "good sample.")
        self._requests = Counter("chronolog_agent_clock_requests", "SNTP requests sent, per server.",
                                 ["server"], registry=r)
        self._rejected = Counter("chronolog_agent_clock_replies_rejected",
                                 "SNTP requests without a usable reply, per server and reason.",
                                 ["server", "reason"], registry=r)
        self._events = Counter("chronolog_agent_clock_events", "Clock events, by kind.", ["kind"], registry=r)
        self._daemon_synced = Gauge("chronolog_agent_clock_daemon_synced",
                                    "1 synchronised, 0 not, NaN unreadable; labelled by daemon.",
                                    ["daemon"], registry=r)
        self._daemon_offset = Gauge("chronolog_agent_clock_daemon_offset_seconds",
                                    "Local clock minus UTC as the time daemon says.", registry=r)
        self._daemon_distance = Gauge("chronolog_agent_clock_daemon_root_distance_seconds",
                                      "The time daemon's root delay/2 + root dispersion.", registry=r)
        self._daemon_age = Gauge("chronolog_agent_clock_daemon_update_age_seconds",
                                 "Seconds since the time daemon last updated the clock.", registry=r)
        for gauge in (self._synced, self._daemon_offset, self._daemon_distance, self._daemon_age):
            gauge.set(nan)
        self._status_now: str | None = None
        self._daemon_now: str | None = None

    def clock_view(self, view: ClockView) -> None:
        nan = float("nan")
        self._offset.set(view.offset if view.offset is not None else nan)
        self._bound.set(view.bound if view.bound is not None else nan)
        self._known.set(1 if view.bound is not None else 0)
        self._synced.set(nan if view.synced is None else 1 if view.synced else 0)
        status = view.status or "unknown"
        if status != self._status_now:
            for name in ("ok", "warn", "over_budget", "unknown"):
                self._status.labels(name).set(1 if name == status else 0)
            self._status_now = status

    def clock_audited(self, wall_time: float, monotonic: float) -> None:
        self._last_audit.set(wall_time)
        self._last_audit_mono = monotonic

    def clock_burst(self, server: str, result: BurstResult) -> None:
        self._requests.labels(server).inc(result.requests)
        for reason in result.rejections:
            self._rejected.labels(server, reason).inc()
        best = result.best
        if best is None:
            # Said once as a status event; every round only at debug level.
            log.debug("NTP server gave no good sample", extra={"server": server, "error": result.error})
            return
        jitter = result.jitter
        self._server_offset.labels(server).set(best.offset)
        self._server_delay.labels(server).set(best.delay)
        self._server_jitter.labels(server).set(jitter if jitter is not None else float("nan"))
        self._server_bound.labels(server).set(best.bound)
        self._server_last.labels(server).set(best.at)

    def clock_daemon(self, view: DaemonView | None) -> None:
        nan = float("nan")
        name = view.daemon if view is not None else "none"
        if self._daemon_now is not None and self._daemon_now != name:
            self._daemon_synced.remove(self._daemon_now)
        self._daemon_now = name
        synced = view.synced if view is not None else None
        self._daemon_synced.labels(name).set(nan if synced is None else 1 if synced else 0)
        self._daemon_offset.set(view.offset if view and view.offset is not None else nan)
        distance = view.root_distance if view is not None else None
        self._daemon_distance.set(distance if distance is not None else nan)
        self._daemon_age.set(view.age if view and view.age is not None else nan)

    def clock_event(self, event: ClockEvent) -> None:
        self._events.labels(event.kind).inc()
        calm = (event.kind in ("sync_regained", "agreement", "servers_agree")
                or (event.kind == "status" and event.detail.get("to") == "ok"))
        (log.info if calm else log.warning)(f"clock {event.kind}: {event.message}",
                                            extra={"event": event.kind})

    def client_certificate(self, expiry: float) -> None:
        """When this agent's client certificate expires (Unix time), for the expiry alert."""
        Gauge("chronolog_agent_tls_client_certificate_expiry_timestamp_seconds",
              "When the agent's client certificate (mutual TLS) expires (Unix time).",
              registry=self.registry).set(expiry)
