from __future__ import annotations

import datetime as dt

import pytest
import pytz
from hypothesis import given
from hypothesis import strategies as st

from chronolog.timefmt import BadTime, civil_from_days, parse_rfc3339, to_rfc3339

ZONES = ["Asia/Tokyo", "UTC", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]


def test_renders_in_the_zone_with_offset_and_microseconds() -> None:
    ts = parse_rfc3339("2026-11-27T00:14:03.118Z")
    assert to_rfc3339(ts, "Asia/Tokyo") == "2026-11-27T09:14:03.118000+09:00"
    assert to_rfc3339(ts, "America/New_York") == "2026-11-26T19:14:03.118000-05:00"
    assert to_rfc3339(ts, "Australia/Lord_Howe") == "2026-11-27T11:14:03.118000+11:00"


def test_lord_howe_half_hour_standard_time() -> None:
    ts = parse_rfc3339("2026-07-01T00:00:00Z")
    assert to_rfc3339(ts, "Australia/Lord_Howe").endswith("+10:30")


@given(st.integers(min_value=0, max_value=4_102_444_800 * 10**6), st.sampled_from(ZONES))
def test_rendering_then_parsing_is_the_same_instant(ts: int, zone: str) -> None:
    assert parse_rfc3339(to_rfc3339(ts, zone)) == ts


@given(st.datetimes(min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(2100, 1, 1),
                    timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=9)),
                                               dt.timezone(dt.timedelta(hours=-3, minutes=-30))])))
def test_parse_agrees_with_the_standard_library(when: dt.datetime) -> None:
    expected = round(when.timestamp() * 1e6)
    assert abs(parse_rfc3339(when.isoformat()) - expected) <= 1


@pytest.mark.parametrize("text", ["2026-11-27T09:14:03", "yesterday", "2026-13-01T00:00:00Z", ""])
def test_text_without_an_offset_or_invalid_is_refused(text: str) -> None:
    with pytest.raises(BadTime):
        parse_rfc3339(text)


# ---- every integer renders (issue 16: one stored instant must not break a query) ------------

ALL_ZONES = sorted(pytz.all_timezones)


@given(st.integers(-(2**63), 2**63 - 1), st.sampled_from(ALL_ZONES))
def test_any_64_bit_instant_renders_in_any_zone(ts: int, zone: str) -> None:
    text = to_rfc3339(ts, zone)
    if not text.startswith(("+", "-", "0000")):  # RFC 3339's years, 0001 to 9999
        assert parse_rfc3339(text) == ts
    else:
        assert text.endswith("+00:00")


@pytest.mark.parametrize("ts, zone, expected", [
    # datetime's last day, pushed past its end by the zone's offset: shown in UTC instead
    (parse_rfc3339("9999-12-31T20:00:00Z"), "Asia/Tokyo", "9999-12-31T20:00:00.000000+00:00"),
    (parse_rfc3339("0001-01-01T02:00:00Z"), "America/New_York", "0001-01-01T02:00:00.000000+00:00"),
    (2**63 - 1, "Asia/Tokyo", "+294247-01-10T04:00:54.775807+00:00"),
    (-(2**63), "UTC", "-290308-12-21T19:59:05.224192+00:00"),
    (parse_rfc3339("9999-12-31T23:59:59.999999Z") + 1, "UTC", "+010000-01-01T00:00:00.000000+00:00"),
])
def test_an_instant_the_zone_cannot_show_is_shown_exactly_in_utc(ts: int, zone: str, expected: str) -> None:
    assert to_rfc3339(ts, zone) == expected


@given(st.integers(-719_162, 2_932_896))  # 0001-01-01 to 9999-12-31
def test_civil_from_days_agrees_with_the_standard_library(days: int) -> None:
    d = dt.date(1970, 1, 1) + dt.timedelta(days=days)
    assert civil_from_days(days) == (d.year, d.month, d.day)
