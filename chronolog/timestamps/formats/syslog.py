"""RFC 3164 (BSD) syslog: ``Nov 27 09:14:03`` (or ``Nov  7``), no year and no zone.

The year is inferred from the read time and the source's zone is applied (``inferred_year``);
a fraction (``Nov 27 09:14:03.118``, some rsyslog templates) is kept. A ``<PRI>`` or any
other prefix may come first. RFC 5424 syslog writes RFC 3339 and is read by `iso`.

``Nov 27 09:14:03 2026`` is not this format but `ctime`'s, which has the year.
"""

from __future__ import annotations

import re

from chronolog.timestamps.event import EventTime
from chronolog.timestamps.formats.base import LETTERS, MONTH_NAMES, MONTHS, Format, fraction_us
from chronolog.timestamps.resolve import Resolver

__all__ = ["RFC_3164"]

# Not before ":" and digits (milliseconds it does not read: the learner does); AM/PM after it
# is left alone, as a host name ("pm1") follows the time here, and BSD syslog is 24-hour.
_PATTERN = re.compile(
    rf"({MONTH_NAMES})  ?(\d\d?) (\d\d):(\d\d):(\d\d)(?:\.(\d{{1,6}}))?(?!\d| \d{{4}}\b|:\d)",
    re.ASCII,
)


def _read(m: re.Match[str], r: Resolver, read_us: int) -> EventTime | None:
    month, day, hour, minute, second, fraction = m.groups()
    return r.yearless(MONTHS[month], int(day), int(hour), int(minute), int(second),
                      fraction_us(fraction), None, m.group(), read_us)


RFC_3164 = Format("rfc3164", _PATTERN, _read, not_after=LETTERS, fraction=6, tail=6)
