"""Android logcat (``-v threadtime``, the default, and ``-v time``): ``11-27 09:14:03.118``.

No year and no zone: the year is inferred and the source's zone applied (``inferred_year``).
The milliseconds are required, which keeps ``11-27`` inside other text from being read as a
date. ``logcat -v year`` writes ISO 8601 and ``-v epoch`` epoch seconds; both are read by
their own formats.
"""

from __future__ import annotations

import re

from chronolog.timestamps.event import EventTime
from chronolog.timestamps.formats.base import DIGITS, Format, fraction_us
from chronolog.timestamps.resolve import Resolver

__all__ = ["LOGCAT"]

_PATTERN = re.compile(r"(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3,6})(?!\d)", re.ASCII)


def _read(m: re.Match[str], r: Resolver, read_us: int) -> EventTime | None:
    month, day, hour, minute, second, fraction = m.groups()
    return r.yearless(int(month), int(day), int(hour), int(minute), int(second),
                      fraction_us(fraction), None, m.group(), read_us)


LOGCAT = Format("logcat", _PATTERN, _read, not_after=DIGITS + "-", fraction=6, tail=1)
