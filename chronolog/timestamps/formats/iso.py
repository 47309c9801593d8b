"""ISO 8601 / RFC 3339, and what is written that way.

Extended form ``2026-11-27T09:14:03.118+09:00`` with ``T`` or a blank between date and time,
``.`` or ``,`` before the fraction (up to nine digits, kept to microseconds), and an optional
zone: ``Z``, ``+09``, ``+0900``, ``+09:00``, or after a blank ``+0900``, ``+09:00``, ``UTC``,
``GMT``. That covers RFC 3339 and RFC 5424 syslog, log4j / logback / Python logging's default
``2026-11-27 09:14:03,118``, Windows-style ``2026-11-27 09:14:03,`` lines, Go's
``2026-11-27 09:14:03.118 +0900 JST``, ``logcat -v year`` and JSON ``@timestamp`` values.

Basic form ``20261127T091403Z`` (the ``T`` is required: eight digits alone are not a time).
"""

from __future__ import annotations

import re

from chronolog.timestamps.event import EventTime
from chronolog.timestamps.formats.base import DIGITS, Format, fraction_us, offset_seconds
from chronolog.timestamps.resolve import Resolver, wall_seconds

__all__ = ["ISO_8601", "ISO_8601_BASIC"]

_ZONE = r"(Z|z|[+-]\d\d(?::?\d\d)?| ?(?:UTC|GMT)| [+-]\d\d:?\d\d)?"

# The first group is the text up to the minute: the key of the minute cache below.
_EXTENDED = re.compile(
    r"((\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d)):(\d\d)(?:[.,](\d{1,9}))?" + _ZONE + r"(?!\d)",
    re.ASCII,
)
_BASIC = re.compile(
    r"((\d{4})(\d\d)(\d\d)T(\d\d)(\d\d))(\d\d)(?:[.,](\d{1,9}))?(Z|[+-]\d\d(?::?\d\d)?)?(?!\d)",
    re.ASCII,
)


# This runs on most lines of most logs, so the date and minute are read once per minute of
# log: the wall seconds (zone-free, so shared by every source) of the text up to the minute.
_MINUTES: dict[str, int] = {}
_MAX_MINUTES = 4096


def _read(m: re.Match[str], r: Resolver, read_us: int) -> EventTime | None:
    key, year, month, day, hour, minute, second, fraction, zone = m.groups()
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
    if zone is None:
        return r.local(wall, fraction_us(fraction), m.group())
    offset = offset_seconds(zone)
    if offset is None:
        return None
    return r.utc(wall - offset, fraction_us(fraction), m.group())


ISO_8601 = Format("iso8601", _EXTENDED, _read, not_after=DIGITS)
ISO_8601_BASIC = Format("iso8601_basic", _BASIC, _read, not_after=DIGITS)
