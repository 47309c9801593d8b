"""Judging hosts (pure): reporting, silent and missing, counted from the collector's start at
most; the claim and the cross-check, each judged and compared; what makes a problem."""

from __future__ import annotations

import pytest

from chronolog.clock.bound import Interval
from collector.fleet.crosscheck import CrossCheck
from collector.fleet.inventory import parse_inventory
from collector.fleet.registry import Claim, HostRecord, TenantRecord
from collector.fleet.state import Gaps, Thresholds, judge, summarize, view_fleet

S = 1_000_000
T = 1_800_000_000 * S
LIMITS = Thresholds(silent_after=60, missing_after=300, budget=0.1)
UTC_COLLECTOR = Interval(-0.0005, 0.0005, 0.0)  # the collector's own clock, by its audit


def host(last_seen: int, claim: Claim | None = None, check: CrossCheck | None = None) -> HostRecord:
    return HostRecord(T - 3600 * S, last_seen, {"agent-1": last_seen}, {}, claim, check, 0.2)


def claim(offset: float, bound: float, status: str) -> Claim:
    return Claim(offset, bound, True, status, "audit", None, T)


@pytest.mark.parametrize(("quiet", "expected", "state"), [
    (10, False, "reporting"), (61, False, "silent"), (301, False, "silent"),
    (10, True, "reporting"), (61, True, "silent"), (301, True, "missing"),
])
def test_states_by_how_long_nothing_arrived(quiet: int, expected: bool, state: str) -> None:
    now = T + 3600 * S
    view = judge("web-1", host(now - quiet * S), expected, Gaps(), now, T, LIMITS, collector=None)
    assert (view.state, view.quiet) == (state, quiet)
    assert ("missing" in view.problems) == (state == "missing")


def test_time_the_collector_was_down_does_not_count_against_a_host() -> None:
    started = T + 3600 * S  # the collector came back an hour after it last heard from web-1
    view = judge("web-1", host(T), True, Gaps(), started + 30 * S, started, LIMITS, None)
    assert (view.state, view.quiet) == ("reporting", 30)


def test_an_expected_host_that_never_reported_is_missing_at_once_and_unknown() -> None:
    view = judge("db-9", None, True, Gaps(), T + 5 * S, T, LIMITS, None)
    assert (view.state, view.clock, view.crosscheck_state) == ("missing", "unknown", "unknown")
    assert view.problems == ["missing", "clock unknown"]


def test_a_host_3_s_ahead_is_over_budget_by_its_claim_and_by_the_cross_check_and_they_agree() -> None:
    record = host(T, claim(3.0001, 3.0006, "over_budget"), CrossCheck(2.998, 3.003, T))
    view = judge("web-3", record, False, Gaps(), T + S, T, LIMITS, UTC_COLLECTOR)
    assert view.clock == "over_budget" and view.crosscheck_state == "over_budget"
    assert view.crosscheck == pytest.approx((2.9975, 3.0035))
    assert view.disagreement == 0.0
    assert view.problems == ["clock over budget", "cross-check over budget"]


def test_a_claim_the_cross_check_contradicts_is_flagged_with_the_gap() -> None:
    # The agent says all is well; the collector sees the clock 3 s ahead (a lying or broken agent).
    record = host(T, claim(0.0001, 0.0006, "ok"), CrossCheck(2.998, 3.003, T))
    view = judge("web-3", record, False, Gaps(), T + S, T, LIMITS, UTC_COLLECTOR)
    assert view.disagreement == pytest.approx(2.9975 - 0.0006)
    assert view.problems == ["cross-check over budget", "claim and cross-check disagree"]


def test_without_the_collectors_own_clock_the_cross_check_cannot_judge() -> None:
    record = host(T, claim(0.0001, 0.0006, "ok"), CrossCheck(2.998, 3.003, T))
    view = judge("web-3", record, False, Gaps(), T + S, T, LIMITS, collector=None)
    assert (view.crosscheck, view.crosscheck_state) == (None, "unknown")
    assert (view.disagreement, view.problems) == (None, [])


@pytest.mark.parametrize(("lo", "hi", "state"), [
    (-0.01, 0.02, "ok"), (-0.05, 0.2, "uncertain"), (0.2, None, "over_budget"), (0.05, None, "uncertain"),
    (-0.5, -0.2, "over_budget"),
])
def test_the_cross_check_against_the_budget(lo: float, hi: float | None, state: str) -> None:
    record = host(T, claim(0.0, 0.001, "ok"), CrossCheck(lo, hi, T))
    view = judge("web-1", record, False, Gaps(), T, T, LIMITS, Interval(0.0, 0.0, 0.0))
    assert view.crosscheck_state == state


def test_the_fleet_lists_reported_and_expected_hosts_with_gaps_per_agent_and_a_summary() -> None:
    tenant = TenantRecord("t-00000001", {
        "web-1": host(T + 3590 * S, claim(0.0, 0.001, "ok")),
        "web-2": host(T + 3500 * S, claim(0.0, 0.001, "ok")),
        "batch-7": host(T + 3599 * S, claim(0.3, 0.31, "over_budget")),
    })
    tenant.hosts["web-2"].agents = {"agent-2": T, "agent-2b": T}
    expected = parse_inventory(["web-1", "web-2", "db-1", "batch-*"])
    gaps = {"agent-2": Gaps(1, 10), "agent-2b": Gaps(2, 5), "someone-else": Gaps(9, 99)}
    views = view_fleet(tenant, expected, gaps, T + 3600 * S, T, LIMITS, None)
    assert [(v.name, v.state, v.expected) for v in views] == [
        ("batch-7", "reporting", True), ("db-1", "missing", True), ("web-1", "reporting", True),
        ("web-2", "silent", True)]
    assert views[3].gaps == Gaps(3, 15)
    assert summarize(views) == {"hosts": 4, "expected": 4, "reporting": 2, "silent": 1, "missing": 1,
                                "over_budget": 1, "clock_unknown": 1, "disagree": 0, "problems": 2}
