"""Error-bound arithmetic (pure): intervals that contain the true clock error, combining them,
ageing them, and judging them against the budget.

Everything here is about ``local clock - UTC`` in seconds (positive: this clock is ahead). A
measurement becomes an `Interval` that contains that error if the measurement is honest:
``offset +/- (delay/2 + root distance)`` for an SNTP sample (the worst case of an asymmetric
path, RFC 5905 section 8, plus the server's own distance to UTC), ``offset +/- root distance``
for a time daemon's report. As it ages the interval widens at the assumed worst-case drift
rate, so an old measurement never looks as good as a fresh one. The bound is the largest
``|error|`` inside the interval: ``|offset| + delay/2 + root distance + drift x age``.

Ages are measured on the monotonic clock, so a step of the wall clock does not age (or
rejuvenate) a measurement; a step is instead applied to the interval (`Interval.shifted`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Combined",
    "Interval",
    "Status",
    "combine",
    "status_of",
]

Status = Literal["ok", "warn", "over_budget", "unknown"]


@dataclass(frozen=True, slots=True)
class Interval:
    """``lo <= local clock - UTC <= hi`` held at monotonic time ``at``."""

    lo: float
    hi: float
    at: float

    @classmethod
    def around(cls, offset: float, radius: float, at: float) -> Interval:
        return cls(offset - radius, offset + radius, at)

    @property
    def offset(self) -> float:
        """The best estimate: the middle of the interval."""
        return (self.lo + self.hi) / 2

    @property
    def bound(self) -> float:
        """The largest error the interval allows."""
        return max(abs(self.lo), abs(self.hi))

    def grown(self, now: float, drift_ppm: float) -> Interval:
        """The interval at monotonic time ``now``: wider by the drift since ``at``."""
        widen = drift_ppm * 1e-6 * max(0.0, now - self.at)
        return Interval(self.lo - widen, self.hi + widen, max(now, self.at))

    def shifted(self, step: float) -> Interval:
        """After the wall clock was stepped by ``step`` seconds, it is that much further ahead."""
        return Interval(self.lo + step, self.hi + step, self.at)

    def overlaps(self, other: Interval) -> bool:
        return self.lo <= other.hi and other.lo <= self.hi

    def distance(self, other: Interval) -> float:
        """The gap between two disjoint intervals (0 when they overlap)."""
        return max(0.0, self.lo - other.hi, other.lo - self.hi)


@dataclass(frozen=True, slots=True)
class Combined:
    """Several servers' intervals as one, and which servers it trusted.

    With a majority, the result runs from the lowest to the highest point that a majority of
    the intervals cover (RFC 5905's intersection algorithm, after Marzullo): it contains the
    truth whenever a majority of the servers are honest, whichever they are. ``truechimers``
    are the intervals that touch it; the others are falsetickers. Without a majority (two
    servers that disagree, say) nobody can tell which is wrong, so the result is the union of
    all of them: still a true bound if any one server is right, and ``agreed`` is False.
    """

    interval: Interval
    truechimers: tuple[int, ...]
    agreed: bool


def combine(intervals: Sequence[Interval]) -> Combined | None:
    """Intervals (aged to the same moment) as one."""
    if not intervals:
        return None
    majority = len(intervals) // 2 + 1
    # Sweep the end points; at equal positions starts come first, so touching intervals overlap.
    edges = sorted([(iv.lo, 0) for iv in intervals] + [(iv.hi, 1) for iv in intervals])
    count, lo, hi = 0, None, None
    for position, kind in edges:
        if kind == 0:
            count += 1
            if count >= majority and lo is None:
                lo = position
        else:
            if count >= majority:
                hi = position
            count -= 1
    at = max(iv.at for iv in intervals)
    if lo is None or hi is None:
        union = Interval(min(iv.lo for iv in intervals), max(iv.hi for iv in intervals), at)
        return Combined(union, (), agreed=False)
    truechimers = tuple(i for i, iv in enumerate(intervals) if iv.lo <= hi and lo <= iv.hi)
    return Combined(Interval(lo, hi, at), truechimers, agreed=True)


def status_of(bound: float | None, warn: float, budget: float) -> Status:
    """``ok`` up to ``warn``, ``warn`` up to ``budget``, then ``over_budget``."""
    if bound is None:
        return "unknown"
    if bound > budget:
        return "over_budget"
    if bound > warn:
        return "warn"
    return "ok"
