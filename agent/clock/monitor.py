"""The clock monitor: audits the host clock against NTP servers, reads the local time daemon
and the kernel, watches for steps and suspends, and keeps the current `ClockView` that every
chunk is stamped with.

Three loops share the state: the audit (a burst per server when `Politeness` allows), the
daemon reader (every ``daemon.interval``), and a one-second watch that compares the wall,
monotonic and boot clocks, re-judges the view (the bound grows with age) and turns changes
into events. Each audit round and each event becomes a record of the ``clock`` stream.
The logic lives in pure modules (`bound`, `audit`, `events`, `view`); this one wires them.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from pydantic import Field, model_validator

from agent.clock.daemon import DaemonConfig, DaemonReader
from agent.clock.events import ClockEvent, ClockReading, Summary, changes, jumps, read_clocks
from agent.clock.readers import DaemonView, ReaderError
from agent.clock.readers.adjtimex import KernelView, read_kernel
from agent.clock.records import ClockRecord
from agent.clock.view import Evidence, compose
from agent.telemetry import Telemetry
from chronolog.clock.auditor import AuditConfig, Auditor, ServerState
from chronolog.clock.bound import Interval
from chronolog.clock.servers import parse_server
from chronolog.clock.sntp import KISS_BACK_OFF, KISS_STOP, Sample
from chronolog.timefmt import now_us
from chronolog.wire import ClockView

__all__ = ["ClockConfig", "ClockMonitor", "parse_server"]

WATCH_SECONDS = 1.0
RECENT_EVENTS = 50
MAX_REASON = 1000  # characters; the wire's limit


class ClockConfig(AuditConfig):
    """The audit's settings (`chronolog.clock.auditor.AuditConfig`, shared with the
    collector's audit of its own clock) and what the agent does with the result."""

    budget: float = Field(0.100, gt=0, le=3600, description="Seconds of clock error allowed.")
    warn: float = Field(0.050, gt=0, le=3600, description="Seconds of clock error that warn.")
    step_threshold: float = Field(
        0.010, gt=0, le=3600, description="A wall-clock jump larger than this is a step event."
    )
    record: bool = Field(
        True, description="Ship every audit sample and clock event as records of the stream 'clock'."
    )
    heartbeat: float = Field(
        20.0, ge=0, le=3600,
        description="Seconds without any clock record after which a heartbeat record (the current "
        "view) is shipped, so the collector hears from an idle host (its fleet view calls a host "
        "silent after 60 s by default); 0: never.",
    )
    daemon: DaemonConfig = DaemonConfig()

    @model_validator(mode="after")
    def _budget(self) -> ClockConfig:
        if self.warn > self.budget:
            raise ValueError(f"warn ({self.warn:g} s) must not exceed budget ({self.budget:g} s)")
        return self


class ClockMonitor:
    def __init__(self, config: ClockConfig, telemetry: Telemetry,
                 record: Callable[[ClockRecord], None] | None = None) -> None:
        self.config = config
        self.telemetry = telemetry
        self.record = record
        self.auditor = Auditor(config)
        self._daemon_reader = DaemonReader(config.daemon)
        self._daemon: DaemonView | None = None
        self._daemon_error: str | None = None
        self._daemon_iv: Interval | None = None
        self._daemon_read_at = 0.0
        self._kernel: KernelView | None = None
        self._kernel_error: str | None = None
        self._audit_note: str | None = None  # overrides the audit reason (after a suspend)
        self._last_record = time.monotonic()  # when the last clock record was made
        self._reading: ClockReading = read_clocks()
        self._summary = Summary()
        self._events: collections.deque[dict[str, Any]] = collections.deque(maxlen=RECENT_EVENTS)
        self._hurry = asyncio.Event()
        self._daemon_wake = asyncio.Event()

    # -- the view ---------------------------------------------------------------------------

    def view(self) -> ClockView:
        """The clock view now (called for every chunk: cheap, no IO)."""
        return self._compose(time.monotonic())[0]

    def _compose(self, now: float) -> tuple[ClockView, Summary]:
        view, summary = compose(self._evidence(now), self.config.warn, self.config.budget)
        if view.reason is not None and len(view.reason) > MAX_REASON:
            view = ClockView(view.offset, view.bound, view.synced, view.reason[:MAX_REASON - 3] + "...",
                             view.status, view.source)
        return view, summary

    def _evidence(self, now: float) -> Evidence:
        c = self.config
        combined, audited_by = self.auditor.combined(now)
        daemon_iv = None
        daemon_reason = self._daemon_error
        if self._daemon is not None:
            if now - self._daemon_read_at > 4 * c.daemon.interval:
                daemon_reason = f"{self._daemon.daemon} last read {now - self._daemon_read_at:.0f} s ago"
            elif self._daemon_iv is not None:
                daemon_iv = self._daemon_iv.grown(now, c.drift_ppm)
            elif not self._daemon.synced:
                daemon_reason = f"{self._daemon.daemon} is not synchronised"
            else:
                daemon_reason = f"{self._daemon.daemon} does not report what a bound needs"
        no_audit = None if combined else (
            self._audit_note if self.auditor.servers and self._audit_note else self.auditor.reason())
        return Evidence(combined, no_audit, audited_by, self._daemon, daemon_iv, daemon_reason)

    # -- the audit --------------------------------------------------------------------------

    async def audit(self, force: bool = False) -> None:
        """One round: a burst to every server that may be asked now (all with ``force``)."""
        results = await self.auditor.round(force)
        if not results:
            return
        for server, result in results:
            self.telemetry.clock_burst(server.name, result)
            if result.kiss in KISS_BACK_OFF | KISS_STOP:
                action = "stopped asking it for a day" if result.kiss in KISS_STOP else "asking it less often"
                message = f"{server.name} sent kiss-o'-death {result.kiss}: {action}"
                detail = {"server": server.name, "code": result.kiss}
                self._event(ClockEvent("kiss_of_death", message, detail))
        if any(result.samples for _, result in results):
            self._audit_note = None
            assert self.auditor.last_good is not None and self.auditor.last_good_mono is not None
            self.telemetry.clock_audited(self.auditor.last_good, self.auditor.last_good_mono)
        self._refresh(sample=True)

    async def _audit_loop(self) -> None:
        while True:
            await self.audit()
            now = time.monotonic()
            wait = (self.auditor.next_due() or now + 3600) - now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hurry.wait(), max(0.05, wait))
            self._hurry.clear()

    def _audit_soon(self) -> None:
        self.auditor.hurry(time.monotonic())
        self._hurry.set()

    # -- the daemon and the kernel ----------------------------------------------------------

    async def read_daemon(self) -> None:
        try:
            self._kernel, self._kernel_error = read_kernel(), None
        except OSError as e:
            self._kernel, self._kernel_error = None, str(e)
        try:
            daemon = await self._daemon_reader.read()
        except ReaderError as e:
            self._daemon, self._daemon_iv, self._daemon_error = None, None, str(e)
        else:
            now = time.monotonic()
            self._daemon, self._daemon_error, self._daemon_read_at = daemon, None, now
            self._daemon_iv = daemon.interval(now)
        self.telemetry.clock_daemon(self._daemon)
        self._refresh()

    async def _daemon_loop(self) -> None:
        while True:
            await self.read_daemon()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._daemon_wake.wait(), self.config.daemon.interval)
            self._daemon_wake.clear()

    # -- the watch --------------------------------------------------------------------------

    def watch(self, reading: ClockReading | None = None) -> None:
        """Compare the clocks (``reading``: now) with the last reading; re-judge the view."""
        reading = reading or read_clocks()
        for event in jumps(self._reading, reading, self.config.step_threshold):
            if event.kind == "step":
                step = float(event.detail["seconds"])
                self.auditor.stepped(step, reading.monotonic)
                if self._daemon_iv is not None:
                    self._daemon_iv = self._daemon_iv.shifted(step)
            else:  # suspend: the wall clock was re-read from the RTC; nothing measured holds
                self.auditor.resumed(reading.monotonic)
                self._daemon_iv = None
                self._audit_note = f"resumed after {event.detail['seconds']:.0f} s suspended; re-auditing"
            self._event(event)
            self._audit_soon()
            self._daemon_wake.set()
        self._reading = reading
        self._refresh()
        self._heartbeat(reading.monotonic)

    async def _watch_loop(self) -> None:
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            self.watch()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._watch_loop())
            tasks.create_task(self._daemon_loop())
            if self.auditor.servers:
                tasks.create_task(self._audit_loop())

    # -- events, records, report ------------------------------------------------------------

    def _refresh(self, sample: bool = False) -> None:
        view, summary = self._compose(time.monotonic())
        self.telemetry.clock_view(view)
        if self.auditor.servers and not self.auditor.audited:
            return  # judge changes from the first audit on, not the half-known start
        for event in changes(self._summary, summary):
            self._event(event)
        self._summary = summary
        if sample and self.config.record:
            self._record(_view_line("sample", view), {"kind": "sample", **self._state(view)})

    def _event(self, event: ClockEvent) -> None:
        self.telemetry.clock_event(event)
        entry = {"kind": event.kind, "message": event.message, "at": time.time(), **event.detail}
        self._events.append(entry)
        if self.config.record:
            self._record(f"clock {event.kind}: {event.message}", {"kind": event.kind, **event.detail})

    def _heartbeat(self, now: float) -> None:
        """A record of the current view when no other was made for ``heartbeat`` seconds:
        the collector hears from an idle host, and the clock's history has no long holes."""
        beat = self.config.heartbeat
        if beat > 0 and now - self._last_record >= beat:
            view = self._compose(now)[0]
            daemon = self._daemon.daemon if self._daemon is not None else None
            self._record(_view_line("heartbeat", view), {
                "kind": "heartbeat", **asdict(view), "daemon": daemon,
                "last_good_audit": self.auditor.last_good}, now)

    def _record(self, msg: str, fields: dict[str, Any], now: float | None = None) -> None:
        self._last_record = time.monotonic() if now is None else now
        if self.record is not None:
            self.record(ClockRecord(now_us(), msg, fields))

    def _state(self, view: ClockView) -> dict[str, Any]:
        summary = self._summary
        return {
            **asdict(view),
            "last_good_audit": self.auditor.last_good,
            "servers": [self._server_state(s, s.name not in summary.falsetickers)
                        for s in self.auditor.servers],
            "daemon": (_daemon_state(self._daemon) if self._daemon is not None
                       else {"error": self._daemon_error} if self._daemon_error else None),
            "kernel": (asdict(self._kernel) if self._kernel is not None
                       else {"error": self._kernel_error} if self._kernel_error else None),
        }

    def _server_state(self, s: ServerState, truechimer: bool) -> dict[str, Any]:
        state: dict[str, Any] = {"server": s.name}
        if s.best is not None:
            b = s.best
            state.update(offset=b.offset, delay=b.delay, bound=b.bound, stratum=b.stratum,
                         refid=b.refid, root_delay=b.root_delay, root_dispersion=b.root_dispersion,
                         leap=b.leap, kernel_timestamp=b.kernel_rx, measured=b.at,
                         truechimer=truechimer)
        if s.last is not None:
            state.update(requests=s.last.requests, good=len(s.last.samples), jitter=s.last.jitter,
                         rejected=dict(collections.Counter(s.last.rejections)))
            if s.last.error:
                state["error"] = s.last.error
        if s.politeness.denied:
            state["denied"] = s.politeness.denied
        return state

    def report(self) -> dict[str, Any]:
        """Everything, for ``chronolog-agent clock``: the view, per-server samples, the daemon,
        the kernel, the limits and the recent events."""
        view = self.view()
        samples = {s.name: [_sample_state(x) for x in (s.last.samples if s.last else ())]
                   for s in self.auditor.servers}
        state = self._state(view)
        for server in state["servers"]:
            server["samples"] = samples[server["server"]]
        return {**state, "budget": self.config.budget, "warn": self.config.warn,
                "drift_ppm": self.config.drift_ppm, "events": list(self._events)}


def _view_line(kind: str, view: ClockView) -> str:
    if view.bound is None:
        return f"clock {kind}: unknown ({view.reason})"
    assert view.offset is not None
    line = (f"clock {kind}: offset {view.offset:+.6f} s, bound {view.bound:.6f} s, "
            f"{view.status} ({view.source})")
    return line + (f"; {view.reason}" if view.reason else "")


def _sample_state(s: Sample) -> dict[str, Any]:
    return {"offset": s.offset, "delay": s.delay, "stratum": s.stratum, "refid": s.refid,
            "root_delay": s.root_delay, "root_dispersion": s.root_dispersion, "leap": s.leap,
            "at": s.at, "kernel_timestamp": s.kernel_rx}


def _daemon_state(d: DaemonView) -> dict[str, Any]:
    state = asdict(d)
    state["sources"] = [asdict(s) for s in d.sources]
    state["root_distance"] = d.root_distance
    return state
