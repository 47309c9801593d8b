"""ISO 8601 / RFC 3339, and what is written that way.

Extended form ``2026-11-27T09:14:03.118+09:00`` with ``T`` or a blank between date and time,
``.`` or ``,`` before the fraction (up to nine digits, kept to microseconds) or ``:`` before a
count of milliseconds (log4j's ``yyyy-MM-dd HH:mm:ss:SSS``; ``:5`` is 5 ms), and an optional
zone: ``Z``, ``+09``, ``+0900``, ``+09:00``, or after a blank ``+0900``, ``+09:00``, ``UTC``,
``GMT``. That covers RFC 3339 and RFC 5424 syslog, log4j / logback / Python logging's default
``2026-11-27 09:14:03,118``, Windows-style ``2026-11-27 09:14:03,`` lines, Go's
``2026-11-27 09:14:03.118 +0900 JST``, ``logcat -v year`` and JSON ``@timestamp`` values.

A zone abbreviation after a blank (``2026-11-27 09:14:03.118 JST``, PostgreSQL's default) is
read with `abbreviations`.

Basic form ``20261127T091403Z`` (the ``T`` is required: eight digits alone are not a time).
DB2 form ``2005-06-03-15.42.50.675872`` (IBM DB2, Blue Gene/L RAS logs), in the source's zone.
"""

from __future__ import annotations

import re

from chronolog.timestamps.abbreviations import ABBREVIATION_PATTERN
from chronolog.timestamps.event import EventTime
from chronolog.timestamps.formats.base import (
    DIGITS,
    TIME_GOES_ON,
    Format,
    fraction_us,
    offset_seconds,
    read_zoned,
)
from chronolog.timestamps.resolve import Resolver, wall_seconds

__all__ = ["DB2", "ISO_8601", "ISO_8601_BASIC"]

# An offset, or after a blank a zone abbreviation (JST, CET; see `abbreviations`). Only the
# known ones: a word such as INFO is cheaper to pass over here than in the reader. Without a
# zone, the time must not go on (TIME_GOES_ON; checked only then: it costs on every line).
_ZONE = (r"(?:(Z|z|[+-]\d\d(?::?\d\d)?| ?(?:UTC|GMT)(?:[+-]\d\d(?::?\d\d)?)?| [+-]\d\d:?\d\d"
         r"| " + ABBREVIATION_PATTERN + ")|" + TIME_GOES_ON + ")")

# A decimal fraction, or a count of milliseconds after a colon.
_FRACTION = r"(?:[.,](\d{1,9})|:(\d{1,3}))?"
# The first group is the text up to the minute: the key of the minute cache below.
_EXTENDED = re.compile(
    r"((\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d)):(\d\d)" + _FRACTION + _ZONE + r"(?!\d)",
    re.ASCII,
)
_BASIC = re.compile(
    r"((\d{4})(\d\d)(\d\d)T(\d\d)(\d\d))(\d\d)" + _FRACTION + r"(Z|[+-]\d\d(?::?\d\d)?)?(?!\d)",
    re.ASCII,
)


# This runs on most lines of most logs, so the date and minute are read once per minute of
# log: the wall seconds (zone-free, so shared by every source) of the text up to the minute.
_MINUTES: dict[str, int] = {}
_MAX_MINUTES = 4096


_DB2 = re.compile(r"(\d{4})-(\d\d)-(\d\d)-(\d\d)\.(\d\d)\.(\d\d)(?:\.(\d{1,9}))?(?![\d.])", re.ASCII)


def _read(m: re.Match[str], r: Resolver, read_us: int) -> EventTime | None:
    key, year, month, day, hour, minute, second, fraction, millis, zone = m.groups()
    wall = _MINUTES.get(key)
    if wall is None:
        wall = wall_seconds(int(year), int(month), int(day), int(hour), int(minute), 0)
        if len(_MINUTES) >= _MAX_MINUTES:
            _MINUTES.clear()
        _MINUTES[key] = wall
    s = int(second)
    if wall < 0 or s > 60:
        return None
    wall += s if s < 60 else 59  # a leap second is held at :59
    micros = fraction_us(fraction) if millis is None else int(millis) * 1000
    if zone is None:
        return r.local(wall, micros, m.group())
    offset = offset_seconds(zone)
    if offset is None:
        return read_zoned(m, r, wall, micros, 10)
    return r.utc(wall - offset, micros, m.group())


def _read_db2(m: re.Match[str], r: Resolver, read_us: int) -> EventTime | None:
    year, month, day, hour, minute, second, fraction = m.groups()
    return r.assumed(int(year), int(month), int(day), int(hour), int(minute), int(second),
                     fraction_us(fraction), m.group())


ISO_8601 = Format("iso8601", _EXTENDED, _read, not_after=DIGITS, fraction=8, tail=11)
# IBM DB2's timestamp, as Blue Gene/L's RAS log writes it: 2005-06-03-15.42.50.675872.
DB2 = Format("db2", _DB2, _read_db2, not_after=DIGITS + "-.", fraction=7, tail=2)
ISO_8601_BASIC = Format("iso8601_basic", _BASIC, _read, not_after=DIGITS, fraction=8, tail=7)
