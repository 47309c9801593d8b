"""Fields written without padding (Java's ``yyyyMd-H:m:s:S``, as HealthApp writes), milliseconds
counted after a colon, and times a layout must not stop in the middle of. Expected instants
come from `datetime` and `zoneinfo`, never from the engine."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from chronolog.timefmt import parse_rfc3339
from chronolog.timestamps import Normalizer, compile_format
from chronolog.timestamps.event import EventTime

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def at(*fields: int, zone: dt.tzinfo = SHANGHAI) -> int:
    """µs since the epoch of a wall time in ``zone`` (the last field is milliseconds)."""
    *wall, millis = fields
    delta = dt.datetime(*wall, tzinfo=zone) - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + millis * 1000


def read_all(lines: list[str], read: str, zone: str = "Asia/Shanghai",
             normalizer: Normalizer | None = None) -> list[EventTime]:
    normalizer = normalizer or Normalizer(zone)
    read_us = parse_rfc3339(read)
    return [normalizer.normalize(line, read_us) for line in lines]


def test_unpadded_minutes_and_seconds_are_read() -> None:
    events = read_all(["2024-05-15 17:4:2 x", "2024-5-3 7:04:02 y"], "2024-06-01T00:00:00Z", "UTC")
    assert [e.ts for e in events] == [at(2024, 5, 15, 17, 4, 2, 0, zone=dt.UTC),
                                      at(2024, 5, 3, 7, 4, 2, 0, zone=dt.UTC)]
    assert all(e.source == "assumed_zone" and "learned" in e.flags for e in events)


def test_healthapp_lines_as_written_unpadded_fields_and_millisecond_counts() -> None:
    # Real lines of loghub's HealthApp (zone: the epoch counts in its messages say +08:00).
    lines = [
        "20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579",
        "20171223-22:15:34:851|Step_LSC|30002312|onExtend:1514038535000 1 0 4",
        "20171223-22:15:35:11|Step_SPUtils|30002312| getTodayTotalDetailSteps = 1514038440000##7015##5483",
        "20171223-22:15:35:96|Step_StandReportReceiver|30002312|onReceive action: android.intent.SCREEN_ON",
        "20171223-22:15:35:104|Step_ExtSDM|30002312|calculateCaloriesWithCache totalCalories=126989",
        "20171224-0:0:1:234|Step_SPUtils|30002312|setDiffTotalSteps=8874",
        "20171224-0:9:35:148|Step_LSC|30002312|onExtend:1514045375000 0 0 0",
        "20171224-0:12:1:23|Step_LSC|30002312|processHandleBroadcastAction action:android.intent.action.TIME",
        "20171224-0:28:0:83|Step_LSC|30002312|processHandleBroadcastAction action:android.intent.action.TIME",
    ]
    expected = [
        at(2017, 12, 23, 22, 15, 29, 606), at(2017, 12, 23, 22, 15, 34, 851),
        at(2017, 12, 23, 22, 15, 35, 11),
        at(2017, 12, 23, 22, 15, 35, 96), at(2017, 12, 23, 22, 15, 35, 104), at(2017, 12, 24, 0, 0, 1, 234),
        at(2017, 12, 24, 0, 9, 35, 148), at(2017, 12, 24, 0, 12, 1, 23), at(2017, 12, 24, 0, 28, 0, 83),
    ]
    events = read_all(lines, "2018-01-05T00:00:00Z")
    assert [e.ts for e in events] == expected
    assert {e.flags for e in events} == {("learned",)}


def test_a_colon_fraction_counts_milliseconds_and_a_dot_fraction_is_decimal() -> None:
    lines = ["2026-11-27 09:14:03:6 a", "2026-11-27 09:14:03:61 b", "2026-11-27 09:14:03:610 c",
             "2026-11-27 09:14:03.6 d", "2026-11-27 09:14:03,61 e"]
    events = read_all(lines, "2026-11-28T00:00:00Z", "UTC")
    assert [e.ts - at(2026, 11, 27, 9, 14, 3, 0, zone=dt.UTC) for e in events] == [
        6_000, 61_000, 610_000, 600_000, 610_000]
    # A learned layout the same way (a family claims none of these).
    events = read_all(["27.11.2026 9:14:3:6 a", "27.11.2026 9:14:3.6 b"], "2026-11-28T00:00:00Z", "UTC")
    assert [e.ts - at(2026, 11, 27, 9, 14, 3, 0, zone=dt.UTC) for e in events] == [6_000, 600_000]


def test_a_layout_never_stops_in_the_middle_of_a_time() -> None:
    # Formats ending at the minutes do not match where seconds follow ...
    assert compile_format("%Y%m%d-%H:%M").pattern.search("20171224-0:12:1:23|x") is None
    assert compile_format("%Y-%m-%d %H:%M").pattern.search("2026-11-27 09:14 x") is not None
    # ... nor a learned one ending at the seconds where a fraction follows, nor a 24-hour one
    # before AM/PM.
    learned = compile_format("%d.%m.%Y %H:%M:%S", strict=True)
    assert learned.pattern.search("27.11.2026 09:14:03:118 x") is None
    assert learned.pattern.search("27.11.2026 09:14:03.5 x") is None
    assert learned.pattern.search("27.11.2026 09:14:03 PM x") is None
    assert learned.pattern.search("27.11.2026 09:14:03 pm1 x") is not None  # a host
    # A source settled on such a layout (as a restart restores it) reads on with a whole one.
    stale = Normalizer("Asia/Shanghai", learned=["%Y%m%d-%H:%M"])
    events = read_all(["20171224-0:12:1:23|Step_LSC|1|x"], "2018-01-05T00:00:00Z", normalizer=stale)
    assert events[0].ts == at(2017, 12, 24, 0, 12, 1, 23)
    stale = Normalizer("UTC", learned=["%d.%m.%Y %H:%M:%S"])
    events = read_all(["27.11.2026 09:14:03 PM x", "27.11.2026 09:14:04.25 y"], "2026-11-28T00:00:00Z",
                      normalizer=stale)
    assert [e.ts for e in events] == [at(2026, 11, 27, 21, 14, 3, 0, zone=dt.UTC),
                                      at(2026, 11, 27, 9, 14, 4, 250, zone=dt.UTC)]


def test_a_learned_layout_without_a_zone_does_not_read_a_line_with_one_as_local_time() -> None:
    lines = ["27.11.2026 09:14:03 x", "27.11.2026 09:14:04 +0900 y", "27.11.2026 09:14:05 JST z",
             "27.11.2026 09:14:06Z w", "27.11.2026 09:14:07 INFO v"]
    events = read_all(lines, "2026-11-28T00:00:00Z", "UTC")
    assert [e.ts for e in events] == [at(2026, 11, 27, *hms, 0, zone=dt.UTC) for hms in (
        (9, 14, 3), (0, 14, 4), (0, 14, 5), (9, 14, 6), (9, 14, 7))]


def test_a_csv_field_after_the_seconds_is_no_fraction() -> None:
    lines = ["10,11/27/26,09:14:03,5,6", "10,11/27/26,09:14:04,7,8"]  # Windows DHCP-like
    events = read_all(lines, "2026-11-28T00:00:00Z", "UTC")
    assert [e.ts for e in events] == [at(2026, 11, 27, 9, 14, s, 0, zone=dt.UTC) for s in (3, 4)]


def test_a_learned_layout_without_a_year_does_not_read_the_end_of_a_longer_date() -> None:
    # Proxifier's month.day: a line with the year is read with it, not as this year's.
    events = read_all(["[10.30 16:49:06] chrome.exe - open", "[2024.10.30 16:49:07] chrome.exe - close"],
                      "2026-11-27T12:00:00Z", "UTC")
    assert [e.ts for e in events] == [at(2026, 10, 30, 16, 49, 6, 0, zone=dt.UTC),
                                      at(2024, 10, 30, 16, 49, 7, 0, zone=dt.UTC)]
    # logback's time of day: a line with a whole date is read with it.
    events = read_all(["09:14:03.118 [main] INFO a", "2024-11-27 09:14:04.118 [main] INFO b"],
                      "2026-11-28T12:00:00Z", "UTC")
    assert events[1].ts == at(2024, 11, 27, 9, 14, 4, 118, zone=dt.UTC)


@pytest.mark.parametrize("line", ["2026-11-27 09:14:03 PM x", "2026/11/27 09:14:03 PM x",
                                  "27 Nov 2026 09:14:03 PM x", "2026-11-27 09:14:03 PM+0000 x",
                                  # .NET in es-MX and en-CA
                                  "27/11/2026 09:14:03 p. m. x", "2026-11-27 09:14:03 p.m. x"])
def test_a_12_hour_time_is_not_read_as_24_hours(line: str) -> None:
    event = read_all([line], "2026-11-28T00:00:00Z", "UTC")[0]
    assert event.ts == at(2026, 11, 27, 21, 14, 3, 0, zone=dt.UTC)


def test_padded_and_unpadded_renderings_of_one_layout_settle_on_one() -> None:
    normalizer = Normalizer("UTC")
    lines = ["27.11.2026 9:4:5 a", "27.11.2026 09:04:06 b", "27.11.2026 9:04:7 c", "27.11.2026 09:4:08 d"]
    events = read_all(lines, "2026-11-28T00:00:00Z", normalizer=normalizer)
    assert [e.ts for e in events] == [at(2026, 11, 27, 9, 4, s, 0, zone=dt.UTC) for s in (5, 6, 7, 8)]
    assert normalizer.learned_layouts() == ["%d.%m.%Y %H:%M:%S"]
    assert normalizer.cached is not None and normalizer.cached.layout == "%d.%m.%Y %H:%M:%S"


def test_an_unpadded_date_after_a_padded_one_takes_the_date_the_lines_are_at() -> None:
    normalizer = Normalizer("Asia/Shanghai")
    lines = ["20171231-23:59:59:999|a|1|x", "201811-0:0:0:190|a|1|x", "201819-23:0:0:1|a|1|x",
             "2018110-1:0:0:2|a|1|x", "2018111-1:0:0:3|a|1|x", "2018121-1:0:0:4|a|1|x",
             "20180201-1:0:0:5|a|1|x"]
    events = read_all(lines, "2019-06-01T00:00:00Z", normalizer=normalizer)
    # 2018111 is 11 January or 1 November, 2018121 21 January or 1 December: the lines before
    # are in January.
    assert [e.ts for e in events] == [
        at(2017, 12, 31, 23, 59, 59, 999), at(2018, 1, 1, 0, 0, 0, 190), at(2018, 1, 9, 23, 0, 0, 1),
        at(2018, 1, 10, 1, 0, 0, 2), at(2018, 1, 11, 1, 0, 0, 3), at(2018, 1, 21, 1, 0, 0, 4),
        at(2018, 2, 1, 1, 0, 0, 5)]
    assert {e.flags for e in events} == {("learned",)}
    assert normalizer.learned_layouts() == ["%Y%-m%-d-%H:%M:%S:%L"]


def test_an_ambiguous_unpadded_date_with_no_line_before_is_flagged_unless_the_read_time_settles_it() -> None:
    line = "2018111-1:0:0:3|a|1|x"
    # Read long after: 11 January and 1 November 2018 are both in the past.
    old = read_all([line], "2019-06-01T00:00:00Z")[0]
    assert "layout_unsettled" in old.flags
    # Read on 12 January 2018: 1 November is in the future.
    fresh = read_all([line], "2018-01-12T00:00:00Z")[0]
    assert (fresh.ts, fresh.flags) == (at(2018, 1, 11, 1, 0, 0, 3), ("learned",))


def test_six_digits_read_two_ways_are_told_apart_by_the_line_before() -> None:
    # 201211: 11 December 2020 (yymmdd) or 1 January 2012 (yyyyMd); the line before is 2011's.
    normalizer = Normalizer("UTC")
    lines = ["20111231-23:59:59:1|x", "201211-0:0:0:5|x", "201211-0:0:1:5|x"]
    events = read_all(lines, "2021-06-01T00:00:00Z", normalizer=normalizer)
    assert [e.ts for e in events] == [at(2011, 12, 31, 23, 59, 59, 1, zone=dt.UTC),
                                      at(2012, 1, 1, 0, 0, 0, 5, zone=dt.UTC),
                                      at(2012, 1, 1, 0, 0, 1, 5, zone=dt.UTC)]
    assert normalizer.learned_layouts() == ["%Y%-m%-d-%H:%M:%S:%L"]


def test_an_epoch_count_rounded_to_another_second_does_not_win_over_the_line_s_time() -> None:
    # HealthApp's onExtend count is the next whole second: the line's own time is 22:15:35.201.
    line = "20171223-22:15:35:201|Step_LSC|30002312|onExtend:1514038536000 0 0 4"
    event = read_all([line], "2018-01-05T00:00:00Z")[0]
    assert (event.ts, event.raw) == (at(2017, 12, 23, 22, 15, 35, 201), "20171223-22:15:35:201")


@pytest.mark.parametrize(("fmt", "message"), [
    ("%Y%-m%d %H:%M", "%-m next to another number has no width"),
    ("%-H%M %d.%m", "%-H next to another number has no width"),
    ("%Y%-m%-d%H:%M", "%Y%-m%-d next to another number has no width"),
    ("%Y-%m-%d %H:%M:%S.%f:%L", "%L repeats"),
    ("%Y-%m-%d %H:%M:%-Q", "unknown directive %-Q"),
])
def test_unpadded_fields_that_cannot_be_read_are_refused(fmt: str, message: str) -> None:
    from chronolog.timestamps import FormatError
    with pytest.raises(FormatError, match=message):
        compile_format(fmt)


def test_a_declared_unpadded_format_reads_what_java_writes() -> None:
    event = Normalizer("Asia/Shanghai", format="%Y%-m%-d-%-H:%-M:%-S:%-L").normalize(
        "201812-19:39:28:966|Step_StandStepDataManager|30002312|x", parse_rfc3339("2018-01-05T00:00:00Z"))
    assert (event.ts, event.source) == (at(2018, 1, 2, 19, 39, 28, 966), "assumed_zone")
