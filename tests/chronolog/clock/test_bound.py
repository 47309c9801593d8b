"""Error-bound arithmetic: intervals, ageing, steps, and combining several servers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chronolog.clock.bound import Interval, combine, status_of


def test_the_bound_is_offset_plus_half_delay_plus_root_distance_plus_drift() -> None:
    # offset -10 ms, delay 4 ms, root delay 2 ms, root dispersion 1 ms, measured 100 s ago
    radius = 0.004 / 2 + (0.002 / 2 + 0.001)
    interval = Interval.around(-0.010, radius, at=1000.0).grown(1100.0, drift_ppm=50)
    assert interval.offset == pytest.approx(-0.010)
    assert interval.bound == pytest.approx(0.010 + 0.002 + 0.002 + 50e-6 * 100)


def test_a_step_moves_the_interval_and_ageing_ignores_the_wall_clock() -> None:
    interval = Interval.around(0.001, 0.002, at=10.0)
    stepped = interval.shifted(+5.0)
    assert (stepped.lo, stepped.hi, stepped.at) == pytest.approx((5.0 - 0.001, 5.0 + 0.003, 10.0))
    assert interval.grown(5.0, 50).bound == interval.bound  # monotonic time never runs back


def test_a_majority_decides_and_the_odd_one_out_is_a_falseticker() -> None:
    good1 = Interval(-0.002, 0.004, 0)
    good2 = Interval(-0.001, 0.003, 0)
    bad = Interval(0.240, 0.260, 0)
    combined = combine([good1, bad, good2])
    assert combined is not None and combined.agreed
    assert combined.truechimers == (0, 2)
    assert (combined.interval.lo, combined.interval.hi) == (-0.001, 0.003)


def test_two_servers_that_disagree_give_the_union_and_no_agreement() -> None:
    combined = combine([Interval(-0.001, 0.001, 0), Interval(0.249, 0.251, 0)])
    assert combined is not None and not combined.agreed
    assert (combined.interval.lo, combined.interval.hi) == (-0.001, 0.251)
    assert combine([]) is None


intervals = st.lists(st.tuples(st.floats(-1, 1), st.floats(0, 0.5)), min_size=1, max_size=7)


@given(intervals, st.floats(-1, 1))
def test_the_result_holds_the_truth_whenever_a_majority_of_servers_hold_it(
        spans: list[tuple[float, float]], truth: float) -> None:
    ivs = [Interval.around(center, radius, 0) for center, radius in spans]
    combined = combine(ivs)
    assert combined is not None
    honest = sum(iv.lo <= truth <= iv.hi for iv in ivs)
    if 2 * honest > len(ivs):
        assert combined.agreed
        assert combined.interval.lo <= truth <= combined.interval.hi
    # never wider than all of them together
    assert combined.interval.lo >= min(iv.lo for iv in ivs)
    assert combined.interval.hi <= max(iv.hi for iv in ivs)


@pytest.mark.parametrize("bound, status", [
    (None, "unknown"), (0.0, "ok"), (0.05, "ok"), (0.0501, "warn"), (0.1, "warn"), (0.1001, "over_budget"),
])
def test_status_against_warn_and_budget(bound: float | None, status: str) -> None:
    assert status_of(bound, warn=0.05, budget=0.1) == status


# ---- the edges (issue 16): touching intervals, disagreement in either direction, the times ----

def test_touching_intervals_overlap_and_agree_on_the_point_they_share() -> None:
    left, right = Interval(-0.002, 0.001, 5.0), Interval(0.001, 0.004, 7.0)
    assert left.overlaps(right) and right.overlaps(left)
    assert left.distance(right) == right.distance(left) == 0.0
    combined = combine([left, right])
    assert combined is not None and combined.agreed
    assert (combined.interval.lo, combined.interval.hi, combined.interval.at) == (0.001, 0.001, 7.0)
    assert combined.truechimers == (0, 1)


def test_a_server_touching_the_majority_at_its_edge_is_a_truechimer() -> None:
    # [0, 2] and [1, 3] agree on [1, 3]'s part [1, 3] with [3, 5] touching it at 3.
    combined = combine([Interval(0, 2, 0), Interval(1, 3, 0), Interval(3, 5, 0)])
    assert combined is not None and combined.agreed
    assert (combined.interval.lo, combined.interval.hi) == (1, 3)
    assert combined.truechimers == (0, 1, 2)
    combined = combine([Interval(3, 5, 0), Interval(1, 3, 0), Interval(-1, 1, 0)])
    assert combined is not None and combined.truechimers == (0, 1, 2)


@pytest.mark.parametrize("a, b, gap", [
    ((0.0, 1.0), (1.5, 2.0), 0.5),  # the other is ahead
    ((1.5, 2.0), (0.0, 1.0), 0.5),  # the other is behind
    ((0.0, 1.0), (0.5, 2.0), 0.0),
    ((-3.0, -2.0), (2.0, 3.0), 4.0),
])
def test_the_distance_between_intervals_whichever_side_the_other_is_on(
        a: tuple[float, float], b: tuple[float, float], gap: float) -> None:
    first, second = Interval(*a, 0), Interval(*b, 0)
    assert first.distance(second) == pytest.approx(gap) == second.distance(first)
    assert first.overlaps(second) is (gap == 0.0)


def test_disagreeing_servers_give_the_union_at_the_newest_time_and_no_truechimer() -> None:
    combined = combine([Interval(-0.001, 0.001, 3.0), Interval(0.249, 0.251, 9.0)])
    assert combined is not None and not combined.agreed
    assert combined.truechimers == () and combined.interval.at == 9.0


def test_an_aged_interval_is_held_at_the_later_time() -> None:
    interval = Interval(-0.001, 0.001, 10.0)
    assert interval.grown(20.0, 50).at == 20.0
    assert interval.grown(5.0, 50).at == 10.0
    assert Interval(-0.003, 0.001, 0).bound == 0.003 and Interval(-0.001, 0.003, 0).bound == 0.003
