"""The collector's own clock, audited with SNTP like an agent audits its host, by the same code
(`chronolog.clock.auditor`): host clocks are cross-checked against the collector's clock, so
its error is part of every cross-check's error."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from chronolog.clock.auditor import Auditor
from chronolog.clock.bound import Interval, status_of
from collector.fleet.config import CollectorClockConfig

__all__ = ["CollectorClock", "SelfView"]

log = logging.getLogger("collector.fleet")


@dataclass(frozen=True, slots=True)
class SelfView:
    """The collector's clock now: ``interval`` contains ``clock - UTC`` (None: unknown, and
    ``reason`` says why)."""

    interval: Interval | None
    status: str
    reason: str | None
    servers: tuple[str, ...]  # whose samples it rests on
    audit_age: float | None  # seconds since the last good audit (monotonic clock)

    @property
    def offset(self) -> float | None:
        return self.interval.offset if self.interval is not None else None

    @property
    def bound(self) -> float | None:
        return self.interval.bound if self.interval is not None else None


class CollectorClock:
    def __init__(self, config: CollectorClockConfig) -> None:
        self.config = config
        self.auditor = Auditor(config)
        self._status: str | None = None

    def view(self, now: float | None = None) -> SelfView:
        now = time.monotonic() if now is None else now
        combined, servers = self.auditor.combined(now)
        last = self.auditor.last_good_mono
        age = None if last is None else now - last
        if combined is None:
            return SelfView(None, "unknown", self.auditor.reason(), (), age)
        interval = combined.interval
        reason = None if combined.agreed else "NTP servers disagree with no majority: the bound covers all"
        return SelfView(interval, status_of(interval.bound, self.config.warn, self.config.budget), reason,
                        servers, age)

    async def run(self) -> None:
        """Audit whenever politeness allows, until cancelled."""
        if not self.auditor.servers:
            return
        while True:
            await self.auditor.round()
            self._say()
            now = time.monotonic()
            wait = (self.auditor.next_due() or now + 3600) - now
            await asyncio.sleep(max(0.05, wait))

    def _say(self) -> None:
        """A log line when the status changes (the metrics carry the numbers)."""
        view = self.view()
        if view.status != self._status:
            (log.info if view.status == "ok" else log.warning)(
                "collector clock status", extra={"status": view.status, "offset": view.offset,
                                                 "bound": view.bound, "reason": view.reason})
            self._status = view.status
