"""A source's zone: local wall-clock seconds to an instant, with the DST rules. Pure.

`localize` is the rule, through pytz (``localize(is_dst=None)``, never
``replace(tzinfo=...)``): a local time in an overlap takes the earlier instant and is flagged
``dst_ambiguous``; one in a gap is read with the offset in force before the gap, so it lands
after the gap by the gap's length, and is flagged ``dst_nonexistent``.

`SourceZone` gives the same answers fast. It learns, per local hour, whether one UTC offset
holds for the whole hour; for such hours (nearly all of them) an instant is one subtraction.
Only the few hours that hold a DST change go through pytz line by line.
"""

from __future__ import annotations

import datetime as dt

import pytz

from chronolog.timefmt import get_zone

__all__ = ["DST_AMBIGUOUS", "DST_NONEXISTENT", "SourceZone", "localize"]

DST_AMBIGUOUS = "dst_ambiguous"
DST_NONEXISTENT = "dst_nonexistent"

_EPOCH_NAIVE = dt.datetime(1970, 1, 1)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NOT_LEARNT = 1 << 40  # no UTC offset is this large
_MAX_HOURS = 1 << 14  # learnt hours kept; logs are read roughly in time order, so few are live
_NO_FLAGS: tuple[str, ...] = ()


def localize(naive: dt.datetime, zone: dt.tzinfo) -> tuple[int, tuple[str, ...]]:
    """The instant (µs since the epoch) of a local wall time in ``zone``, with DST flags."""
    if not isinstance(zone, pytz.tzinfo.BaseTzInfo):
        aware = naive.replace(tzinfo=zone)  # a fixed-offset zone, not pytz: it has no DST
        return _to_us(aware), _NO_FLAGS
    try:
        return _to_us(zone.localize(naive, is_dst=None)), _NO_FLAGS
    except pytz.AmbiguousTimeError:
        # The earlier of the two instants: the first pass through the overlap (still in DST).
        return _to_us(zone.localize(naive, is_dst=True)), (DST_AMBIGUOUS,)
    except pytz.NonExistentTimeError:
        # The offset in force before the gap (standard time), so the instant lands after it.
        return _to_us(zone.localize(naive, is_dst=False)), (DST_NONEXISTENT,)


def _to_us(aware: dt.datetime) -> int:
    delta = aware - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


class SourceZone:
    """Local wall time in one IANA zone to UTC, answering as `localize` does, cached per hour."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._zone = get_zone(name)
        # local hour (local seconds // 3600) -> the UTC offset (s) that holds for all of it,
        # or None when the hour holds a change (answered second by second through pytz).
        self._hours: dict[int, int | None] = {}
        self._offsets: dict[int, int] = {}  # UTC hour -> the offset then (changes fall on hours)

    @property
    def tz(self) -> dt.tzinfo:
        return self._zone

    def local_seconds(self, utc_s: int) -> int:
        """The local wall seconds (since 1970-01-01 00:00 on the wall) of a UTC instant."""
        hour = utc_s // 3600
        offset = self._offsets.get(hour)
        if offset is None:
            aware = dt.datetime.fromtimestamp(hour * 3600, self._zone)
            delta = aware.utcoffset()
            offset = int(delta.total_seconds()) if delta is not None else 0
            if len(self._offsets) >= _MAX_HOURS:
                self._offsets.clear()
            self._offsets[hour] = offset
        return utc_s + offset

    def utc_seconds(self, local_s: int) -> tuple[int, tuple[str, ...]]:
        """The UTC seconds since the epoch of ``local_s`` (local wall seconds since the local
        epoch, 1970-01-01 00:00 on the wall), and the DST flags."""
        hour = local_s // 3600
        offset = self._hours.get(hour, _NOT_LEARNT)
        if offset == _NOT_LEARNT:
            offset = self._learn(hour)
        if offset is not None:
            return local_s - offset, _NO_FLAGS
        naive = _EPOCH_NAIVE + dt.timedelta(seconds=local_s)
        us, flags = localize(naive, self._zone)
        return us // 1_000_000, flags

    def _learn(self, hour: int) -> int | None:
        if len(self._hours) >= _MAX_HOURS:
            self._hours.clear()
        first = _EPOCH_NAIVE + dt.timedelta(seconds=hour * 3600)
        # Changes happen on whole seconds, so the hour's first and last seconds tell whether
        # one offset holds throughout: a change inside would make them differ or fail.
        start_us, start_flags = localize(first, self._zone)
        end_us, end_flags = localize(first + dt.timedelta(seconds=3599), self._zone)
        start_offset = hour * 3600 - start_us // 1_000_000
        end_offset = hour * 3600 + 3599 - end_us // 1_000_000
        offset = start_offset if not start_flags and not end_flags and start_offset == end_offset else None
        self._hours[hour] = offset
        return offset
