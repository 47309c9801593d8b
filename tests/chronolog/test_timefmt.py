from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chronolog.timefmt import BadTime, parse_rfc3339, to_rfc3339

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
