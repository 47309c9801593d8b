"""The collector's own check of a host's clock, independent of what the agent claims (pure).

Every push is an NTP-like exchange between the agent's clock and the collector's. The batch
carries ``sent``, the agent's clock (T1) before it sent; the collector notes when the request
arrived (T2) and when it answered (T3), by its own clock; the agent notes when the answer came
back (T4, its clock) and says so with its next push (header ``Chronolog-Answered``, docs/wire.md).
Since the request cannot arrive before it was sent, nor the answer before it was written,

    T1 - T2  <=  host clock - collector clock  <=  T4 - T3

whatever the network did: an interval whose width is the round trip less the collector's own
time on the request. The lower end is known at once, the upper one with the next push.
Many exchanges tighten it: each new interval is intersected with the estimate so far, widened
by the drift the two clocks may have had since. An interval that does not meet the estimate
means one clock was stepped; the estimate starts again from it.

`against_utc` adds the collector's own error (its audit) to get the host clock's error.
"""

from __future__ import annotations

from dataclasses import dataclass

from chronolog.clock.bound import Interval

__all__ = ["CrossCheck", "against_utc", "exchange_interval"]

US = 1e-6


def exchange_interval(sent: int, arrived: int, replied: int | None = None,
                      answered: int | None = None) -> tuple[float, float | None]:
    """``host clock - collector clock`` in seconds as one exchange bounds it: T1 - T2, and
    T4 - T3 once the answer's arrival is known (µs in; None: not yet)."""
    hi = None if replied is None or answered is None else (answered - replied) * US
    return (sent - arrived) * US, hi


@dataclass(frozen=True, slots=True)
class CrossCheck:
    """``lo <= host clock - collector clock <= hi`` (seconds) as of collector time ``at`` (µs);
    ``hi`` is None while only lower ends are known. ``exchanges`` counts the exchanges it was
    narrowed by since ``since`` (when it last started afresh)."""

    lo: float
    hi: float | None
    at: int
    exchanges: int = 1
    since: int = 0

    @classmethod
    def first(cls, lo: float, hi: float | None, at: int) -> CrossCheck:
        return cls(lo, hi, at, 1, at)

    def aged(self, now: int, drift_ppm: float) -> CrossCheck:
        """Wider by the drift the clocks may have had since ``at``."""
        widen = _widening(self.at, now, drift_ppm)
        return CrossCheck(self.lo - widen, None if self.hi is None else self.hi + widen, max(now, self.at),
                          self.exchanges, self.since)

    def narrowed(self, lo: float, hi: float | None, at: int, drift_ppm: float) -> CrossCheck:
        """The estimate after one more exchange's interval, measured at ``at``: both are
        aged to the later of their times and intersected. (Once per push: plain arithmetic.)"""
        now = max(self.at, at)
        old_widen, new_widen = _widening(self.at, now, drift_ppm), _widening(at, now, drift_ppm)
        new_lo = max(self.lo - old_widen, lo - new_widen)
        old_hi = None if self.hi is None else self.hi + old_widen
        this_hi = None if hi is None else hi + new_widen
        new_hi = this_hi if old_hi is None else old_hi if this_hi is None else min(old_hi, this_hi)
        if new_hi is not None and new_lo > new_hi:  # a step of one of the clocks
            return CrossCheck.first(lo, hi, at)
        return CrossCheck(new_lo, new_hi, now, self.exchanges + 1, self.since)

    @property
    def offset(self) -> float | None:
        return None if self.hi is None else (self.lo + self.hi) / 2


def against_utc(check: CrossCheck, collector: Interval | None) -> tuple[float, float | None] | None:
    """``host clock - UTC`` from the cross-check and the collector's own ``clock - UTC``
    interval; None when the collector's clock is not known."""
    if collector is None:
        return None
    return check.lo + collector.lo, None if check.hi is None else check.hi + collector.hi


def _widening(since: int, now: int, drift_ppm: float) -> float:
    """Seconds two clocks may drift apart from ``since`` to ``now`` (µs)."""
    return drift_ppm * 1e-6 * max(0, now - since) * US
