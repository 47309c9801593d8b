"""Day-month-year with a month name: RFC 2822 / RFC 1123 (mail and HTTP ``Date:``), log4j's
``%d{DATE}``.

``Fri, 27 Nov 2026 00:14:03 GMT`` or ``+0000`` (``explicit``); ``27 Nov 2026 09:14:03,118``
without a zone is read in the source's zone. The match (``ts_raw``) starts at the day: the
weekday is neither needed nor checked.
"""

from __future__ import annotations

import re

from chronolog.timestamps.event import EventTime
from chronolog.timestamps.formats.base import (
    DIGITS,
    MONTH_NAMES,
    MONTHS,
    Format,
    fraction_us,
    offset_seconds,
)
from chronolog.timestamps.resolve import Resolver

__all__ = ["RFC_2822"]

_PATTERN = re.compile(
    rf"(\d\d?) ({MONTH_NAMES}) (\d{{4}}) "
    rf"(\d\d):(\d\d):(\d\d)(?:[.,](\d{{1,9}}))?( (?:GMT|UTC|Z|[+-]\d{{4}}))?(?!\d)",
    re.ASCII,
)


def _read(m: re.Match[str], r: Resolver, read_us: int) -> EventTime | None:
    day, month, year, hour, minute, second, fraction, zone = m.groups()
    if zone is None:
        return r.assumed(int(year), MONTHS[month], int(day), int(hour), int(minute), int(second),
                         fraction_us(fraction), m.group())
    offset = offset_seconds(zone)
    if offset is None:
        return None
    return r.explicit(int(year), MONTHS[month], int(day), int(hour), int(minute), int(second),
                      fraction_us(fraction), offset, m.group())


RFC_2822 = Format("rfc2822", _PATTERN, _read, not_after=DIGITS)
