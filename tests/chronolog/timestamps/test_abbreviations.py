"""Zone abbreviations after a time: the table, the source's zone settling the ambiguous ones,
and the flag when nothing settles them."""

from __future__ import annotations

import pytest

from chronolog.timefmt import parse_rfc3339, to_rfc3339
from chronolog.timestamps import Normalizer
from chronolog.timestamps.abbreviations import ABBREVIATIONS

READ = parse_rfc3339("2026-11-27T12:00:00+09:00")


def utc(line: str, zone: str = "UTC") -> tuple[str, str, tuple[str, ...]]:
    event = Normalizer(zone).normalize(line, READ)
    return to_rfc3339(event.ts, "UTC"), event.source, event.flags


@pytest.mark.parametrize(("line", "expected"), [
    # PostgreSQL
    ("2026-11-27 09:14:03.118 JST [4242] LOG:  checkpoint starting", "2026-11-27T00:14:03.118000+00:00"),
    ("Fri Nov 27 09:14:03 JST 2026 backup started", "2026-11-27T00:14:03.000000+00:00"),  # date(1), Java Date
    ("Fri, 27 Nov 2026 09:14:03 EST", "2026-11-27T14:14:03.000000+00:00"),  # RFC 822 zone names
    ("2026-07-01 09:14:03 CEST worker up", "2026-07-01T07:14:03.000000+00:00"),
    ("2026-11-27 09:14:03 KST x", "2026-11-27T00:14:03.000000+00:00"),
    ("2026-11-27 09:14:03 AEDT x", "2026-11-26T22:14:03.000000+00:00"),
])
def test_an_unambiguous_abbreviation_is_explicit(line: str, expected: str) -> None:
    assert utc(line) == (expected, "explicit", ())


@pytest.mark.parametrize(("abbreviation", "zone", "expected"), [
    ("IST", "Asia/Kolkata", "2026-11-27T03:44:03.000000+00:00"),
    ("IST", "Asia/Jerusalem", "2026-11-27T07:14:03.000000+00:00"),
    ("CST", "America/Chicago", "2026-11-27T15:14:03.000000+00:00"),
    ("CST", "Asia/Shanghai", "2026-11-27T01:14:03.000000+00:00"),
])
def test_an_ambiguous_abbreviation_is_settled_by_the_source_zone(
        abbreviation: str, zone: str, expected: str) -> None:
    assert utc(f"2026-11-27 09:14:03 {abbreviation} x", zone) == (expected, "explicit", ())


def test_irish_summer_time_is_ist_in_dublin() -> None:
    assert utc("2026-07-01 09:14:03 IST x", "Europe/Dublin")[0] == "2026-07-01T08:14:03.000000+00:00"


def test_an_ambiguous_abbreviation_the_source_zone_does_not_use_is_flagged() -> None:
    assert utc("2026-11-27 09:14:03 IST x", "UTC") == ("2026-11-27T03:44:03.000000+00:00", "explicit",
                                                       ("zone_ambiguous",))
    assert utc("2026-11-27 09:14:03 CST x", "Asia/Tokyo")[2] == ("zone_ambiguous",)


def test_the_abbreviation_tells_the_two_passes_of_a_dst_overlap_apart() -> None:
    # 01:30 on 2026-11-01 happens twice in New York: EDT (05:30Z), then EST (06:30Z).
    assert utc("2026-11-01 01:30:00 EDT x", "America/New_York") == (
        "2026-11-01T05:30:00.000000+00:00", "explicit", ())
    assert utc("2026-11-01 01:30:00 EST x", "America/New_York") == (
        "2026-11-01T06:30:00.000000+00:00", "explicit", ())


def test_a_capitalised_word_that_is_no_zone_is_left_out_of_the_raw_text() -> None:
    event = Normalizer("UTC").normalize("2026-11-27 09:14:03,118 INFO main started", READ)
    assert (event.source, event.raw) == ("assumed_zone", "2026-11-27 09:14:03,118")
    event = Normalizer("UTC").normalize("27 Nov 2026 09:14:03,118 ERROR [pool-1] Worker", READ)
    assert (event.source, event.raw) == ("assumed_zone", "27 Nov 2026 09:14:03,118")


def test_the_table_holds_the_abbreviations_the_docs_promise() -> None:
    promised = ["JST", "KST", "UTC", "GMT", "Z", "EST", "EDT", "CST", "CDT", "MST", "MDT", "PST", "PDT",
                "CET", "CEST", "EET", "EEST", "BST", "IST", "AEST", "AEDT"]
    assert set(promised) <= set(ABBREVIATIONS)
    assert all(len(ABBREVIATIONS[a]) > 1 for a in ("IST", "CST", "BST"))
