"""Year inference: the year closest to the read time, never more than the tolerance after it."""

from __future__ import annotations

import datetime as dt

import pytest
import pytz
from hypothesis import assume, given
from hypothesis import strategies as st
from support.timestamps import ZONES, oracle, us

from chronolog.timefmt import parse_rfc3339, to_rfc3339
from chronolog.timestamps import Normalizer

DAY_US = 86400 * 1_000_000


def inferred(line: str, read: str, zone: str = "Asia/Tokyo", tolerance: float = 86400.0) -> str:
    event = Normalizer(zone, tolerance).normalize(line, parse_rfc3339(read))
    assert event.source == "inferred_year"
    return to_rfc3339(event.ts, zone)


def test_dec_31_read_on_jan_1_is_last_year() -> None:
    assert inferred("Dec 31 23:59:59 host x", "2027-01-01T00:00:05+09:00") == \
        "2026-12-31T23:59:59.000000+09:00"


def test_jan_1_read_on_dec_31_within_the_tolerance_is_next_year() -> None:
    # The writer's clock is a few minutes ahead of the reader's, across New Year.
    assert inferred("Jan  1 00:03:00 host x", "2026-12-31T23:58:00+09:00") == \
        "2027-01-01T00:03:00.000000+09:00"


def test_a_clock_hours_ahead_keeps_the_current_year() -> None:
    assert inferred("Nov 27 15:00:00 host x", "2026-11-27T09:00:00+09:00") == \
        "2026-11-27T15:00:00.000000+09:00"


def test_past_the_tolerance_it_is_last_year() -> None:
    assert inferred("Nov 29 09:00:01 host x", "2026-11-27T09:00:00+09:00") == \
        "2025-11-29T09:00:01.000000+09:00"
    # A wider tolerance takes it as this year.
    assert inferred("Nov 29 09:00:01 host x", "2026-11-27T09:00:00+09:00",
                    tolerance=3 * 86400) == "2026-11-29T09:00:01.000000+09:00"


def test_zero_tolerance_never_puts_an_event_after_the_read_time() -> None:
    assert inferred("Nov 27 09:00:01 host x", "2026-11-27T09:00:00+09:00", tolerance=0) == \
        "2025-11-27T09:00:01.000000+09:00"


def test_february_29_goes_back_to_the_last_leap_year() -> None:
    assert inferred("Feb 29 12:00:00 host x", "2027-03-01T00:00:00+09:00") == \
        "2024-02-29T12:00:00.000000+09:00"


def test_the_year_is_taken_in_the_source_zone() -> None:
    # 2027-01-01T00:30 in Tokyo is still 2026-12-31 in New York: a New York "Dec 31" line is
    # this New York year, 2026.
    assert inferred("Dec 31 10:00:00 x", "2027-01-01T00:30:00+09:00", zone="America/New_York") == \
        "2026-12-31T10:00:00.000000-05:00"


def test_an_inferred_year_still_follows_the_dst_rules() -> None:
    read = parse_rfc3339("2026-11-27T00:00:00Z")
    event = Normalizer("America/New_York").normalize("Nov  1 01:30:00 x", read)
    assert (to_rfc3339(event.ts, "America/New_York"), event.source, event.flags) == (
        "2026-11-01T01:30:00.000000-04:00", "inferred_year", ("dst_ambiguous",))


@pytest.mark.parametrize("tolerance", [-1.0, 181 * 86400.0])
def test_a_tolerance_outside_zero_to_half_a_year_is_refused(tolerance: float) -> None:
    with pytest.raises(ValueError, match="future_tolerance"):
        Normalizer("UTC", tolerance)


@given(zone=st.sampled_from(ZONES),
       read=st.datetimes(dt.datetime(1972, 1, 1), dt.datetime(2190, 1, 1), timezones=st.just(dt.UTC)),
       back=st.integers(0, 362 * 86400), tolerance=st.integers(0, 30 * 86400))
def test_any_event_within_a_year_before_read_plus_tolerance_gets_its_own_year(
        zone: str, read: dt.datetime, back: int, tolerance: int) -> None:
    read_us = us(read)
    event_utc = read + dt.timedelta(seconds=tolerance - back)
    wall = event_utc.astimezone(pytz.timezone(zone)).replace(tzinfo=None, microsecond=0)
    expected, flags = oracle(wall, zone)
    assume(not flags)  # an overlap's second pass reads as the first: a documented choice
    line = wall.strftime("%b %d %H:%M:%S host app: x")
    event = Normalizer(zone, tolerance).normalize(line, read_us)
    assert (event.ts, event.source) == (expected, "inferred_year")
    assert expected <= read_us + tolerance * 1_000_000
