"""SourceZone's per-hour cache answers exactly as pytz does, DST edges included."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st
from support.timestamps import EDGES, ZONES, near_a_change, oracle

from chronolog.timestamps.zone import SourceZone

LOCAL_EPOCH = dt.datetime(1970, 1, 1)


@st.composite
def local_times(draw: st.DrawFn) -> tuple[str, dt.datetime]:
    """A zone and a local wall time: half of them within three hours of a change in it."""
    if draw(st.booleans()):
        zone, utc = draw(st.sampled_from(EDGES))
        wall = near_a_change(zone, utc, draw(st.integers(-3 * 3600, 3 * 3600)))
    else:
        zone = draw(st.sampled_from(ZONES))
        wall = draw(st.datetimes(dt.datetime(1971, 1, 1), dt.datetime(2199, 12, 31)))
    return zone, wall.replace(microsecond=0)


@settings(max_examples=600)
@given(local_times())
def test_cached_answers_equal_pytz_localize_with_the_documented_dst_choice(
        case: tuple[str, dt.datetime]) -> None:
    zone, wall = case
    source = SourceZone(zone)
    wall_s = int((wall - LOCAL_EPOCH).total_seconds())
    expected_us, expected_flags = oracle(wall, zone)
    # Twice: the first learns the hour, the second answers from the cache.
    assert source.utc_seconds(wall_s) == (expected_us // 1_000_000, expected_flags)
    assert source.utc_seconds(wall_s) == (expected_us // 1_000_000, expected_flags)


def test_new_york_changes_are_answered_second_by_second() -> None:
    ny = SourceZone("America/New_York")

    def wall(text: str) -> int:
        return int((dt.datetime.fromisoformat(text) - LOCAL_EPOCH).total_seconds())

    # Spring forward 2026-03-08 02:00 EST -> 03:00 EDT: 01:59:59 is EST, 02:00:00 is in the gap.
    assert ny.utc_seconds(wall("2026-03-08T01:59:59")) == (wall("2026-03-08T06:59:59"), ())
    assert ny.utc_seconds(wall("2026-03-08T02:00:00")) == (wall("2026-03-08T07:00:00"), ("dst_nonexistent",))
    assert ny.utc_seconds(wall("2026-03-08T03:00:00")) == (wall("2026-03-08T07:00:00"), ())
    # Fall back 2026-11-01 02:00 EDT -> 01:00 EST: 01:00-01:59:59 happen twice.
    assert ny.utc_seconds(wall("2026-11-01T00:59:59")) == (wall("2026-11-01T04:59:59"), ())
    assert ny.utc_seconds(wall("2026-11-01T01:00:00")) == (wall("2026-11-01T05:00:00"), ("dst_ambiguous",))
    assert ny.utc_seconds(wall("2026-11-01T02:00:00")) == (wall("2026-11-01T07:00:00"), ())
