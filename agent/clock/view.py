"""The published clock view, composed from the evidence (pure).

The audit comes first: it is the independent measurement. When it is missing or too old, the
daemon's own claim is used, and the view says so (``source``). When neither is available the
view is unknown, with both reasons; never a 0 that looks healthy. The audit and the daemon are
also compared: intervals that do not overlap mean one of them is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.clock.events import Summary
from agent.clock.readers import DaemonView
from chronolog.clock.bound import Combined, Interval, status_of
from chronolog.wire import ClockView

__all__ = ["Evidence", "compose"]


@dataclass(frozen=True, slots=True)
class Evidence:
    """Everything known at one moment, every interval already aged to that moment."""

    audit: Combined | None
    audit_reason: str | None  # why there is no audit, when there is none
    audit_servers: tuple[str, ...]  # the server behind each of the audit's intervals
    daemon: DaemonView | None
    daemon_interval: Interval | None
    daemon_reason: str | None  # why the daemon cannot vouch, when it cannot


def compose(evidence: Evidence, warn: float, budget: float) -> tuple[ClockView, Summary]:
    e = evidence
    daemon = e.daemon
    synced = daemon.synced if daemon is not None else None
    notes: list[str] = []
    falsetickers: tuple[str, ...] = ()
    if e.audit is not None and e.audit.agreed:
        falsetickers = tuple(name for i, name in enumerate(e.audit_servers)
                             if i not in e.audit.truechimers)
    elif e.audit is not None:  # no majority: none of them can be singled out
        falsetickers = e.audit_servers
        notes.append("NTP servers disagree with no majority: the bound covers all of them")
    disagreement = None
    name = daemon.daemon if daemon is not None else "the daemon"
    if (e.audit is not None and e.daemon_interval is not None
            and not e.audit.interval.overlaps(e.daemon_interval)):
        disagreement = e.audit.interval.distance(e.daemon_interval)
        notes.append(f"{name} and the audit disagree by {disagreement:.6f} s beyond their bounds")
    source: str
    if e.audit is not None:
        interval, source = e.audit.interval, "audit"
    elif e.daemon_interval is not None:
        interval, source = e.daemon_interval, "daemon"
        notes.append(f"no audit ({e.audit_reason}): the bound is {name}'s own claim")
    else:
        why = "; ".join(r for r in (e.audit_reason, e.daemon_reason) if r) or "not measured yet"
        view = ClockView(synced=synced, reason=why, status="unknown")
        return view, Summary("unknown", why, None, synced, _name(daemon), _reference(daemon),
                             None, None, falsetickers)
    bound = interval.bound
    status = status_of(bound, warn, budget)
    note = "; ".join(notes) or None
    view = ClockView(offset=interval.offset, bound=bound, synced=synced, reason=note,
                     status=status, source=source)
    agree = e.audit.agreed if e.audit is not None else None
    return view, Summary(status, note, bound, synced, _name(daemon), _reference(daemon),
                         disagreement, agree, falsetickers)


def _name(daemon: DaemonView | None) -> str | None:
    return daemon.daemon if daemon is not None else None


def _reference(daemon: DaemonView | None) -> str | None:
    return daemon.reference if daemon is not None else None
