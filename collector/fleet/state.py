"""The fleet view: each host judged at one moment (pure).

A host is **reporting** while something arrived from it within ``silent_after``; **silent**
after that; **missing** when it is expected (the inventory) and either never reported or has
been silent for ``missing_after``. Time the collector itself was not running does not count
against a host: quiet time is counted from the later of its last push and the collector's
start.

Its clock is judged twice, independently: the agent's **claim** (the status of its latest
`ClockView`), and the collector's **cross-check** (`crosscheck.py`) turned into ``host clock
- UTC`` with the collector's own audit. Where both are known and their intervals do not meet,
they **disagree** by the gap between them: one of the two clocks, or the agent, is wrong.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from chronolog.clock.bound import Interval
from collector.fleet.crosscheck import against_utc
from collector.fleet.inventory import Expected
from collector.fleet.registry import HostRecord, TenantRecord

__all__ = ["CLOCK_STATES", "CROSSCHECK_STATES", "STATES", "Gaps", "HostView", "Thresholds", "judge",
           "summarize", "view_fleet"]

STATES = ("reporting", "silent", "missing")
CLOCK_STATES = ("ok", "warn", "over_budget", "unknown")
CROSSCHECK_STATES = ("ok", "over_budget", "uncertain", "unknown")
US = 1e-6


@dataclass(frozen=True, slots=True)
class Thresholds:
    silent_after: float
    missing_after: float
    budget: float


@dataclass(frozen=True, slots=True)
class Gaps:
    """Sequence numbers never received, over all the host's streams."""

    ranges: int = 0
    lines: int = 0

    def __add__(self, other: Gaps) -> Gaps:
        return Gaps(self.ranges + other.ranges, self.lines + other.lines)


@dataclass(frozen=True, slots=True)
class HostView:
    name: str
    state: str  # one of STATES
    expected: bool
    quiet: float  # seconds nothing has arrived from it (counted from the collector's start at most)
    record: HostRecord | None  # None: never reported
    clock: str  # the claim's status, one of CLOCK_STATES
    crosscheck: tuple[float, float | None] | None  # host clock - UTC, by the collector
    crosscheck_state: str  # one of CROSSCHECK_STATES
    disagreement: float | None  # seconds between claim and cross-check (0: they agree)
    gaps: Gaps

    @property
    def problems(self) -> list[str]:
        """What makes `chronolog hosts` exit non-zero."""
        found = []
        if self.state == "missing":
            found.append("missing")
        if self.clock in ("over_budget", "unknown"):
            found.append(f"clock {self.clock.replace('_', ' ')}")
        if self.crosscheck_state == "over_budget":
            found.append("cross-check over budget")
        if self.disagreement:
            found.append("claim and cross-check disagree")
        return found


def judge(name: str, record: HostRecord | None, expected: bool, gaps: Gaps, now: int, started: int,
          limits: Thresholds, collector: Interval | None) -> HostView:
    """One host at collector time ``now`` (µs); ``collector`` is the collector's own ``clock -
    UTC`` interval, aged to now (None: unknown)."""
    if record is None:
        quiet = (now - started) * US
        state = "missing" if expected else "silent"
    else:
        quiet = max(0.0, (now - max(record.last_seen, started)) * US)
        state = ("missing" if expected and quiet > limits.missing_after
                 else "silent" if quiet > limits.silent_after else "reporting")
    claim = record.claim if record is not None else None
    clock = claim.status if claim is not None and claim.status in CLOCK_STATES else "unknown"
    check = record.crosscheck if record is not None else None
    utc = against_utc(check, collector) if check is not None else None
    return HostView(name, state, expected, quiet, record, clock, utc, _crosscheck_state(utc, limits.budget),
                    _disagreement(claim.interval if claim is not None else None, utc), gaps)


def _crosscheck_state(utc: tuple[float, float | None] | None, budget: float) -> str:
    if utc is None:
        return "unknown"
    lo, hi = utc
    if lo > budget or (hi is not None and hi < -budget):
        return "over_budget"
    if hi is not None and -budget <= lo and hi <= budget:
        return "ok"
    return "uncertain"


def _disagreement(claim: tuple[float, float] | None, utc: tuple[float, float | None] | None) -> float | None:
    if claim is None or utc is None:
        return None
    lo, hi = utc
    gap = max(0.0, lo - claim[1])
    if hi is not None:
        gap = max(gap, claim[0] - hi)
    return gap


def view_fleet(tenant: TenantRecord | None, expected: Expected, gaps: dict[str, Gaps], now: int,
               started: int, limits: Thresholds, collector: Interval | None) -> list[HostView]:
    """Every host of a tenant, reported or expected, sorted by name; ``gaps`` per agent id."""
    hosts = tenant.hosts if tenant is not None else {}
    names = sorted(set(hosts) | expected.names)
    views = []
    for name in names:
        record = hosts.get(name)
        host_gaps = sum((gaps.get(agent, Gaps()) for agent in record.agents), Gaps()) if record else Gaps()
        views.append(judge(name, record, name in expected, host_gaps, now, started, limits, collector))
    return views


def summarize(views: list[HostView]) -> dict[str, int]:
    """Per tenant: hosts, expected, each state, and clock problems."""
    states = Counter(v.state for v in views)
    return {
        "hosts": len(views),
        "expected": sum(v.expected for v in views),
        **{state: states[state] for state in STATES},
        "over_budget": sum(v.clock == "over_budget" or v.crosscheck_state == "over_budget" for v in views),
        "clock_unknown": sum(v.clock == "unknown" for v in views),
        "disagree": sum(bool(v.disagreement) for v in views),
        "problems": sum(bool(v.problems) for v in views),
    }
