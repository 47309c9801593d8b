"""The clock monitor: audits the host clock against the configured NTP servers on a timer and
keeps the current `ClockView` that every chunk is stamped with.

The bound grows with the time since the last good sample at the configured drift rate, so an
old measurement never looks as good as a fresh one; with no good sample the view is unknown,
with the reason.
"""

from __future__ import annotations

import asyncio
import time

from pydantic import Field, field_validator

from agent.clock.sntp import Sample, SntpError, query
from agent.telemetry import Telemetry
from chronolog.config_loading import StrictModel
from chronolog.wire import ClockView

__all__ = ["ClockConfig", "ClockMonitor", "parse_server", "view_from"]


def parse_server(text: str) -> tuple[str, int]:
    """``host``, ``host:port`` or ``[v6]:port`` into host and port (default 123)."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or "123"
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, "123"
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST or HOST:PORT, got {text!r}")
    return host, int(port)


class ClockConfig(StrictModel):
    servers: list[str] = Field(
        ["ntp.nict.jp"], description="NTP servers to audit the clock against (HOST or HOST:PORT)."
    )
    interval: float = Field(
        64.0, ge=16.0, le=3600.0,
        description="Seconds between audits; each server gets one request per audit.",
    )
    timeout: float = Field(2.0, gt=0, le=30, description="Seconds to wait for each reply.")
    drift_ppm: float = Field(
        50.0, ge=0, le=1000,
        description="Assumed worst-case drift of the local clock since the last audit.",
    )

    @field_validator("servers")
    @classmethod
    def _servers(cls, servers: list[str]) -> list[str]:
        for server in servers:
            parse_server(server)
        return servers


def view_from(sample: Sample | None, errors: dict[str, str], now: float, drift_ppm: float) -> ClockView:
    """The clock view from the best recent sample (pure). ``errors`` explains a missing one."""
    if sample is None:
        if not errors:
            return ClockView(reason="no NTP server configured")
        detail = "; ".join(f"{server}: {error}" for server, error in sorted(errors.items()))
        return ClockView(reason=f"no NTP server answered ({detail})")
    age = max(0.0, now - sample.at)
    bound = sample.bound + drift_ppm * 1e-6 * age
    return ClockView(offset=sample.offset, bound=bound)


class ClockMonitor:
    def __init__(self, config: ClockConfig, telemetry: Telemetry) -> None:
        self.config = config
        self.telemetry = telemetry
        self._servers = [parse_server(s) for s in config.servers]
        self._best: Sample | None = None
        self._errors: dict[str, str] = {}
        self._checked = False

    def view(self) -> ClockView:
        if not self._checked:
            return ClockView(reason="not measured yet")
        return view_from(self._best, self._errors, time.time(), self.config.drift_ppm)

    async def check(self) -> ClockView:
        results = await asyncio.gather(
            *(query(host, port, self.config.timeout) for host, port in self._servers),
            return_exceptions=True,
        )
        samples: list[Sample] = []
        errors: dict[str, str] = {}
        for (host, port), result in zip(self._servers, results, strict=True):
            if isinstance(result, Sample):
                samples.append(result)
            elif isinstance(result, SntpError):
                errors[f"{host}:{port}"] = str(result)
            elif isinstance(result, BaseException):
                errors[f"{host}:{port}"] = f"{type(result).__name__}: {result}"
        before = self.view()
        if samples:
            self._best = min(samples, key=lambda s: s.bound)
        elif self._best is not None and time.time() - self._best.at > 4 * self.config.interval:
            self._best = None  # too old to vouch for anything
        self._errors = errors
        self._checked = True
        view = self.view()
        self.telemetry.clock_checked(view, changed=(before.bound is None) != (view.bound is None)
                                     or before.reason != view.reason)
        return view

    async def run(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self.config.interval)
