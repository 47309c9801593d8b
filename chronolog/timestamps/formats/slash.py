"""Dates written with slashes, year first, read in the source's zone.

- ``2026/11/27 09:14:03``: nginx's error log; Go's ``log`` package (``2026/11/27
  09:14:03.118234`` with ``Lmicroseconds``).
- ``26/11/27 09:14:03``: Hadoop / Spark's log4j ``yy/MM/dd HH:mm:ss``. A two-digit year is a
  weak sign, so this one is only looked for at the start of a line; 69-99 are 1969-1999 and
  00-68 are 2000-2068, as strptime's ``%y``. Month-first US dates are not read (declare a
  format).
"""

from __future__ import annotations

import re

from chronolog.timestamps.event import EventTime
from chronolog.timestamps.formats.base import DIGITS, TIME_GOES_ON, Format, fraction_us, two_digit_year
from chronolog.timestamps.resolve import Resolver

__all__ = ["SLASH", "SLASH_SHORT_YEAR"]

_LONG = re.compile(
    r"(\d{4})/(\d\d)/(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?(?!\d)" + TIME_GOES_ON, re.ASCII
)
_SHORT = re.compile(
    r"\s*\[?((\d\d)/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?)(?!\d)" + TIME_GOES_ON, re.ASCII
)


def _read_long(m: re.Match[str], r: Resolver, read_us: int) -> EventTime | None:
    year, month, day, hour, minute, second, fraction = m.groups()
    return r.assumed(int(year), int(month), int(day), int(hour), int(minute), int(second),
                     fraction_us(fraction), m.group())


def _read_short(m: re.Match[str], r: Resolver, read_us: int) -> EventTime | None:
    raw, year, month, day, hour, minute, second, fraction = m.groups()
    return r.assumed(two_digit_year(int(year)), int(month), int(day), int(hour), int(minute),
                     int(second), fraction_us(fraction), raw)


SLASH = Format("slash", _LONG, _read_long, not_after=DIGITS + "/", fraction=7, tail=8)
SLASH_SHORT_YEAR = Format("slash_short_year", _SHORT, _read_short, anchored=True, fraction=8, tail=8)
