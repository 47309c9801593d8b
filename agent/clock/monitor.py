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
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import Field, field_validator, model_validator

from agent.clock.audit import MIN_SPACING, BurstResult, Politeness, burst
from agent.clock.bound import Interval, combine
from agent.clock.daemon import DaemonConfig, DaemonReader
from agent.clock.events import ClockEvent, ClockReading, Summary, changes, jumps, read_clocks
from agent.clock.readers import DaemonView, ReaderError
from agent.clock.readers.adjtimex import KernelView, read_kernel
from agent.clock.records import ClockRecord
from agent.clock.servers import parse_server
from agent.clock.sntp import KISS_BACK_OFF, KISS_STOP, MAX_ROOT_DISTANCE, Sample
from agent.clock.view import Evidence, compose
from agent.telemetry import Telemetry
from chronolog.config_loading import StrictModel
from chronolog.timefmt import now_us
from chronolog.wire import ClockView

__all__ = ["ClockConfig", "ClockMonitor", "parse_server"]

WATCH_SECONDS = 1.0
RECENT_EVENTS = 50
MAX_REASON = 1000  # characters; the wire's limit


class ClockConfig(StrictModel):
    servers: list[str] = Field(
        ["ntp.nict.jp"], description="NTP servers to audit the clock against (HOST or HOST:PORT)."
    )
    interval: float = Field(
        64.0, ge=MIN_SPACING, le=86400.0,
        description="Seconds between audits of a server; at least 16 x burst (NICT's rule).",
    )
    burst: int = Field(
        4, ge=1, le=8, description="Requests per server per audit; the least-delay one counts."
    )
    burst_spacing: float = Field(
        2.0, ge=0.01, le=16.0, description="Seconds between the requests of a burst."
    )
    timeout: float = Field(2.0, gt=0, le=30, description="Seconds to wait for each reply.")
    max_root_distance: float = Field(
        MAX_ROOT_DISTANCE, gt=0, le=16,
        description="Reject a server whose own distance to UTC (root delay/2 + dispersion) is larger.",
    )
    drift_ppm: float = Field(
        50.0, ge=0, le=1000,
        description="Assumed worst-case drift of the local clock since the last measurement.",
    )
    budget: float = Field(0.100, gt=0, le=3600, description="Seconds of clock error allowed.")
    warn: float = Field(0.050, gt=0, le=3600, description="Seconds of clock error that warn.")
    step_threshold: float = Field(
        0.010, gt=0, le=3600, description="A wall-clock jump larger than this is a step event."
    )
    record: bool = Field(
        True, description="Ship every audit sample and clock event as records of the stream 'clock'."
    )
    daemon: DaemonConfig = DaemonConfig()

    @field_validator("servers")
    @classmethod
    def _servers(cls, servers: list[str]) -> list[str]:
        for server in servers:
            parse_server(server)
        return servers

    @model_validator(mode="after")
    def _polite(self) -> ClockConfig:
        if self.interval < MIN_SPACING * self.burst:
            raise ValueError(
                f"interval {self.interval:g} s with burst {self.burst} would ask each server more "
                f"than once per {MIN_SPACING:g} s on average; use interval >= {MIN_SPACING * self.burst:g}"
            )
        if self.warn > self.budget:
            raise ValueError(f"warn ({self.warn:g} s) must not exceed budget ({self.budget:g} s)")
        return self


@dataclass(slots=True)
class _Server:
    name: str
    host: str
    port: int
    politeness: Politeness
    last: BurstResult | None = None
    best: Sample | None = None
    interval: Interval | None = None  # from ``best``, shifted by any step since


class ClockMonitor:
    def __init__(self, config: ClockConfig, telemetry: Telemetry,
                 record: Callable[[ClockRecord], None] | None = None) -> None:
        self.config = config
        self.telemetry = telemetry
        self.record = record
        self._servers = [_Server(name, *parse_server(name), Politeness(config.interval))
                         for name in config.servers]
        self._daemon_reader = DaemonReader(config.daemon)
        self._daemon: DaemonView | None = None
        self._daemon_error: str | None = None
        self._daemon_iv: Interval | None = None
        self._daemon_read_at = 0.0
        self._kernel: KernelView | None = None
        self._kernel_error: str | None = None
        self._audited = False
        self._audit_note: str | None = None  # overrides the audit reason (after a suspend)
        self._last_good_audit: float | None = None  # wall clock
        self._jumped_at = float("-inf")  # monotonic time of the last step or suspend
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
        max_age = 4 * c.interval
        fresh = [s for s in self._servers if s.interval is not None and now - s.interval.at <= max_age]
        combined = combine([s.interval.grown(now, c.drift_ppm) for s in fresh if s.interval])
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
        return Evidence(combined, None if combined else self._audit_reason(now),
                        tuple(s.name for s in fresh), self._daemon, daemon_iv, daemon_reason)

    def _audit_reason(self, now: float) -> str:
        if not self._servers:
            return "no NTP server configured"
        if self._audit_note:
            return self._audit_note
        if not self._audited:
            return "not measured yet"
        failures = "; ".join(f"{s.name}: {s.last.error}" for s in self._servers
                             if s.last is not None and s.last.error)
        if any(s.best is not None for s in self._servers):
            return f"no audit in the last {4 * self.config.interval:.0f} s" + (
                f" ({failures})" if failures else "")
        return f"no NTP server answered ({failures})" if failures else "no NTP server answered"

    # -- the audit --------------------------------------------------------------------------

    async def audit(self, force: bool = False) -> None:
        """One round: a burst to every server that may be asked now (all with ``force``)."""
        c = self.config
        started = time.monotonic()
        due = [s for s in self._servers if force or s.politeness.due(started)]
        if not due:
            return
        results = await asyncio.gather(*(
            burst(s.name, s.host, s.port, c.burst, c.burst_spacing, c.timeout, c.max_root_distance)
            for s in due))
        ended = time.monotonic()
        for server, result in zip(due, results, strict=True):
            self._take(server, result, started, ended)
        self._audited = True
        if any(r.samples for r in results):
            self._audit_note = None
            self._last_good_audit = time.time()
            self.telemetry.clock_audited(self._last_good_audit)
        self._refresh(sample=True)

    def _take(self, server: _Server, result: BurstResult, started: float, ended: float) -> None:
        server.politeness.after(started, ended, result)
        server.last = result
        # Samples taken before a step or suspend measured a clock that no longer exists.
        samples = [s for s in result.samples if s.mono > self._jumped_at]
        best = min(samples, key=lambda s: s.delay) if samples else None
        if best is not None:
            server.best = best
            server.interval = Interval.around(best.offset, best.radius, best.mono)
        self.telemetry.clock_burst(server.name, result)
        if result.kiss in KISS_BACK_OFF | KISS_STOP:
            action = "stopped asking it for a day" if result.kiss in KISS_STOP else "asking it less often"
            message = f"{server.name} sent kiss-o'-death {result.kiss}: {action}"
            self._event(ClockEvent("kiss_of_death", message, {"server": server.name, "code": result.kiss}))

    async def _audit_loop(self) -> None:
        while True:
            await self.audit()
            now = time.monotonic()
            wait = min((s.politeness.next_at for s in self._servers), default=now + 3600) - now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hurry.wait(), max(0.05, wait))
            self._hurry.clear()

    def _audit_soon(self) -> None:
        now = time.monotonic()
        for s in self._servers:
            s.politeness.hurry(now)
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
            self._jumped_at = reading.monotonic
            if event.kind == "step":
                step = float(event.detail["seconds"])
                for s in self._servers:
                    if s.interval is not None:
                        s.interval = s.interval.shifted(step)
                if self._daemon_iv is not None:
                    self._daemon_iv = self._daemon_iv.shifted(step)
            else:  # suspend: the wall clock was re-read from the RTC; nothing measured holds
                for s in self._servers:
                    s.interval = None
                self._daemon_iv = None
                self._audit_note = f"resumed after {event.detail['seconds']:.0f} s suspended; re-auditing"
            self._event(event)
            self._audit_soon()
            self._daemon_wake.set()
        self._reading = reading
        self._refresh()

    async def _watch_loop(self) -> None:
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            self.watch()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._watch_loop())
            tasks.create_task(self._daemon_loop())
            if self._servers:
                tasks.create_task(self._audit_loop())

    # -- events, records, report ------------------------------------------------------------

    def _refresh(self, sample: bool = False) -> None:
        view, summary = self._compose(time.monotonic())
        self.telemetry.clock_view(view)
        if self._servers and not self._audited:
            return  # judge changes from the first audit on, not the half-known start
        for event in changes(self._summary, summary):
            self._event(event)
        self._summary = summary
        if sample and self.record is not None and self.config.record:
            self.record(ClockRecord(now_us(), _sample_line(view), {"kind": "sample", **self._state(view)}))

    def _event(self, event: ClockEvent) -> None:
        self.telemetry.clock_event(event)
        entry = {"kind": event.kind, "message": event.message, "at": time.time(), **event.detail}
        self._events.append(entry)
        if self.record is not None and self.config.record:
            self.record(ClockRecord(now_us(), f"clock {event.kind}: {event.message}",
                                    {"kind": event.kind, **event.detail}))

    def _state(self, view: ClockView) -> dict[str, Any]:
        summary = self._summary
        return {
            **asdict(view),
            "servers": [self._server_state(s, s.name not in summary.falsetickers) for s in self._servers],
            "daemon": (_daemon_state(self._daemon) if self._daemon is not None
                       else {"error": self._daemon_error} if self._daemon_error else None),
            "kernel": (asdict(self._kernel) if self._kernel is not None
                       else {"error": self._kernel_error} if self._kernel_error else None),
        }

    def _server_state(self, s: _Server, truechimer: bool) -> dict[str, Any]:
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
                   for s in self._servers}
        state = self._state(view)
        for server in state["servers"]:
            server["samples"] = samples[server["server"]]
        return {**state, "budget": self.config.budget, "warn": self.config.warn,
                "drift_ppm": self.config.drift_ppm, "last_good_audit": self._last_good_audit,
                "events": list(self._events)}


def _sample_line(view: ClockView) -> str:
    if view.bound is None:
        return f"clock sample: unknown ({view.reason})"
    assert view.offset is not None
    line = (f"clock sample: offset {view.offset:+.6f} s, bound {view.bound:.6f} s, "
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
