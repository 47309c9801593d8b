"""Lines with a time of day and no date: the date comes from the source's last timed line
(rolling over at midnight), else from the read time; ts_source says it was inferred."""

from __future__ import annotations

from chronolog.timefmt import parse_rfc3339, to_rfc3339
from chronolog.timestamps import Normalizer


def read(normalizer: Normalizer, line: str, at: str) -> tuple[str, str]:
    event = normalizer.normalize(line, parse_rfc3339(at))
    return to_rfc3339(event.ts, "Asia/Tokyo"), event.source


def test_without_a_dated_line_the_date_is_the_read_times_nearest() -> None:
    n = Normalizer("Asia/Tokyo")
    assert read(n, "09:14:03.118 [main] INFO c.e.App - started", "2026-11-27T09:14:05+09:00") == (
        "2026-11-27T09:14:03.118000+09:00", "inferred_date")
    # Just after midnight, a line from just before it is yesterday's.
    n = Normalizer("Asia/Tokyo")
    assert read(n, "[23:59:59] [Server thread/INFO]: Saving", "2026-11-28T00:00:04+09:00") == (
        "2026-11-27T23:59:59.000000+09:00", "inferred_date")


def test_after_a_dated_line_the_date_follows_it_and_rolls_over_at_midnight() -> None:
    n = Normalizer("Asia/Tokyo")
    later = "2026-12-25T12:00:00+09:00"  # read much later: the dated line decides, not the read time
    assert read(n, "2026-11-27 23:59:58,001 INFO start of a run", later)[1] == "assumed_zone"
    inferred = "inferred_date"
    assert read(n, "23:59:59.500 [main] INFO tick", later) == ("2026-11-27T23:59:59.500000+09:00", inferred)
    assert read(n, "00:00:00.250 [main] INFO tock", later) == ("2026-11-28T00:00:00.250000+09:00", inferred)
    assert read(n, "00:00:01.000 [main] INFO tock", later) == ("2026-11-28T00:00:01.000000+09:00", inferred)


def test_a_time_of_day_is_never_put_beyond_the_future_tolerance() -> None:
    n = Normalizer("Asia/Tokyo", future_tolerance=60)
    # Read at 12:00, 13:00 today would be an hour ahead: beyond a minute's tolerance.
    assert read(n, "13:00:00.000 [main] INFO x", "2026-11-27T12:00:00+09:00") == (
        "2026-11-26T13:00:00.000000+09:00", "inferred_date")


def test_a_time_after_other_numbers_is_not_taken_for_a_time_of_day() -> None:
    n = Normalizer("Asia/Tokyo")
    event = n.normalize("version 1.2.3 took 00:01:02 to build", parse_rfc3339("2026-11-27T12:00:00+09:00"))
    assert event.source == "read_time"
