"""How far each line's time may be from the truth, and its time corrected for it. Pure.

A host's clock error at a moment is what its agent measured (docs/clock.md): ``offset`` =
local clock - UTC (positive: ahead), ``bound`` = the largest error it vouches for. The
corrected time of a line stamped ``ts`` by that clock is ``ts - offset``, and what remains
uncertain is the measurement's radius, ``bound - |offset|`` (the offset is the middle of an
interval whose far end is the bound), grown by the drift since the measurement.

Two sources, best first: the host's ``clock`` stream (every audit sample and step, kept in
the store; `ClockHistory`), and the `ClockView` each line carries from when it was read
(``line``).
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from chronolog.wire import ClockView

__all__ = ["DRIFT_PPM", "ClockHistory", "Correction", "Sample", "from_values", "from_view"]

US = 1_000_000
DRIFT_PPM = 50.0  # the agent's default: how fast an unmeasured clock may wander (docs/clock.md)
CLOCK_STREAM = "clock"


@dataclass(frozen=True, slots=True)
class Correction:
    offset_us: int  # subtract from the stamped time
    error: float  # seconds either side of the corrected time
    source: str  # "clock_stream" or "line"
    status: str | None  # the agent's judgement then: ok, warn, over_budget, unknown


def from_view(view: ClockView) -> Correction | None:
    """A line's own clock view as a correction; None when the offset was unknown."""
    if view.offset is None or view.bound is None:
        return None
    return Correction(round(view.offset * US), max(0.0, view.bound - abs(view.offset)), "line", view.status)


@functools.lru_cache(maxsize=4096)
def from_values(values: tuple[Any, ...]) -> Correction | None:
    """`from_view` of a `ClockView` given as its values (many lines share one)."""
    return from_view(ClockView(*values))


@dataclass(frozen=True, slots=True)
class Sample:
    """One measurement of a host's clock, made at ``ts`` by that clock."""

    ts: int
    offset: float
    radius: float
    status: str | None


class ClockHistory:
    """A host's samples in time order. A clock step starts a new epoch: no sample is used
    across it, since the offset changed by the step at that moment."""

    def __init__(self, samples: Iterable[Sample], steps: Iterable[int] = ()) -> None:
        self.samples = sorted(samples, key=lambda s: s.ts)
        self._ts = [s.ts for s in self.samples]
        self._steps = sorted(steps)

    def __bool__(self) -> bool:
        return bool(self.samples)

    def at(self, ts: int) -> Correction | None:
        """The correction for a line stamped ``ts``: from the nearer of the samples just
        before and just after it within the same epoch, whichever leaves the smaller error."""
        i = bisect.bisect_right(self._ts, ts)
        best: Correction | None = None
        for j in (i - 1, i):
            if not 0 <= j < len(self.samples):
                continue
            s = self.samples[j]
            if self._step_between(s.ts, ts):
                continue
            error = s.radius + DRIFT_PPM * 1e-6 * abs(ts - s.ts) / US
            if best is None or error < best.error:
                best = Correction(round(s.offset * US), error, "clock_stream", s.status)
        return best

    def _step_between(self, a: int, b: int) -> bool:
        lo, hi = min(a, b), max(a, b)
        k = bisect.bisect_right(self._steps, lo)
        return k < len(self._steps) and self._steps[k] <= hi

    def largest_offset(self) -> float:
        return max((abs(s.offset) + s.radius for s in self.samples), default=0.0)
