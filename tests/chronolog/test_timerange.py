from __future__ import annotations

import pytest

from chronolog.cli.timerange import parse_when
from chronolog.timefmt import BadTime, parse_rfc3339, to_rfc3339

NOW = parse_rfc3339("2026-11-27T12:00:00+09:00")


@pytest.mark.parametrize("text, expected", [
    ("now", "2026-11-27T12:00:00.000000+09:00"),
    ("15m", "2026-11-27T11:45:00.000000+09:00"),
    ("2h", "2026-11-27T10:00:00.000000+09:00"),
    ("7d", "2026-11-20T12:00:00.000000+09:00"),
    ("2026-11-27T00:10:00Z", "2026-11-27T09:10:00.000000+09:00"),
    ("2026-11-27 09:10", "2026-11-27T09:10:00.000000+09:00"),
    ("2026-11-27", "2026-11-27T00:00:00.000000+09:00"),
])
def test_forms(text: str, expected: str) -> None:
    instant, notes = parse_when(text, NOW, "Asia/Tokyo")
    assert to_rfc3339(instant, "Asia/Tokyo") == expected
    assert notes == []


def test_local_time_is_read_in_the_given_zone() -> None:
    instant, _ = parse_when("2026-11-27 09:10", NOW, "America/New_York")
    assert to_rfc3339(instant, "UTC") == "2026-11-27T14:10:00.000000+00:00"


def test_an_ambiguous_local_time_says_so() -> None:
    _, notes = parse_when("2026-11-01 01:30", NOW, "America/New_York")
    assert notes and "DST" in notes[0]


@pytest.mark.parametrize("text", ["yesterday", "15 minutes", "2026-13-01", "09:10"])
def test_unreadable_forms_explain_what_is_accepted(text: str) -> None:
    with pytest.raises(BadTime) as info:
        parse_when(text, NOW, "Asia/Tokyo")
    assert "expected" in str(info.value) or "not a valid time" in str(info.value)
