"""Stamping: each line's event time and its provenance go into the chunk."""

from __future__ import annotations

from agent.stamp import Stamper
from chronolog.timefmt import parse_rfc3339, to_rfc3339
from chronolog.wire import ClockView

READ = parse_rfc3339("2027-01-01T00:00:05+09:00")


def test_event_times_sources_raw_text_and_dst_flags_go_into_the_chunk() -> None:
    stamper = Stamper("file:/var/log/app.log", "America/New_York", "utf-8", 7)
    chunk = stamper.stamp([b"2026-11-01 01:30:00 overlap", b"no time", b"2026-11-27T00:14:03Z x",
                           b"2026-03-08 02:30:00 gap"], READ, ClockView())
    assert [to_rfc3339(t, "America/New_York") for t in chunk.ts] == [
        "2026-11-01T01:30:00.000000-04:00", "2026-12-31T10:00:05.000000-05:00",
        "2026-11-26T19:14:03.000000-05:00", "2026-03-08T03:30:00.000000-04:00"]
    assert chunk.src == ["assumed_zone", "read_time", "explicit", "assumed_zone"]
    assert chunk.raw == ["2026-11-01 01:30:00", None, "2026-11-27T00:14:03Z", "2026-03-08 02:30:00"]
    assert chunk.ts_flags == [(0, ["dst_ambiguous"]), (3, ["dst_nonexistent"])]
    assert (chunk.seq, stamper.next_seq) == (7, 11)


def test_the_sources_future_tolerance_and_declared_format_are_used() -> None:
    # Read just after midnight on 1 January in Tokyo, from a writer whose clock is 2 h ahead.
    ahead = b"Jan  1 02:00:00 host app: from a clock two hours ahead"
    strict = Stamper("s", "Asia/Tokyo", "utf-8", 0, future_tolerance=3600)
    lenient = Stamper("s", "Asia/Tokyo", "utf-8", 0, future_tolerance=3 * 3600)
    assert strict.stamp([ahead], READ, ClockView()).src == ["inferred_year"]
    assert to_rfc3339(strict.stamp([ahead], READ, ClockView()).ts[0], "Asia/Tokyo") == \
        "2026-01-01T02:00:00.000000+09:00"
    assert to_rfc3339(lenient.stamp([ahead], READ, ClockView()).ts[0], "Asia/Tokyo") == \
        "2027-01-01T02:00:00.000000+09:00"
    declared = Stamper("s", "Asia/Tokyo", "utf-8", 0, format="%d.%m.%Y %H:%M:%S")
    chunk = declared.stamp([b"31.12.2026 23:59:58 ok", b"2026-12-31T23:59:58+09:00 not declared"], READ,
                           ClockView())
    assert chunk.src == ["assumed_zone", "read_time"]
