"""Readers of what the local time daemon and the kernel say about the clock, normalised.

One module per source, each with pure parsers and one small IO function:
`adjtimex` (the kernel, ``modes=0``: no privilege), `chrony` (its command port, else
``chronyc -c``), `ntpd` (mode 6 control messages, ntpd and ntpsec), `timesyncd` (D-Bus
through ``busctl``). Each returns a `DaemonView` in one convention: ``offset`` is local clock
minus the daemon's idea of UTC, in seconds (positive: ahead), whatever sign the daemon itself
uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chronolog.clock.bound import Interval

__all__ = ["LEAP_NAMES", "DaemonSource", "DaemonView", "ReaderError"]

LEAP_NAMES = ("normal", "insert_second", "delete_second", "unsynchronised")


class ReaderError(Exception):
    """A daemon that is absent or cannot be read; the message says which and why."""


@dataclass(frozen=True, slots=True)
class DaemonSource:
    """One of the daemon's own time sources, as it reports it."""

    name: str
    state: str  # selected, candidate, outlier, falseticker, jittery, unusable, ...
    stratum: int | None = None
    reach: int | None = None  # the 8-bit reachability register
    offset: float | None = None  # local clock minus this source, seconds
    error: float | None = None  # the daemon's error estimate for that offset
    last_rx: float | None = None  # seconds since its last good sample


@dataclass(frozen=True, slots=True)
class DaemonView:
    """The local time daemon's own statement about the clock."""

    daemon: str  # chrony, ntpd, timesyncd
    synced: bool | None
    stratum: int | None = None
    reference: str | None = None
    leap: str | None = None  # one of LEAP_NAMES
    offset: float | None = None  # local clock minus the daemon's UTC, seconds
    root_delay: float | None = None
    root_dispersion: float | None = None
    age: float | None = None  # seconds since the daemon last updated the clock
    sources: tuple[DaemonSource, ...] = ()
    # The offset is the daemon's last measurement, which it may since have corrected in part
    # or in full (timesyncd): the error lies between that offset and none of it.
    partial_correction: bool = False
    details: dict[str, Any] = field(default_factory=dict)  # daemon-specific extras

    @property
    def root_distance(self) -> float | None:
        if self.root_delay is None or self.root_dispersion is None:
            return None
        return self.root_delay / 2 + self.root_dispersion

    def interval(self, now_mono: float) -> Interval | None:
        """Where the daemon says the error lies, dated ``age`` before ``now_mono``; None when
        it is not synchronised or leaves out something the bound needs."""
        distance = self.root_distance
        if not self.synced or self.offset is None or distance is None or self.age is None:
            return None
        at = now_mono - max(0.0, self.age)
        if self.partial_correction:
            return Interval(min(self.offset, 0.0) - distance, max(self.offset, 0.0) + distance, at)
        return Interval.around(self.offset, distance, at)
