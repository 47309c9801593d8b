"""Instants and their rendering.

chronolog carries every instant as an integer count of microseconds since the Unix epoch
(UTC), so comparisons and sorting never touch a time zone. A zone is applied only when an
instant is shown to a person: RFC 3339 with the zone's offset, always with microseconds so
columns line up. Zones are IANA names resolved through pytz.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytz

__all__ = [
    "US_PER_S",
    "BadTime",
    "civil_from_days",
    "get_zone",
    "local_zone_name",
    "now_us",
    "parse_rfc3339",
    "resolve_zone",
    "rfc3339_renderer",
    "to_rfc3339",
    "valid_zone",
]

US_PER_S = 1_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# RFC 3339 with an explicit offset; 'T' or a space between date and time.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))"
)


class BadTime(ValueError):
    """Text that is not an instant in the expected form."""


def now_us() -> int:
    """The wall clock now, in microseconds since the epoch."""
    return time.time_ns() // 1000


@functools.lru_cache(maxsize=256)
def get_zone(name: str) -> dt.tzinfo:
    """The pytz zone for an IANA name; raises `BadTime` for an unknown name."""
    try:
        return pytz.timezone(name)
    except pytz.UnknownTimeZoneError:
        raise BadTime(f"unknown time zone {name!r}: expected an IANA name such as Asia/Tokyo") from None


def local_zone_name() -> str:
    """The IANA name of this host's zone: ``$TZ``, /etc/timezone, the /etc/localtime link, or UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text(encoding="ascii").strip())
    with contextlib.suppress(OSError):
        candidates.append(os.readlink("/etc/localtime").partition("zoneinfo/")[2])
    for name in candidates:
        if name and name in pytz.all_timezones_set:
            return name
    return "UTC"


def resolve_zone(name: str) -> str:
    """A configured zone name: ``"local"`` becomes this host's zone; others are checked."""
    return local_zone_name() if name == "local" else valid_zone(name)


def valid_zone(name: str) -> str:
    """``name`` unchanged if it is a known IANA zone (for pydantic validators)."""
    get_zone(name)
    return name


def to_rfc3339(ts_us: int, zone: str | dt.tzinfo) -> str:
    """Render an instant as RFC 3339 in ``zone``, e.g. ``2026-11-27T09:14:03.118000+09:00``.

    Never raises for an integer (issue 16: one stored instant must not break a query). An
    instant whose date in ``zone`` falls outside years 1 to 9999, where `datetime` ends, is
    shown in UTC instead, and past those years in ISO 8601's expanded form
    (``+294247-01-10T04:00:54.775807+00:00``): the instant exactly, its offset saying the zone.
    """
    tz = get_zone(zone) if isinstance(zone, str) else zone
    try:
        # astimezone() with a pytz zone goes through tz.fromutc(), which pytz implements
        # correctly (unlike replace(tzinfo=...)); integer arithmetic keeps microseconds exact.
        aware = (_EPOCH + dt.timedelta(microseconds=ts_us)).astimezone(tz)
    except OverflowError:
        return _utc_any_year(ts_us)
    return aware.isoformat(timespec="microseconds")


def _utc_any_year(ts_us: int) -> str:
    """An instant in UTC for any year: four digits within 0 to 9999, else a sign and six or more."""
    days, us_of_day = divmod(ts_us, 86_400 * US_PER_S)
    year, month, day = civil_from_days(days)
    seconds, micros = divmod(us_of_day, US_PER_S)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    year_text = f"{year:04d}" if 0 <= year <= 9999 else f"{'+' if year > 0 else '-'}{abs(year):06d}"
    return f"{year_text}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.{micros:06d}+00:00"


def civil_from_days(days: int) -> tuple[int, int, int]:
    """The proleptic Gregorian (year, month, day) ``days`` after 1970-01-01, for any integer
    (H. Hinnant's ``civil_from_days``, http://howardhinnant.github.io/date_algorithms.html)."""
    era, day_of_era = divmod(days + 719_468, 146_097)  # eras of 400 years from 0000-03-01
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    month_from_march = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * month_from_march + 2) // 5 + 1
    month = month_from_march + 3 if month_from_march < 10 else month_from_march - 9
    return year_of_era + era * 400 + (month <= 2), month, day


def parse_rfc3339(text: str) -> int:
    """Parse RFC 3339 text that carries its offset (``Z`` or ``+09:00``) into microseconds."""
    m = _RFC3339.fullmatch(text.strip())
    if m is None:
        raise BadTime(f"{text!r} is not an RFC 3339 time with an offset, e.g. 2026-11-27T09:14:03+09:00")
    year, month, day, hour, minute, second, frac, zulu, sign, oh, om = m.groups()
    try:
        naive = dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError as e:
        raise BadTime(f"{text!r} is not a valid time: {e}") from None
    offset = 0 if zulu else (int(oh) * 3600 + int(om) * 60) * (1 if sign == "+" else -1)
    micros = int((frac or "0")[:6].ljust(6, "0"))
    seconds = (naive.replace(tzinfo=dt.UTC) - _EPOCH) // dt.timedelta(seconds=1)
    return (seconds - offset) * US_PER_S + micros


_HOUR_US = 3600 * US_PER_S
_NAIVE_EPOCH = dt.datetime(1970, 1, 1)


def rfc3339_renderer(zone: str | dt.tzinfo) -> Callable[[int], str]:
    """`to_rfc3339` for many instants in one zone, several times faster: the zone's offset is
    looked up once per hour of UTC and the date and hour are formatted once per local hour.
    An hour whose two ends have different offsets (it holds a transition), or that lies
    beyond datetime's years, is rendered the slow way, so the text is always exactly
    `to_rfc3339`'s."""
    tz = get_zone(zone) if isinstance(zone, str) else zone
    hours: dict[int, tuple[int, str] | None] = {}  # UTC hour -> (offset µs, "+09:00")
    prefixes: dict[int, str] = {}  # local hour -> "2026-11-27T09:"

    def offset(hour: int) -> tuple[int, str] | None:
        try:
            first, last = ((_EPOCH + dt.timedelta(microseconds=us)).astimezone(tz)
                           for us in (hour * _HOUR_US, (hour + 1) * _HOUR_US - 1))
        except OverflowError:  # beyond datetime's years: to_rfc3339 shows it in UTC
            return None
        shift = first.utcoffset()
        if shift is None or shift != last.utcoffset():
            return None
        return shift // dt.timedelta(microseconds=1), first.isoformat()[len("1970-01-01T00:00:00"):]

    def render(ts_us: int) -> str:
        hour = ts_us // _HOUR_US
        if hour not in hours:
            if len(hours) > 4096:
                hours.clear()
                prefixes.clear()
            hours[hour] = offset(hour)
        known = hours[hour]
        if known is None:
            return to_rfc3339(ts_us, tz)
        shift, suffix = known
        local_hour, rest = divmod(ts_us + shift, _HOUR_US)
        prefix = prefixes.get(local_hour)
        if prefix is None:
            at = _NAIVE_EPOCH + dt.timedelta(hours=local_hour)
            prefix = prefixes[local_hour] = f"{at.year:04d}-{at.month:02d}-{at.day:02d}T{at.hour:02d}:"
        seconds, micros = divmod(rest, US_PER_S)
        return f"{prefix}{seconds // 60:02d}:{seconds % 60:02d}.{micros:06d}{suffix}"

    return render
