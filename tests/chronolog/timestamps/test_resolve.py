"""The resolver at its edges (issue 16): the fields a format found, one value past each limit
and the limit itself; the year-less branch with an offset; offsets that carry an instant out of
range; impossible dates in zones west of UTC; a time of day without a date and an abbreviated
zone at their limits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chronolog.timefmt import parse_rfc3339
from chronolog.timestamps import abbreviations
from chronolog.timestamps.resolve import MAX_US, Resolver, wall_seconds

H = 3600
US = 1_000_000


def ts(text: str) -> int:
    return parse_rfc3339(text)


@pytest.fixture(autouse=True)
def _abbreviations_uncached() -> Iterator[None]:
    # An abbreviation's meaning is cached per zone and minute for the process: each test here
    # computes its own (a mutation run forks after a clean run and would find its answers).
    abbreviations._CACHE.clear()
    yield


@pytest.mark.parametrize("fields, expected", [
    ((1970, 1, 1, 0, 0, 0), 0),  # the first wall second of all
    ((1970, 1, 2, 0, 0, 0), 86400),
    ((2026, 11, 27, 23, 59, 59), ts("2026-11-27T23:59:59Z") // US),
    ((2026, 11, 27, 23, 59, 60), ts("2026-11-27T23:59:59Z") // US),  # a leap second: held at :59
    ((2026, 11, 27, 24, 0, 0), -1),
    ((2026, 11, 27, 23, 60, 0), -1),
    ((2026, 11, 27, 23, 59, 61), -1),
    ((2026, 2, 29, 0, 0, 0), -1),
    ((1969, 12, 31, 23, 59, 59), -1),
    ((2200, 1, 1, 0, 0, 0), -1),
])
def test_wall_seconds_at_each_limit(fields: tuple[int, ...], expected: int) -> None:
    assert wall_seconds(*fields) == expected


def test_every_field_is_checked_on_its_own() -> None:
    # One field out of range at a time, the others valid: none may hide behind another.
    assert wall_seconds(2026, 11, 27, 24, 0, 0) == -1
    assert wall_seconds(2026, 11, 27, 0, 60, 0) == -1
    assert wall_seconds(2026, 11, 27, 0, 0, 61) == -1


@pytest.mark.parametrize("fields, offset, expected", [
    ((1970, 1, 1, 0, 0, 0), 0, 0),  # the epoch itself is an instant
    ((1970, 1, 1, 0, 0, 0), H, None),  # +01:00: an hour before the epoch
    ((1970, 1, 1, 0, 0, 0), -H, H * US),
    ((2199, 12, 31, 23, 59, 59), 0, MAX_US - US),
    ((2199, 12, 31, 23, 59, 59), -H, None),  # -01:00: past the end of 2199
    ((2026, 2, 30, 12, 0, 0), -5 * H, None),  # no such date, even west of UTC
])
def test_explicit_instants_after_their_offset(fields: tuple[int, ...], offset: int,
                                              expected: int | None) -> None:
    event = Resolver("UTC").explicit(*fields, 0, offset, "raw")
    assert (event.ts if event else None) == expected
    if event:
        assert (event.source, event.raw, event.flags) == ("explicit", "raw", ())


def test_utc_and_local_accept_the_first_instant_and_refuse_the_end() -> None:
    r = Resolver("UTC")
    assert [e.ts if e else None for e in (r.utc(0, 0, "x"), r.utc(-1, 999_999, "x"), r.utc(0, -1, "x"))] == [
        0, None, None]
    end = MAX_US // US
    assert r.utc(end - 1, 999_999, "x") is not None and r.utc(end, 0, "x") is None
    assert r.local(0, 0, "x") is not None and r.local(end, 0, "x") is None and r.local(-1, 0, "x") is None
    assert r.local(end - 1, 999_999, "x") is not None


@pytest.mark.parametrize("zone", ["America/New_York", "America/Los_Angeles", "Pacific/Honolulu"])
def test_an_impossible_date_west_of_utc_is_no_time(zone: str) -> None:
    r = Resolver(zone)
    # Read as wall -1 plus the zone's offset, 30 February would land on a real instant.
    assert r.assumed(2026, 2, 30, 12, 0, 0, 0, "x") is None
    assert r.assumed(1970, 1, 1, 0, 0, 0, 0, "x") is not None  # west of UTC: after the epoch
    assert r.assumed(2026, 11, 27, 24, 0, 0, 0, "x") is None


def test_assumed_accepts_the_first_wall_second_in_utc() -> None:
    event = Resolver("UTC").assumed(1970, 1, 1, 0, 0, 0, 0, "x")
    assert event is not None and (event.ts, event.source) == (0, "assumed_zone")


READ = ts("2026-11-27T09:00:00Z")


@pytest.mark.parametrize("fields, ok", [
    ((11, 27, 8, 0, 0), True),
    ((11, 27, 24, 0, 0), False),  # hour 24
    ((11, 27, 8, 60, 0), False),  # minute 60
    ((11, 27, 8, 0, 61), False),
    ((13, 27, 8, 0, 0), False),
    ((11, 32, 8, 0, 0), False),
    ((0, 27, 8, 0, 0), False),
    ((11, 0, 8, 0, 0), False),
])
def test_yearless_fields_one_past_each_limit(fields: tuple[int, ...], ok: bool) -> None:
    assert (Resolver("UTC").yearless(*fields, 0, None, "x", READ) is not None) is ok


def test_a_yearless_leap_second_is_held_at_59() -> None:
    r = Resolver("UTC")
    leap = r.yearless(11, 27, 8, 59, 60, 5, None, "x", READ)
    assert leap is not None and leap.ts == ts("2026-11-27T08:59:59.000005Z")


@pytest.mark.parametrize("offset, expected", [
    (0, "2026-11-27T08:00:00Z"),
    (9 * H, "2026-11-26T23:00:00Z"),  # +09:00
    (-5 * H, "2026-11-27T13:00:00Z"),  # -05:00: 13:00 UTC is after the read time, within a day
    (-9 * H, "2025-11-27T17:00:00Z"),  # -09:00: 17:00 UTC is past the tolerance of 1 h: last year
])
def test_yearless_with_its_own_offset(offset: int, expected: str) -> None:
    r = Resolver("Asia/Tokyo", future_tolerance=H if offset == -9 * H else 86400.0)
    event = r.yearless(11, 27, 8, 0, 0, 0, offset, "x", READ)
    assert event is not None and event.ts == ts(expected)
    assert (event.source, event.flags) == ("inferred_year", ())


def test_yearless_at_the_start_of_the_epoch() -> None:
    r = Resolver("UTC")
    first = r.yearless(1, 1, 0, 0, 0, 0, None, "x", ts("1970-01-02T00:00:00Z"))
    assert first is not None and first.ts == 0  # 1970-01-01 is day 0, and instant 0
    assert r.yearless(1, 1, 0, 0, 0, 0, H, "x", ts("1970-01-02T00:00:00Z")) is None  # before the epoch
    older = r.yearless(12, 31, 0, 0, 0, 0, None, "x", ts("1971-01-05T00:00:00Z"))
    assert older is not None and older.ts == ts("1970-12-31T00:00:00Z")
    assert r.yearless(12, 31, 0, 0, 0, 0, None, "x", ts("1970-06-01T00:00:00Z")) is None  # 1969


# ---- a time of day without a date (issue 16, from mutation testing) --------------------------

NOON = ts("2026-11-27T12:00:00Z")


@pytest.mark.parametrize("fields, expected", [
    ((23, 59, 59), "2026-11-27T23:59:59Z"),  # within the day's tolerance: today
    ((23, 59, 60), "2026-11-27T23:59:59Z"),  # a leap second: held at :59
    ((24, 0, 0), None),
    ((0, 60, 0), None),
    ((0, 0, 61), None),
    ((24, 60, 61), None),
])
def test_a_time_of_day_one_past_each_limit(fields: tuple[int, int, int], expected: str | None) -> None:
    event = Resolver("UTC").time_of_day(*fields, 0, "x", NOON)
    assert (event.ts if event else None) == (ts(expected) if expected else None)


def test_a_time_of_day_exactly_at_the_future_limit_is_today() -> None:
    r = Resolver("UTC", future_tolerance=60)
    at_limit = r.time_of_day(12, 1, 0, 0, "x", NOON)
    assert at_limit is not None and at_limit.ts == ts("2026-11-27T12:01:00Z")
    past = r.time_of_day(12, 1, 0, 1, "x", NOON)  # a microsecond beyond: yesterday
    assert past is not None and past.ts == ts("2026-11-26T12:01:00.000001Z")


def test_a_time_of_day_at_the_epoch_is_instant_zero() -> None:
    first = Resolver("UTC").time_of_day(0, 0, 0, 0, "x", 5 * US)
    assert first is not None and first.ts == 0


def test_a_time_of_day_rolls_over_midnight_late_in_2199_too() -> None:
    # Late in the range the day number is large: it is taken from the anchor exactly, not near it.
    r = Resolver("UTC")
    r.last_us = ts("2199-06-01T23:00:00Z")
    event = r.time_of_day(0, 30, 0, 0, "x", ts("2199-06-02T01:00:00Z"))
    assert event is not None and event.ts == ts("2199-06-02T00:30:00Z")


def test_a_time_of_day_is_never_put_more_than_a_day_from_the_last_line() -> None:
    # The source's last line is two days ahead of the read time (its clock is): the candidates,
    # the day before it to the day after, are all past the future limit, so there is no date;
    # none is taken from two days before it, even though that one would be within the limit.
    r = Resolver("UTC", future_tolerance=0)
    r.last_us = ts("2026-11-27T00:10:00Z")
    assert r.time_of_day(23, 0, 0, 0, "x", ts("2026-11-25T23:30:00Z")) is None


def test_a_time_of_day_half_a_day_from_the_last_line_is_put_before_it() -> None:
    # 00:00 is twelve hours before and twelve after a last line at noon: the earlier is taken.
    r = Resolver("UTC")
    r.last_us = NOON
    event = r.time_of_day(0, 0, 0, 0, "x", NOON)
    assert event is not None and event.ts == ts("2026-11-27T00:00:00Z")


def test_a_time_of_day_past_the_end_of_2199_is_no_time() -> None:
    r = Resolver("UTC")
    r.last_us = ts("2199-12-31T23:30:00Z")
    assert r.time_of_day(0, 0, 0, 0, "x", r.last_us) is None  # 2200-01-01T00:00:00Z, nearest
    last = r.time_of_day(23, 59, 59, 999_999, "x", r.last_us)
    assert last is not None and last.ts == ts("2199-12-31T23:59:59.999999Z")


def test_an_abbreviation_at_the_first_wall_second_is_instant_zero() -> None:
    first = Resolver("UTC").abbreviated(0, 0, "GMT", "x")
    assert first is not None and first.ts == 0
    assert Resolver("UTC").abbreviated(-1, 0, "GMT", "x") is None


def test_the_sources_zone_decides_what_an_abbreviation_means() -> None:
    # IST is India's, Ireland's or Israel's; in a Dublin source in July, Irish Summer Time.
    wall = wall_seconds(2026, 7, 1, 12, 34, 0)
    event = Resolver("Europe/Dublin").abbreviated(wall, 0, "IST", "x")
    assert event is not None and (event.ts, event.flags) == (ts("2026-07-01T11:34:00Z"), ())


def test_an_abbreviated_instant_outside_the_range_is_no_time() -> None:
    r = Resolver("UTC")
    assert r.abbreviated(0, 0, "CET", "x") is None  # 1970-01-01T00:00 at +01:00: before the epoch
    assert r.abbreviated(MAX_US // US, 0, "GMT", "x") is None  # 2200-01-01T00:00:00Z
    last = r.abbreviated(MAX_US // US - 1, 999_999, "GMT", "x")
    assert last is not None and last.ts == MAX_US - 1


@pytest.mark.parametrize("zone, date, read, abbreviation, expected, flags", [
    # CDT is Cuba's (-04:00) or the central US's (-05:00): a Havana source in July means Cuba's.
    ("America/Havana", (7, 1, 12, 36), "2026-07-02", "CDT", "2026-07-01T16:36:00Z", ()),
    # Dublin went to IST (+01:00) on 29 March 2026: a line of that day in IST is Irish Summer
    # Time, not India's (+05:30; read as of the 28th it was, 4.5 h early and flagged).
    ("Europe/Dublin", (3, 29, 12, 39), "2026-03-31", "IST", "2026-03-29T11:39:00Z", ()),
    # 29 February read in 2026 is read as of the 28th (winter: GMT), not of 1970 (when IST was
    # Dublin's time all year): IST is not Dublin's then, so the table's first meaning, flagged.
    ("Europe/Dublin", (2, 29, 12, 37), "2026-03-01", "IST", "2024-02-29T07:07:00Z", ("zone_ambiguous",)),
], ids=["Havana", "Dublin 29 March", "Dublin 29 February"])
def test_a_yearless_abbreviation_is_read_in_the_sources_zone_on_its_day_of_the_read_year(
        zone: str, date: tuple[int, int, int, int], read: str, abbreviation: str, expected: str,
        flags: tuple[str, ...]) -> None:
    event = Resolver(zone).yearless(*date, 0, 0, None, "x", ts(f"{read}T00:00:00Z"), abbreviation)
    assert event is not None and (event.ts, event.flags) == (ts(expected), flags)


def test_a_yearless_abbreviation_is_read_at_its_own_time_of_day_around_a_dst_change() -> None:
    # Chicago, 1 November 2026: CDT until 02:00, then CST; 01:00-01:59 is both.
    r = Resolver("America/Chicago")
    read = ts("2026-11-02T00:00:00Z")
    std = r.yearless(11, 1, 1, 10, 0, 0, None, "x", read, "CST")
    assert std is not None and (std.ts, std.flags) == (ts("2026-11-01T07:10:00Z"), ())
    dst = r.yearless(10, 31, 23, 10, 0, 0, None, "x", read, "CDT")
    assert dst is not None and (dst.ts, dst.flags) == (ts("2026-11-01T04:10:00Z"), ())


def test_the_same_abbreviation_at_the_same_minute_means_what_each_sources_zone_says() -> None:
    read = ts("2026-07-02T00:00:00Z")
    havana = Resolver("America/Havana").yearless(7, 1, 12, 38, 0, 0, None, "x", read, "CDT")
    chicago = Resolver("America/Chicago").yearless(7, 1, 12, 38, 0, 0, None, "x", read, "CDT")
    assert havana is not None and havana.ts == ts("2026-07-01T16:38:00Z")
    assert chicago is not None and chicago.ts == ts("2026-07-01T17:38:00Z")


def test_a_yearless_abbreviation_on_a_date_no_year_has_is_no_time() -> None:
    # IST is ambiguous in a UTC source (flagged when it is a time): 30 February is none.
    assert Resolver("UTC").yearless(2, 30, 12, 0, 0, 0, None, "x", ts("2026-03-01T00:00:00Z"), "IST") is None
