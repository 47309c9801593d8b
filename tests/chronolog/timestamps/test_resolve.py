"""The resolver at its edges (issue 16): the fields a format found, one value past each limit
and the limit itself; the year-less branch with an offset; offsets that carry an instant out of
range; impossible dates in zones west of UTC."""

from __future__ import annotations

import pytest

from chronolog.timefmt import parse_rfc3339
from chronolog.timestamps.resolve import MAX_US, Resolver, wall_seconds

H = 3600
US = 1_000_000


def ts(text: str) -> int:
    return parse_rfc3339(text)


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
