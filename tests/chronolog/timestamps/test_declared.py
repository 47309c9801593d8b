"""Declared strftime-style formats: compiled once, read as strftime wrote them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import pytz
from hypothesis import given, settings
from hypothesis import strategies as st
from support.timestamps import ZONES, oracle, us

from chronolog.timefmt import parse_rfc3339, to_rfc3339
from chronolog.timestamps import FormatError, Normalizer, compile_format

READ = parse_rfc3339("2026-11-27T12:00:00+09:00")


def read(fmt: str, line: str, zone: str = "Asia/Tokyo") -> tuple[str, str, str | None]:
    event = Normalizer(zone, format=fmt).normalize(line, READ)
    return to_rfc3339(event.ts, "Asia/Tokyo"), event.source, event.raw


def test_a_declared_format_reads_after_any_prefix() -> None:
    assert read("%d.%m.%Y %H:%M:%S", "job-42 | 27.11.2026 09:14:03 | done") == (
        "2026-11-27T09:14:03.000000+09:00", "assumed_zone", "27.11.2026 09:14:03")


def test_us_dates_with_am_pm_which_detection_does_not_guess() -> None:
    assert read("%m/%d/%Y %I:%M:%S %p", "11/27/2026 9:14:03 PM Service started")[0] == \
        "2026-11-27T21:14:03.000000+09:00"
    assert read("%m/%d/%Y %I:%M:%S %p", "11/27/2026 12:14:03 AM midnight")[0] == \
        "2026-11-27T00:14:03.000000+09:00"


def test_a_declared_offset_is_explicit_and_a_missing_year_is_inferred() -> None:
    assert read("%Y%m%d %H%M%S%z", "20261127 001403+0000 x")[:2] == \
        ("2026-11-27T09:14:03.000000+09:00", "explicit")
    assert read("%b %e %T", "Nov  7 09:14:03 x")[:2] == ("2026-11-07T09:14:03.000000+09:00", "inferred_year")
    assert read("%s.%f", "ts=1795739643.5 x")[:2] == ("2026-11-27T09:34:03.500000+09:00", "explicit")


def test_a_declared_format_replaces_detection() -> None:
    # An ISO line is not read with a declared format that does not match it.
    assert read("%d/%m/%Y %H:%M", "2026-11-27T00:14:03Z x") == \
        ("2026-11-27T12:00:00.000000+09:00", "read_time", None)


@pytest.mark.parametrize(("fmt", "message"), [
    ("", "empty"),
    ("%Y-%m-%d %H:%M:%Q", "unknown directive %Q"),
    ("%Y-%m-%d %H:%M:%S %", "unknown directive a lone %"),
    ("%H:%M:%S", "missing a month (%m, %b or %B) and a day (%d or %e)"),
    ("%Y-%m-%d", "missing an hour"),
    ("%m/%d %I:%M", "AM/PM (%p)"),
    ("%Y-%m-%d %H:%M %d", "%d repeats"),
    ("%b %m %d %H:%M", "%m repeats"),
])
def test_an_unusable_format_is_refused_with_what_is_wrong(fmt: str, message: str) -> None:
    with pytest.raises(FormatError, match=re.escape(message)):
        compile_format(fmt)


def test_a_literal_percent_and_regex_characters_are_matched_literally() -> None:
    assert read("(%Y-%m-%d %H:%M:%S) 100%%", "(2026-11-27 09:14:03) 100% x")[1] == "assumed_zone"
    assert read("(%Y-%m-%d %H:%M:%S) 100%%", "[2026-11-27 09:14:03] 100% x")[1] == "read_time"


@settings(max_examples=150)
@given(
    fmt=st.sampled_from([
        "%Y-%m-%d %H:%M:%S.%f", "%d/%b/%Y:%H:%M:%S", "%A, %d %B %Y %I:%M:%S %p", "%y%m%d-%H%M%S",
        "[%F %T]", "%a %b %d %H:%M:%S %Y",
    ]),
    zone=st.sampled_from(ZONES),
    wall=st.datetimes(dt.datetime(1971, 1, 2), dt.datetime(2068, 12, 30)),
)
def test_what_strftime_writes_reads_back(fmt: str, zone: str, wall: dt.datetime) -> None:
    if "%f" not in fmt:
        wall = wall.replace(microsecond=0)
    expected, flags = oracle(wall, zone)
    event = Normalizer(zone, format=fmt).normalize(wall.strftime(fmt) + " message", READ)
    assert (event.ts, event.source, event.flags) == (expected, "assumed_zone", flags)


@settings(max_examples=100)
@given(zone=st.sampled_from(ZONES),
       when=st.datetimes(dt.datetime(1971, 1, 2), dt.datetime(2199, 12, 30), timezones=st.just(dt.UTC)))
def test_what_strftime_writes_with_an_offset_reads_back_as_the_instant(zone: str, when: dt.datetime) -> None:
    when = when.replace(microsecond=0)
    line = when.astimezone(pytz.timezone(zone)).strftime("%Y-%m-%dT%H:%M:%S%z x")
    event = Normalizer("UTC", format="%Y-%m-%dT%H:%M:%S%z").normalize(line, READ)
    assert (event.ts, event.source) == (us(when), "explicit")
