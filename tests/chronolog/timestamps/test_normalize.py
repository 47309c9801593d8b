"""The dispatcher: what it finds in a line, what it caches, and that it never fails."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chronolog.timefmt import parse_rfc3339, to_rfc3339
from chronolog.timestamps import TS_SOURCES, Normalizer

READ = parse_rfc3339("2026-11-27T12:00:00+09:00")


def norm(line: str, zone: str = "Asia/Tokyo") -> tuple[str, str, str | None, tuple[str, ...]]:
    event = Normalizer(zone).normalize(line, READ)
    return to_rfc3339(event.ts, "Asia/Tokyo"), event.source, event.raw, event.flags


def test_rfc3339_with_offset_is_explicit() -> None:
    assert norm("2026-11-27T00:14:03.118+00:00 GET /") == (
        "2026-11-27T09:14:03.118000+09:00", "explicit", "2026-11-27T00:14:03.118+00:00", ())


@pytest.mark.parametrize("line", [
    "2026-11-27 00:14:03,118Z worker done",
    "2026-11-27T00:14:03.118000000Z nanoseconds",
    "2026-11-27T09:14:03.118+0900 compact offset",
])
def test_iso_variants_with_offset(line: str) -> None:
    assert norm(line)[0] == "2026-11-27T09:14:03.118000+09:00"
    assert norm(line)[1] == "explicit"


def test_no_offset_assumes_the_source_zone() -> None:
    ts, source, raw, flags = norm("2026-11-27 09:14:03,118 INFO x", zone="America/New_York")
    assert (ts, source, raw, flags) == (
        "2026-11-27T23:14:03.118000+09:00", "assumed_zone", "2026-11-27 09:14:03,118", ())


def test_new_york_fall_back_overlap_takes_the_earlier_instant_and_flags_it() -> None:
    ts, source, _, flags = norm("2026-11-01 01:30:00 x", zone="America/New_York")
    assert to_rfc3339(parse_rfc3339(ts), "America/New_York") == "2026-11-01T01:30:00.000000-04:00"
    assert (source, flags) == ("assumed_zone", ("dst_ambiguous",))


def test_new_york_spring_forward_gap_lands_after_it_and_is_flagged() -> None:
    ts, _, _, flags = norm("2026-03-08 02:30:00 x", zone="America/New_York")
    assert to_rfc3339(parse_rfc3339(ts), "America/New_York") == "2026-03-08T03:30:00.000000-04:00"
    assert flags == ("dst_nonexistent",)


def test_lord_howe_half_hour_gap_and_overlap() -> None:
    # Lord Howe moves 30 minutes: 02:00 -> 02:30 on 2026-10-04, 02:00 -> 01:30 on 2026-04-05.
    ts, _, _, flags = norm("2026-10-04 02:15:00 x", zone="Australia/Lord_Howe")
    assert flags == ("dst_nonexistent",)
    assert to_rfc3339(parse_rfc3339(ts), "Australia/Lord_Howe") == "2026-10-04T02:45:00.000000+11:00"
    ts, _, _, flags = norm("2026-04-05 01:45:00 x", zone="Australia/Lord_Howe")
    assert flags == ("dst_ambiguous",)
    assert to_rfc3339(parse_rfc3339(ts), "Australia/Lord_Howe") == "2026-04-05T01:45:00.000000+11:00"


@pytest.mark.parametrize("line", ["no timestamp", "", "2026-02-30T10:00:00Z impossible date",
                                  "2026-11-27T25:00:00Z bad hour", "12345"])
def test_no_usable_timestamp_uses_the_read_time(line: str) -> None:
    event = Normalizer("UTC").normalize(line, READ)
    assert (event.ts, event.source, event.raw) == (READ, "read_time", None)


@pytest.mark.parametrize(("line", "raw"), [
    ("/var/log/app-20261127.log:2026-11-27T09:14:03Z from grep", "2026-11-27T09:14:03Z"),
    ("000123 2026-11-27 09:14:03,118 seq number first", "2026-11-27 09:14:03,118"),
    ("[worker-7] [2026-11-27 09:14:03] bracketed", "2026-11-27 09:14:03"),
    ("12345 Nov 27 09:14:03 host app: sequence number before syslog", "Nov 27 09:14:03"),
    ("app.log.2026-11-26 Nov 27 09:14:03 host app: a date-like file name", "Nov 27 09:14:03"),
    ("Nov 27 09:14:03 host app: request of 2026-01-01T00:00:00Z retried", "Nov 27 09:14:03"),
])
def test_the_event_time_is_found_after_a_prefix_and_before_times_in_the_message(line: str, raw: str) -> None:
    assert Normalizer("Asia/Tokyo").normalize(line, READ).raw == raw


def test_the_detected_format_is_kept_for_the_source() -> None:
    normalizer = Normalizer("Asia/Tokyo")
    normalizer.normalize("Nov 27 09:14:03 host app: 2026-01-01T00:00:00Z in the message", READ)
    assert normalizer.last_format == "rfc3164"
    # A line holding both: the source's format wins, though the ISO time comes first here.
    event = normalizer.normalize("2026-01-01T00:00:00Z Nov 27 09:14:04 odd line", READ)
    assert (event.raw, normalizer.last_format) == ("Nov 27 09:14:04", "rfc3164")
    # When the cached format stops matching, detection runs again and the new one is kept.
    assert normalizer.normalize("2026-11-27T00:14:05Z switched", READ).raw == "2026-11-27T00:14:05Z"
    assert normalizer.last_format == "iso8601"
    assert normalizer.normalize("no time at all", READ).source == "read_time"
    assert normalizer.last_format is None
    normalizer.normalize("x 2026-01-01T00:00:00Z Nov 27 09:14:06 y", READ)
    assert normalizer.last_format == "iso8601"


@given(st.text(max_size=600))
def test_any_text_gives_a_time_and_a_known_source(line: str) -> None:
    event = Normalizer("America/New_York").normalize(line, READ)
    assert isinstance(event.ts, int) and event.ts >= 0
    assert event.source in TS_SOURCES
    assert (event.raw is None) == (event.source == "read_time")
    assert event.raw is None or event.raw in line


@given(st.binary(max_size=600))
def test_binary_and_invalid_utf8_decoded_as_the_agent_does_never_fail(data: bytes) -> None:
    line = data.decode("utf-8", "backslashreplace")
    event = Normalizer("Australia/Lord_Howe").normalize(line, READ)
    assert event.source in TS_SOURCES


def test_random_bytes_in_bulk_never_fail() -> None:
    normalizer = Normalizer("America/New_York")
    for _ in range(2000):
        line = os.urandom(300).decode("utf-8", "backslashreplace")
        assert normalizer.normalize(line, READ).ts >= 0


@pytest.mark.parametrize("line", [
    "x" * (1 << 20),
    "9" * (1 << 20),
    "2026-11-27" * (1 << 17),
    "Nov 27 " * (1 << 17),
    '{"ts":"' + "1" * (1 << 20),
])
def test_a_one_megabyte_line_without_a_timestamp_gets_the_read_time(line: str) -> None:
    event = Normalizer("UTC").normalize(line, READ)
    assert (event.ts, event.source) == (READ, "read_time")


def test_a_one_megabyte_line_with_a_timestamp_gets_it() -> None:
    event = Normalizer("UTC").normalize("2026-11-27T00:14:03Z " + "x" * (1 << 20), READ)
    assert (event.source, event.raw) == ("explicit", "2026-11-27T00:14:03Z")


def test_a_timestamp_past_the_search_window_is_not_looked_for() -> None:
    assert Normalizer("UTC").normalize("x" * 600 + " 2026-11-27T00:14:03Z", READ).source == "read_time"


def test_a_timestamp_cut_by_the_search_window_is_read_whole() -> None:
    line = "x" * 483 + " 2026-11-27T00:14:03.123456789Z"  # the window ends inside the fraction
    event = Normalizer("Asia/Tokyo").normalize(line, READ)
    assert (to_rfc3339(event.ts, "UTC"), event.source) == ("2026-11-27T00:14:03.123456+00:00", "explicit")


def test_a_known_layout_is_found_past_the_first_512_characters() -> None:
    normalizer = Normalizer("UTC")
    normalizer.normalize("2026-11-27T00:14:02Z first line: the source writes ISO 8601", READ)
    event = normalizer.normalize("x" * 600 + " 2026-11-27T00:14:03Z after a long prefix", READ)
    assert (event.source, event.raw) == ("explicit", "2026-11-27T00:14:03Z")
    learned = Normalizer("UTC")
    learned.normalize("[11.27 00:14:02] proxy open", READ)
    event = learned.normalize("[" + "y" * 700 + "] [11.27 00:14:03] proxy close", READ)
    assert (event.raw, event.flags) == ("11.27 00:14:03", ("learned",))
