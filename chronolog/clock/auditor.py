"""The SNTP audit of this machine's clock against several servers: what the agent does for
its host and the collector for itself.

`AuditConfig` is the configuration both share. `Auditor` keeps, per server, when it may be
asked again (`Politeness`), its last burst and the best sample since the clock last jumped,
as an `Interval` that contains ``local clock - UTC``; `combined` ages the fresh ones to one
moment and combines them (RFC 5905 majority, `bound.combine`). What to do with the result
(events, records, metrics) is the caller's.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from pydantic import Field, field_validator, model_validator

from chronolog.clock.audit import MIN_SPACING, BurstResult, Politeness, burst
from chronolog.clock.bound import Combined, Interval, combine
from chronolog.clock.servers import parse_server
from chronolog.clock.sntp import MAX_ROOT_DISTANCE, Sample
from chronolog.config_loading import StrictModel

__all__ = ["AuditConfig", "Auditor", "ServerState"]

FRESH_INTERVALS = 4  # a server's sample counts for this many audit intervals


class AuditConfig(StrictModel):
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

    @field_validator("servers")
    @classmethod
    def _servers(cls, servers: list[str]) -> list[str]:
        for server in servers:
            parse_server(server)
        return servers

    @model_validator(mode="after")
    def _polite(self) -> AuditConfig:
        if self.interval < MIN_SPACING * self.burst:
            raise ValueError(
                f"interval {self.interval:g} s with burst {self.burst} would ask each server more "
                f"than once per {MIN_SPACING:g} s on average; use interval >= {MIN_SPACING * self.burst:g}"
            )
        return self


@dataclass(slots=True)
class ServerState:
    name: str
    host: str
    port: int
    politeness: Politeness
    last: BurstResult | None = None
    best: Sample | None = None
    interval: Interval | None = None  # from ``best``, shifted by any step since


class Auditor:
    def __init__(self, config: AuditConfig) -> None:
        self.config = config
        self.servers = [ServerState(name, *parse_server(name), Politeness(config.interval))
                        for name in config.servers]
        self.audited = False  # a round has been made (answered or not)
        self.last_good: float | None = None  # wall-clock time of the last round with a sample
        self.last_good_mono: float | None = None  # the same on the monotonic clock
        self._jumped_at = float("-inf")  # monotonic time of the last step or suspend

    async def round(self, force: bool = False) -> list[tuple[ServerState, BurstResult]]:
        """A burst to every server that may be asked now (all with ``force``); each server's
        result, after it was taken into account."""
        c = self.config
        started = time.monotonic()
        due = [s for s in self.servers if force or s.politeness.due(started)]
        if not due:
            return []
        results = await asyncio.gather(*(
            burst(s.name, s.host, s.port, c.burst, c.burst_spacing, c.timeout, c.max_root_distance)
            for s in due))
        ended = time.monotonic()
        for server, result in zip(due, results, strict=True):
            self._take(server, result, started, ended)
        self.audited = True
        if any(r.samples for r in results):
            self.last_good, self.last_good_mono = time.time(), time.monotonic()
        return list(zip(due, results, strict=True))

    def _take(self, server: ServerState, result: BurstResult, started: float, ended: float) -> None:
        server.politeness.after(started, ended, result)
        server.last = result
        # Samples taken before a step or suspend measured a clock that no longer exists.
        samples = [s for s in result.samples if s.mono > self._jumped_at]
        best = min(samples, key=lambda s: s.delay) if samples else None
        if best is not None:
            server.best = best
            server.interval = Interval.around(best.offset, best.radius, best.mono)

    def next_due(self) -> float | None:
        """Monotonic time the next server may be asked (None: no server)."""
        return min((s.politeness.next_at for s in self.servers), default=None)

    def hurry(self, now: float) -> None:
        """Audit as soon as politeness allows (after a step or a resume)."""
        for s in self.servers:
            s.politeness.hurry(now)

    def stepped(self, step: float, now: float) -> None:
        """The wall clock was stepped by ``step`` seconds at monotonic ``now``: what was
        measured before still holds, moved by the step."""
        self._jumped_at = now
        for s in self.servers:
            if s.interval is not None:
                s.interval = s.interval.shifted(step)

    def resumed(self, now: float) -> None:
        """The host was suspended: the wall clock was re-read from the RTC and nothing
        measured before holds."""
        self._jumped_at = now
        for s in self.servers:
            s.interval = None

    def fresh(self, now: float) -> list[ServerState]:
        """The servers whose interval is recent enough to count."""
        max_age = FRESH_INTERVALS * self.config.interval
        return [s for s in self.servers if s.interval is not None and now - s.interval.at <= max_age]

    def combined(self, now: float) -> tuple[Combined | None, tuple[str, ...]]:
        """The fresh servers' intervals aged to monotonic ``now`` and combined, and whose they
        are (in the order of ``Combined.truechimers``)."""
        fresh = self.fresh(now)
        drift = self.config.drift_ppm
        return (combine([s.interval.grown(now, drift) for s in fresh if s.interval]),
                tuple(s.name for s in fresh))

    def reason(self) -> str:
        """Why there is no audit, for a view that has none."""
        if not self.servers:
            return "no NTP server configured"
        if not self.audited:
            return "not measured yet"
        failures = "; ".join(f"{s.name}: {s.last.error}" for s in self.servers
                             if s.last is not None and s.last.error)
        if any(s.best is not None for s in self.servers):
            return f"no audit in the last {FRESH_INTERVALS * self.config.interval:.0f} s" + (
                f" ({failures})" if failures else "")
        return f"no NTP server answered ({failures})" if failures else "no NTP server answered"
