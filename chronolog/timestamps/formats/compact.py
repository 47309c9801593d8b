"""Compact all-digit dates, read in the source's zone, only at the start of a line (a run of
digits elsewhere is more likely an id than a time).

- ``081109 203615``: HDFS's ``yyMMdd HHmmss`` (two-digit years as strptime's ``%y``).
- ``20261127091403`` and ``20261127091403118``: log4j's ``%d{COMPACT}``
  (``yyyyMMddHHmmss[SSS]``).
"""

from __future__ import annotations

import re

from chronolog.timestamps.event import EventTime
from chronolog.timestamps.formats.base import Format, fraction_us, two_digit_year
from chronolog.timestamps.resolve import Resolver

__all__ = ["COMPACT", "HDFS"]

_HDFS = re.compile(r"\s*\[?((\d\d)(\d\d)(\d\d) (\d\d)(\d\d)(\d\d))(?![\d:])", re.ASCII)
_COMPACT = re.compile(r"\s*\[?((\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d{3})?)(?!\d)", re.ASCII)


def _read_hdfs(m: re.Match[str], r: Resolver, read_us: int) -> EventTime | None:
    raw, year, month, day, hour, minute, second = m.groups()
    return r.assumed(two_digit_year(int(year)), int(month), int(day), int(hour), int(minute),
                     int(second), 0, raw)


def _read_compact(m: re.Match[str], r: Resolver, read_us: int) -> EventTime | None:
    raw, year, month, day, hour, minute, second, millis = m.groups()
    return r.assumed(int(year), int(month), int(day), int(hour), int(minute), int(second),
                     fraction_us(millis), raw)


HDFS = Format("hdfs", _HDFS, _read_hdfs, anchored=True, tail=1)
COMPACT = Format("compact", _COMPACT, _read_compact, anchored=True, fraction=8, tail=3)
