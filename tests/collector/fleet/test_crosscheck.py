"""The collector's cross-check of a host clock (pure): every exchange's interval contains the
truth whatever the network's delays, and many exchanges narrow it to about the shortest round
trip; a step of the host clock starts it afresh."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chronolog.clock.bound import Interval
from collector.fleet.crosscheck import CrossCheck, against_utc, exchange_interval

S = 1_000_000  # µs per second
DRIFT = 100.0


def exchange(t: int, skew: float, up: int, server: int, down: int) -> tuple[float, float | None]:
    """One push at true time ``t`` (µs) from a host ``skew`` seconds ahead of the collector:
    ``up`` µs to arrive, ``server`` µs on the collector, ``down`` µs for the answer."""
    sent = t + round(skew * S)
    arrived = t + up
    replied = arrived + server
    answered = replied + down + round(skew * S)
    return exchange_interval(sent, arrived, replied, answered)


def test_one_exchange_is_t1_minus_t2_to_t4_minus_t3() -> None:
    assert exchange_interval(10 * S, 7 * S) == (3.0, None)
    assert exchange_interval(10 * S, 7 * S, 7 * S + 500, 10 * S + 900) == pytest.approx((3.0, 3.0004))


@given(skew=st.floats(-100, 100), up=st.integers(0, 5 * S), server=st.integers(0, S),
       down=st.integers(0, 5 * S))
def test_an_exchange_always_contains_the_true_offset(skew: float, up: int, server: int, down: int) -> None:
    lo, hi = exchange(1_800_000_000 * S, skew, up, server, down)
    assert hi is not None
    assert lo <= skew + 1e-6 and skew - 1e-6 <= hi
    assert hi - lo == pytest.approx((up + down) / S, abs=2e-6)  # the round trip less the server's time


def test_many_exchanges_narrow_it_to_the_shortest_round_trip_and_keep_the_truth() -> None:
    rng = random.Random(7)
    t = 1_800_000_000 * S
    check: CrossCheck | None = None
    for _ in range(200):
        t += S  # a push a second, as from a host with something to say
        up, down = rng.randint(300, 40_000), rng.randint(300, 40_000)  # 0.3 to 40 ms each way
        lo, hi = exchange(t, 3.0, up, 150, down)
        check = CrossCheck.first(lo, hi, t) if check is None else check.narrowed(lo, hi, t, DRIFT)
        assert check.hi is not None and check.lo <= 3.0 <= check.hi
    assert check is not None and check.hi is not None
    assert check.exchanges == 200
    # Far below a single exchange's width (40 ms on average), even aged by the assumed drift
    # (100 ppm: 0.1 ms a second each way).
    assert check.hi - check.lo < 0.01
    assert check.offset == pytest.approx(3.0, abs=0.005)


def test_lower_ends_alone_narrow_from_below_until_an_answer_gives_the_upper_end() -> None:
    t = 1_800_000_000 * S
    check = CrossCheck.first(*exchange_interval(t + 3 * S, t + 20_000), t)
    assert check.hi is None and check.offset is None
    check = check.narrowed(*exchange_interval(t + S + 3 * S, t + S + 1_000), t + S, DRIFT)
    assert check.lo == pytest.approx(2.999, abs=1e-4) and check.hi is None
    check = check.narrowed(2.99, 3.01, t + S, DRIFT)
    assert (check.lo, check.hi) == pytest.approx((2.999, 3.01), abs=1e-4)


def test_a_step_of_the_host_clock_starts_the_estimate_afresh() -> None:
    t = 1_800_000_000 * S
    check = CrossCheck.first(2.999, 3.001, t)
    check = check.narrowed(2.9995, 3.0005, t + 20 * S, DRIFT)
    stepped = check.narrowed(-0.002, 0.002, t + 40 * S, DRIFT)  # the host clock was set right
    assert (stepped.lo, stepped.hi, stepped.exchanges, stepped.since) == (-0.002, 0.002, 1, t + 40 * S)


def test_ageing_widens_by_the_drift() -> None:
    check = CrossCheck(1.0, 1.0, 0, 5, 0)
    aged = check.aged(100 * S, 100.0)  # 100 s at 100 ppm: 10 ms each way
    assert (aged.lo, aged.hi, aged.at) == pytest.approx((0.99, 1.01, 100 * S))


def test_against_utc_adds_the_collectors_own_error() -> None:
    check = CrossCheck(2.998, 3.002, 0)
    assert against_utc(check, None) is None
    assert against_utc(check, Interval(-0.001, 0.003, 0.0)) == pytest.approx((2.997, 3.005))
    half_known = against_utc(CrossCheck(2.998, None, 0), Interval(-0.001, 0.003, 0.0))
    assert half_known == (pytest.approx(2.997), None)
