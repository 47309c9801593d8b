"""Day-month-year with a month name: RFC 2822 / RFC 1123 (mail and HTTP ``Date:``), log4j's
``%d{DATE}``.

``Fri, 27 Nov 2026 00:14:03 GMT`` or ``+0000`` or a zone abbreviation (``EST``) (``explicit``);
``27 Nov 2026 09:14:03,118``
without a zone is read in the source's zone. The match (``ts_raw``) starts at the day: the
weekday is neither needed nor checked.
"""

from __future__ import annotations

import re

from chronolog.timestamps.formats.base import AMPM_AFTER, DIGITS, MONTH_NAMES, Format, read_day_month_year

__all__ = ["RFC_2822"]

_PATTERN = re.compile(
    rf"(\d\d?) ({MONTH_NAMES}) (\d{{4}}) "
    rf"(\d\d):(\d\d):(\d\d)(?:[.,](\d{{1,9}}))?(?!:\d|{AMPM_AFTER})"
    rf"( (?:[+-]\d{{4}}|[A-Z]{{1,5}}(?![A-Za-z])))?(?!\d)",
    re.ASCII,
)

RFC_2822 = Format("rfc2822", _PATTERN, read_day_month_year, not_after=DIGITS, fraction=7, tail=8)
