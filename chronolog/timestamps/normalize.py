"""The normalisation engine: raw line in, `EventTime` out. Pure; no IO."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytz

from chronolog.timefmt import US_PER_S, get_zone

EXPLICIT = "explicit"
ASSUMED_ZONE = "assumed_zone"
INFERRED_YEAR = "inferred_year"
READ_TIME = "read_time"
TS_SOURCES = (EXPLICIT, ASSUMED_ZONE, INFERRED_YEAR, READ_TIME)

DST_AMBIGUOUS = "dst_ambiguous"
DST_NONEXISTENT = "dst_nonexistent"

_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()

# ISO 8601 / RFC 3339 at the start of a line: 'T' or space, '.' or ',' fraction, optional
# offset. Anchored, so a line is tried once and cheaply.
_ISO_START = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?"
)


@dataclass(frozen=True, slots=True)
class EventTime:
    """An event's instant and how it was obtained."""

    ts: int  # microseconds since the epoch, UTC
    source: str  # one of TS_SOURCES
    raw: str | None  # the matched timestamp text; None when none was found
    flags: tuple[str, ...] = ()


class Normalizer:
    """Normalises the lines of one source. Keep one per source: it may cache what it learns."""

    def __init__(self, source_zone: str = "Asia/Tokyo") -> None:
        self._zone = get_zone(source_zone)

    def normalize(self, line: str, read_us: int) -> EventTime:
        m = _ISO_START.match(line)
        if m is not None:
            found = self._from_iso(m)
            if found is not None:
                return found
        return EventTime(read_us, READ_TIME, None)

    def _from_iso(self, m: re.Match[str]) -> EventTime | None:
        year, month, day, hour, minute, second, frac, zulu, sign, oh, om = m.groups()
        try:
            date = dt.date(int(year), int(month), int(day))
        except ValueError:
            return None
        h, mi, s = int(hour), int(minute), int(second)
        if h > 23 or mi > 59 or s > 60:
            return None
        s = min(s, 59)  # a leap second is held at :59 rather than rejected
        micros = int((frac or "0")[:6].ljust(6, "0"))
        raw = m.group(0)
        if zulu or sign:
            offset = 0 if zulu else (int(oh) * 3600 + int(om or 0) * 60) * (1 if sign == "+" else -1)
            days = date.toordinal() - _EPOCH_ORDINAL
            seconds = days * 86400 + h * 3600 + mi * 60 + s - offset
            return EventTime(seconds * US_PER_S + micros, EXPLICIT, raw)
        naive = dt.datetime(date.year, date.month, date.day, h, mi, s, micros)
        ts, flags = localize(naive, self._zone)
        return EventTime(ts, ASSUMED_ZONE, raw, flags)


def localize(naive: dt.datetime, zone: dt.tzinfo) -> tuple[int, tuple[str, ...]]:
    """The instant of a local wall time in ``zone``, with DST flags (see the package doc)."""
    if not isinstance(zone, pytz.tzinfo.BaseTzInfo):
        aware = naive.replace(tzinfo=zone)  # fixed-offset zones such as UTC have no DST
        return _to_us(aware), ()
    try:
        return _to_us(zone.localize(naive, is_dst=None)), ()
    except pytz.AmbiguousTimeError:
        # Earlier of the two instants: the first pass through the overlap (still in DST).
        return _to_us(zone.localize(naive, is_dst=True)), (DST_AMBIGUOUS,)
    except pytz.NonExistentTimeError:
        # The offset in force before the gap (standard time), so the instant lands after it.
        return _to_us(zone.localize(naive, is_dst=False)), (DST_NONEXISTENT,)


def _to_us(aware: dt.datetime) -> int:
    delta = aware - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86400 + delta.seconds) * US_PER_S + delta.microseconds
