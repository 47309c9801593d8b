"""Apache and nginx logs.

- Access logs (Common / Combined Log Format, ``%t`` and nginx ``$time_local``):
  ``[27/Nov/2026:00:14:03 +0000]``, with an optional fraction (``27/Nov/2026:00:14:03.118
  +0000``); with its offset the time is ``explicit``.
- Apache's error log, which writes C's ``ctime``: ``[Fri Nov 27 09:14:03.118234 2026]``
  (2.4; 2.2 has no fraction), read in the source's zone; with a zone before the year, as
  ``date`` and Java's ``Date.toString()`` write it (``Fri Nov 27 09:14:03 JST 2026``),
  explicit. The match (``ts_raw``) starts at the
  month: the weekday is neither needed nor checked, so ``Nov 27 09:14:03 2026`` is read too.

nginx's error log (``2026/11/27 09:14:03``) is read by `slash`.
"""

from __future__ import annotations

import re

from chronolog.timestamps.abbreviations import ABBREVIATIONS
from chronolog.timestamps.event import EventTime
from chronolog.timestamps.formats.base import (
    DIGITS,
    LETTERS,
    MONTH_NAMES,
    MONTHS,
    Format,
    fraction_us,
    offset_seconds,
    read_day_month_year,
    read_zoned,
)
from chronolog.timestamps.resolve import Resolver, wall_seconds

__all__ = ["CLF", "CTIME"]

_CLF = re.compile(
    rf"(\d\d)/({MONTH_NAMES})/(\d{{4}}):(\d\d):(\d\d):(\d\d)(?:\.(\d{{1,9}}))?(?!:\d)( [+-]\d{{4}})?(?!\d)",
    re.ASCII,
)
# `date` and Java's Date.toString() write a zone before the year: Fri Nov 27 09:14:03 JST 2026.
_CTIME = re.compile(
    rf"({MONTH_NAMES})  ?(\d\d?) "
    rf"(\d\d):(\d\d):(\d\d)(?:\.(\d{{1,9}}))?( [A-Z]{{2,5}}| [+-]\d{{4}})? (\d{{4}})(?!\d)",
    re.ASCII,
)


def _read_ctime(m: re.Match[str], r: Resolver, read_us: int) -> EventTime | None:
    month, day, hour, minute, second, fraction, zone, year = m.groups()
    wall = wall_seconds(int(year), MONTHS[month], int(day), int(hour), int(minute), int(second))
    if zone is not None and zone.strip() not in ABBREVIATIONS and offset_seconds(zone) is None:
        return None
    return read_zoned(m, r, wall, fraction_us(fraction), 7)


CLF = Format("clf", _CLF, read_day_month_year, not_after=DIGITS, fraction=7, tail=7)
CTIME = Format("ctime", _CTIME, _read_ctime, not_after=LETTERS, fraction=6, tail=12)
