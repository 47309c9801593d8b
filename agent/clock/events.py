"""Clock events, detected by comparing two readings (pure).

Jumps come from reading three clocks together: a step of the wall clock moves
``CLOCK_REALTIME - CLOCK_MONOTONIC``; a suspend moves ``CLOCK_BOOTTIME - CLOCK_MONOTONIC``
(monotonic time stops while suspended, boot time does not) and, because the wall clock is
re-read from the RTC on resume, realtime too, by about the same amount. Slewing moves
realtime against monotonic by at most 500 ppm, which the thresholds allow for.

Changes of state (status, the daemon's synchronisation and reference, agreement between the
audit and the daemon, and between servers) come from comparing two `Summary` values.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ClockEvent", "ClockReading", "Summary", "changes", "jumps", "read_clocks"]

SLEW_LIMIT = 500e-6
SUSPEND_THRESHOLD = 1.0  # seconds of boot time gained on monotonic time


@dataclass(frozen=True, slots=True)
class ClockEvent:
    """Something that happened to the clock: ``kind``, a one-line ``message``, and numbers."""

    kind: str
    message: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ClockReading:
    realtime: float
    monotonic: float
    boottime: float


def read_clocks() -> ClockReading:
    """The three clocks, read as close together as Python allows."""
    mono = time.monotonic()
    real = time.time()
    boot = time.clock_gettime(time.CLOCK_BOOTTIME)
    return ClockReading(real, mono, boot)


def jumps(before: ClockReading, after: ClockReading, step_threshold: float) -> list[ClockEvent]:
    """Steps and suspends between two readings."""
    events: list[ClockEvent] = []
    elapsed = after.monotonic - before.monotonic
    suspended = (after.boottime - after.monotonic) - (before.boottime - before.monotonic)
    moved = (after.realtime - after.monotonic) - (before.realtime - before.monotonic)
    if suspended > SUSPEND_THRESHOLD:
        events.append(ClockEvent("suspend", f"the host was suspended for {suspended:.1f} s",
                                 {"seconds": round(suspended, 6)}))
        moved -= suspended  # the wall clock went on while suspended; the rest is a step
    if abs(moved) > max(step_threshold, SLEW_LIMIT * elapsed):
        events.append(ClockEvent("step", f"the wall clock was stepped by {moved:+.6f} s",
                                 {"seconds": round(moved, 6)}))
    return events


@dataclass(frozen=True, slots=True)
class Summary:
    """What state changes are judged on."""

    status: str = "unknown"
    reason: str | None = None
    bound: float | None = None
    synced: bool | None = None
    daemon: str | None = None
    reference: str | None = None
    disagreement: float | None = None  # gap between the audit's and the daemon's intervals
    servers_agree: bool | None = None
    falsetickers: tuple[str, ...] = ()  # servers outside the largest agreeing group


def changes(before: Summary, after: Summary) -> list[ClockEvent]:
    """The events between two summaries, in a fixed order."""
    events: list[ClockEvent] = []
    if after.status != before.status or (after.status == "unknown" and after.reason != before.reason):
        what = f"bound {after.bound:.6f} s" if after.bound is not None else f"{after.reason}"
        message = (f"clock status {before.status} -> {after.status} ({what})"
                   if after.status != before.status else f"clock status still unknown ({what})")
        events.append(ClockEvent("status", message, {"from": before.status, "to": after.status,
                                                     "bound": after.bound, "reason": after.reason}))
    if before.synced and not after.synced:
        why = "is not synchronised" if after.synced is False else "can no longer be read"
        events.append(ClockEvent("sync_lost", f"time daemon {before.daemon} {why}",
                                 {"daemon": before.daemon}))
    elif after.synced and not before.synced:
        events.append(ClockEvent("sync_regained", f"time daemon {after.daemon} is synchronised "
                                 f"to {after.reference}", {"daemon": after.daemon,
                                                           "reference": after.reference}))
    if (before.synced and after.synced and before.reference is not None
            and after.reference != before.reference):
        events.append(ClockEvent("reference_changed", f"time daemon {after.daemon} changed "
                                 f"reference {before.reference} -> {after.reference}",
                                 {"from": before.reference, "to": after.reference}))
    if after.disagreement is not None and before.disagreement is None:
        events.append(ClockEvent("disagreement", f"time daemon {after.daemon} and the audit "
                                 f"disagree by {after.disagreement:.6f} s beyond their bounds",
                                 {"seconds": after.disagreement, "daemon": after.daemon}))
    elif after.disagreement is None and before.disagreement is not None:
        events.append(ClockEvent("agreement", f"time daemon {after.daemon} and the audit agree again",
                                 {"daemon": after.daemon}))
    if after.falsetickers and after.falsetickers != before.falsetickers:
        names = ", ".join(after.falsetickers)
        message = (f"NTP servers disagree with the majority: {names}" if after.servers_agree
                   else f"NTP servers disagree and no majority agrees: {names}")
        events.append(ClockEvent("servers_disagree", message,
                                 {"falsetickers": list(after.falsetickers),
                                  "majority": bool(after.servers_agree)}))
    elif before.falsetickers and not after.falsetickers and after.servers_agree:
        events.append(ClockEvent("servers_agree", "the NTP servers agree again"))
    return events
