"""From the fields a format found to an `EventTime`, for one source. Pure (caches only).

Formats call one of three methods, by what the text carried:

- `Resolver.explicit`: a date, a time and a UTC offset (``explicit``);
- `Resolver.assumed`: a date and a time, no offset: the source's zone (``assumed_zone``);
- `Resolver.yearless`: a month, day and time, no year (``inferred_year``).

Each returns None when the fields are not a time (month 13, 25:00, 30 February) or fall
outside the instants chronolog accepts: from 1970 (the wire carries no negative instants) to
the end of 2199. A format treats None as "this is not a timestamp" and looks further.

**Year inference.** The year is the one that puts the event closest to the read time among
those not more than ``future_tolerance`` after it. Candidates a year apart and a tolerance under
half a year make that the latest candidate not beyond ``read time + tolerance``: ``Dec 31
23:59:59`` read on 1 January is last year, while a line from a clock a few hours ahead of the
reader (within the tolerance) keeps the current year.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools

from chronolog.timestamps.abbreviations import abbreviation_offset
from chronolog.timestamps.event import ASSUMED_ZONE, EXPLICIT, INFERRED_DATE, INFERRED_YEAR, EventTime
from chronolog.timestamps.zone import SourceZone

__all__ = [
    "DEFAULT_FUTURE_TOLERANCE",
    "MAX_FUTURE_TOLERANCE",
    "MAX_US",
    "MAX_YEAR",
    "MIN_YEAR",
    "Resolver",
    "civil_days",
    "wall_seconds",
]

DEFAULT_FUTURE_TOLERANCE = 86400.0  # seconds: a day
MAX_FUTURE_TOLERANCE = 180 * 86400.0  # past half a year "closest year" stops being well defined
MIN_YEAR = 1970
MAX_YEAR = 2199
MAX_US = (dt.date(MAX_YEAR + 1, 1, 1).toordinal() - dt.date(1970, 1, 1).toordinal()) * 86400 * 1_000_000

_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NOT_A_TIME = -1  # wall seconds since the epoch are never negative from MIN_YEAR on
_new = tuple.__new__  # builds an EventTime at half the cost of calling it
_WIDEST_OFFSET_US = 14 * 3600 * 1_000_000  # UTC+14 (Kiribati): the earliest any local date begins


class Resolver:
    """Wall-clock fields to instants for one source: its zone and its future tolerance."""

    def __init__(self, zone: str, future_tolerance: float = DEFAULT_FUTURE_TOLERANCE) -> None:
        if not 0 <= future_tolerance <= MAX_FUTURE_TOLERANCE:
            raise ValueError(f"future_tolerance must be 0 to {MAX_FUTURE_TOLERANCE:.0f} s, "
                             f"got {future_tolerance}")
        self.zone = SourceZone(zone)
        self._tolerance_us = round(future_tolerance * 1_000_000)
        self._read_us = -1  # the read time _top_year was computed for
        self._top_year = 0
        # The instant of the source's last line that had a time (set by the dispatcher): a
        # time of day alone takes its date from it.
        self.last_us: int | None = None

    def future_limit(self, read_us: int) -> int:
        """The latest instant a line read at ``read_us`` may plausibly carry (µs)."""
        return read_us + self._tolerance_us

    def utc(self, utc_s: int, micros: int, raw: str) -> EventTime | None:
        """A time written with its offset, already applied: ``explicit``."""
        ts = utc_s * 1_000_000 + micros
        return _new(EventTime, (ts, EXPLICIT, raw, ())) if 0 <= ts < MAX_US else None

    def abbreviated(self, wall_s: int, micros: int, abbreviation: str, raw: str) -> EventTime | None:
        """A wall time followed by a zone abbreviation (`abbreviations`): ``explicit``, flagged
        ``zone_ambiguous`` when neither the table nor the source's zone settles its meaning."""
        if wall_s < 0:
            return None
        offset, flags = abbreviation_offset(abbreviation, self.zone.tz, self.zone.name, wall_s)
        ts = (wall_s - offset) * 1_000_000 + micros
        return _new(EventTime, (ts, EXPLICIT, raw, flags)) if 0 <= ts < MAX_US else None

    def time_of_day(self, hour: int, minute: int, second: int, micros: int, raw: str,
                    read_us: int) -> EventTime | None:
        """A time without a date (``inferred_date``): the date, among the day before, the same
        day and the day after, that puts it nearest the source's last timed line (so a log
        crossing midnight rolls over), or without one nearest the read time, but never more
        than ``future_tolerance`` after the read time."""
        if hour > 23 or minute > 59 or second > 60:
            return None
        anchor = self.last_us if self.last_us is not None else read_us
        anchor_s = anchor // 1_000_000
        day = self.zone.local_seconds(anchor_s) // 86400
        of_day = hour * 3600 + minute * 60 + min(second, 59)
        limit = read_us + self._tolerance_us
        best: tuple[int, tuple[str, ...]] | None = None
        for d in (day, day - 1, day + 1):
            utc, flags = self.zone.utc_seconds(d * 86400 + of_day)
            ts = utc * 1_000_000 + micros
            if ts > limit or ts < 0:
                continue
            if best is None or abs(ts - anchor) < abs(best[0] - anchor):
                best = (ts, flags)
        if best is None or best[0] >= MAX_US:
            return None
        return _new(EventTime, (best[0], INFERRED_DATE, raw, best[1]))

    def local(self, wall_s: int, micros: int, raw: str) -> EventTime | None:
        """A wall time (`wall_seconds`) without an offset: the source's zone, DST rules applied."""
        utc_s, flags = self.zone.utc_seconds(wall_s)
        ts = utc_s * 1_000_000 + micros
        return _new(EventTime, (ts, ASSUMED_ZONE, raw, flags)) if 0 <= ts < MAX_US else None

    def explicit(self, year: int, month: int, day: int, hour: int, minute: int, second: int,
                 micros: int, offset: int, raw: str) -> EventTime | None:
        """A time written with its UTC offset (seconds east of UTC)."""
        wall = wall_seconds(year, month, day, hour, minute, second)
        return None if wall < 0 else self.utc(wall - offset, micros, raw)

    def assumed(self, year: int, month: int, day: int, hour: int, minute: int, second: int,
                micros: int, raw: str) -> EventTime | None:
        """A time written without an offset: read in the source's zone, DST rules applied."""
        wall = wall_seconds(year, month, day, hour, minute, second)
        return None if wall < 0 else self.local(wall, micros, raw)

    def yearless(self, month: int, day: int, hour: int, minute: int, second: int, micros: int,
                 offset: int | None, raw: str, read_us: int,
                 abbreviation: str | None = None) -> EventTime | None:
        """A time written without a year (and usually without an offset): the year is inferred.
        A zone ``abbreviation`` is read as of the read time's year."""
        if not (1 <= month <= 12 and 1 <= day <= 31) or hour > 23 or minute > 59 or second > 60:
            return None
        if abbreviation is not None:
            year = (_EPOCH + dt.timedelta(microseconds=read_us)).year
            # Its own day in that year (a zone may change on it); 29 February in a year without one, the 28th.
            days = max(civil_days(year, month, min(day, calendar.monthrange(year, month)[1])), 0)
            offset, zone_flags = abbreviation_offset(abbreviation, self.zone.tz, self.zone.name,
                                                     days * 86400 + hour * 3600 + minute * 60)
            event = self.yearless(month, day, hour, minute, second, micros, offset, raw, read_us)
            if event is None or not zone_flags:
                return event
            return _new(EventTime, (event.ts, event.source, raw, event.flags + zone_flags))
        if read_us != self._read_us:
            # No candidate year past the one holding read time + tolerance (in UTC+14, where
            # local dates begin first) can be within the tolerance.
            top = _EPOCH + dt.timedelta(microseconds=read_us + self._tolerance_us + _WIDEST_OFFSET_US)
            self._read_us, self._top_year = read_us, min(top.year, MAX_YEAR)
        limit = read_us + self._tolerance_us
        of_day = hour * 3600 + minute * 60 + min(second, 59)
        # Eight years back always meets a 29 February (2100 is not a leap year).
        for year in range(self._top_year, max(self._top_year - 9, MIN_YEAR - 1), -1):
            days = civil_days(year, month, day)
            if days < 0:
                continue
            if offset is None:
                utc, flags = self.zone.utc_seconds(days * 86400 + of_day)
            else:
                utc, flags = days * 86400 + of_day - offset, ()
            ts = utc * 1_000_000 + micros
            if ts <= limit:
                return _new(EventTime, (ts, INFERRED_YEAR, raw, flags)) if ts >= 0 else None
        return None


@functools.lru_cache(maxsize=4096)
def civil_days(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 to a date from MIN_YEAR to MAX_YEAR, or -1 if it is not one."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        return _NOT_A_TIME
    try:
        return dt.date(year, month, day).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        return _NOT_A_TIME


def wall_seconds(year: int, month: int, day: int, hour: int, minute: int, second: int) -> int:
    """Wall-clock seconds since 1970-01-01 00:00 on the same wall (no zone), or -1 if the
    fields are not a time. A leap second (:60) is held at :59 rather than rejected."""
    days = civil_days(year, month, day)
    if days < 0 or hour > 23 or minute > 59 or second > 60:
        return _NOT_A_TIME
    return days * 86400 + hour * 3600 + minute * 60 + min(second, 59)
