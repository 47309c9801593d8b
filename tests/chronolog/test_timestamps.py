from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chronolog.timefmt import parse_rfc3339, to_rfc3339
from chronolog.timestamps import Normalizer

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


@given(st.text(max_size=300))
def test_any_text_gives_a_time_and_a_known_source(line: str) -> None:
    event = Normalizer("America/New_York").normalize(line, READ)
    assert isinstance(event.ts, int)
    assert event.source in ("explicit", "assumed_zone", "read_time")


def test_a_one_megabyte_line_is_handled() -> None:
    event = Normalizer("UTC").normalize("x" * (1 << 20), READ)
    assert event.source == "read_time"
