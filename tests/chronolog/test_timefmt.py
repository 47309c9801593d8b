from __future__ import annotations

import datetime as dt

import pytest
import pytz
from hypothesis import given
from hypothesis import strategies as st

from chronolog.timefmt import BadTime, civil_from_days, parse_rfc3339, rfc3339_renderer, to_rfc3339

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


@given(st.lists(st.integers(min_value=-2_000_000_000 * 10**6, max_value=4_102_444_800 * 10**6), max_size=50),
       st.sampled_from([*ZONES, "Australia/Lord_Howe", "Pacific/Chatham", "America/St_Johns"]))
def test_the_fast_renderer_writes_exactly_what_to_rfc3339_writes(instants: list[int], zone: str) -> None:
    render = rfc3339_renderer(zone)
    assert [render(ts) for ts in instants] == [to_rfc3339(ts, zone) for ts in instants]


@given(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=20), st.sampled_from(ALL_ZONES))
def test_the_fast_renderer_agrees_for_any_64_bit_instant_in_any_zone(instants: list[int], zone: str) -> None:
    render = rfc3339_renderer(zone)
    assert [render(ts) for ts in instants] == [to_rfc3339(ts, zone) for ts in instants]


def test_the_fast_renderer_across_a_transition_hour() -> None:
    # New York's 2026 spring-forward (07:00 UTC) and Lord Howe's half-hour one, at 15:30 UTC:
    # mid-hour, so that hour is rendered the slow way.
    render = rfc3339_renderer("America/New_York")
    step = 60 * 10**6
    start = 1_772_953_200 * 10**6 - 90 * step  # 2026-03-08 05:30 UTC
    assert [render(start + i * step) for i in range(180)] == [
        to_rfc3339(start + i * step, "America/New_York") for i in range(180)]
    lord_howe = rfc3339_renderer("Australia/Lord_Howe")
    start = 1_791_041_400 * 10**6 - 90 * step  # around 2026-10-03 15:30 UTC
    assert [lord_howe(start + i * step) for i in range(180)] == [
        to_rfc3339(start + i * step, "Australia/Lord_Howe") for i in range(180)]
