"""The SNTP audit: a burst of requests per server, the best sample kept, and politeness.

Queuing only ever adds delay, so of a burst the sample with the least delay is the most
trustworthy (RFC 5905's clock filter); jitter is the RMS of the other samples' offsets against
it. `Politeness` decides when a server may be asked again: never more than one request per
16 s on average (NICT's rule for ntp.nict.jp, RFC 4330 section 10), less often after
silence, much less after a RATE kiss-o'-death, and not at all for a day after DENY or RSTR
(RFC 5905 section 7.4).

`best_of`, `jitter_of` and `Politeness` are pure; `burst` does the IO.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass

from chronolog.clock.sntp import KISS_BACK_OFF, KISS_STOP, Sample, SntpError, exchange, resolve

__all__ = [
    "MIN_SPACING",
    "BurstResult",
    "Politeness",
    "best_of",
    "burst",
    "jitter_of",
]

MIN_SPACING = 16.0  # seconds per request per server, on average
DENY_HOLD = 86400.0  # after DENY/RSTR, leave the server alone this long
MAX_RATE_FACTOR = 64  # a RATE kiss at most multiplies the interval by this
MAX_SILENCE_FACTOR = 4  # unanswered bursts at most multiply it by this (keeps detection quick)


@dataclass(frozen=True, slots=True)
class BurstResult:
    """One server's burst: its samples, the best one and why the others failed."""

    server: str
    requests: int
    samples: tuple[Sample, ...] = ()
    rejections: tuple[str, ...] = ()  # one reason per request that gave no sample
    error: str | None = None  # the last failure, in full (set when there is no sample)
    kiss: str | None = None

    @property
    def best(self) -> Sample | None:
        return best_of(self.samples)

    @property
    def jitter(self) -> float | None:
        return jitter_of(self.samples)


def best_of(samples: Sequence[Sample]) -> Sample | None:
    """The minimum-delay sample (pure)."""
    return min(samples, key=lambda s: s.delay) if samples else None


def jitter_of(samples: Sequence[Sample]) -> float | None:
    """RMS of the offsets against the best sample's; None with fewer than two samples."""
    best = best_of(samples)
    if best is None or len(samples) < 2:
        return None
    others = [s.offset - best.offset for s in samples if s is not best]
    return math.sqrt(sum(d * d for d in others) / len(others))


async def burst(server: str, host: str, port: int, count: int, spacing: float, timeout: float,
                max_root_distance: float) -> BurstResult:
    """``count`` requests ``spacing`` seconds apart; stops early on a kiss-o'-death or when
    the server's host refuses (ICMP port unreachable)."""
    try:
        family, address = await resolve(host, port, timeout)
    except SntpError as e:
        return BurstResult(server, 0, rejections=(e.reason,), error=str(e))
    samples: list[Sample] = []
    rejections: list[str] = []
    error: str | None = None
    kiss: str | None = None
    sent = 0
    for i in range(count):
        if i:
            await asyncio.sleep(spacing)
        sent += 1
        try:
            samples.append(await exchange(server, family, address, timeout, max_root_distance))
        except SntpError as e:
            rejections.append(e.reason)
            error = str(e)
            if e.kiss is not None:
                kiss = e.kiss
                if e.kiss in KISS_BACK_OFF | KISS_STOP:
                    break
            if e.reason == "unreachable":  # refused outright: nobody is there to ask again
                break
    return BurstResult(server, sent, tuple(samples), tuple(rejections),
                       None if samples else error, kiss)


@dataclass(slots=True)
class Politeness:
    """When one server may next be asked (monotonic seconds), and why not sooner."""

    interval: float
    next_at: float = 0.0
    rate_factor: int = 1
    silence_factor: int = 1
    denied: str | None = None  # the kiss code that told us to stop
    last_start: float | None = None
    last_requests: int = 0

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def hurry(self, now: float) -> None:
        """Audit as soon as the average spacing allows (after a step or a resume)."""
        if self.denied or self.last_start is None:
            return
        self.next_at = max(now, self.last_start + MIN_SPACING * self.last_requests)

    def after(self, started: float, ended: float, result: BurstResult) -> None:
        """Account for a burst that started and ended at these monotonic times."""
        self.last_start, self.last_requests = started, result.requests
        if result.kiss in KISS_STOP:
            self.denied = result.kiss
            self.next_at = ended + DENY_HOLD
            return
        self.denied = None
        if result.kiss in KISS_BACK_OFF:
            self.rate_factor = min(self.rate_factor * 2, MAX_RATE_FACTOR)
        elif result.samples and self.rate_factor > 1:
            self.rate_factor //= 2
        if result.samples:
            self.silence_factor = 1
        else:
            self.silence_factor = min(self.silence_factor * 2, MAX_SILENCE_FACTOR)
        factor = max(self.rate_factor, self.silence_factor)
        # However the interval is configured, the requests of a burst are paid for by
        # waiting MIN_SPACING each before the next burst.
        self.next_at = max(started + self.interval * factor, started + MIN_SPACING * result.requests)
