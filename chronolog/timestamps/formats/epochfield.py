"""Epoch counts in an early field of the line, not only at its start: HPC's
``134681 node-246 unix.hw state_change.unavailable 1077804742 1 ...``, Thunderbird's
``- 1131566461 2005.11.09 dn228 Nov 9 12:01:01 ...``, auditd's ``msg=audit(1364481363.243:24287)``,
logfmt's ``ts=1795739643.118``.

A number is taken for an epoch count only where it is plausible:

- it is a whole field (after the line's start, a blank, ``[``, ``(``, ``=``, ``:``, ``,``,
  ``|`` or a quote; before a blank, ``]``, ``)``, ``,``, ``:``, ``;``, ``|``, a quote or the
  end), among the first `FIELDS` fields and `WINDOW` characters;
- its digits say its unit (10 digits, optionally with a fraction, for seconds; 13, 16, 19 for
  ms, µs, ns), so it is from 2001-09-09 on, and it is not after the read time plus the
  source's future tolerance;
- it agrees with any calendar time on the same line, of a family or of a layout the learner
  would propose for the line (HealthApp's ``20171224-0:9:35:148|...|onExtend:1514045376000``):
  the same second, up to a UTC offset (a multiple of 15 minutes within ±14 h), since the
  calendar time may be local. A number that disagrees is an id (or a time rounded to another
  second), not the line's time, and the calendar time is used instead. When the calendar
  time has a fraction the count lacks (Blue Gene/L: ``1117838570 ... 2005-06-03-15.42.50.675872``),
  the fraction is kept and ``ts_raw`` spans both.
"""

from __future__ import annotations

import functools
import re

from chronolog.timestamps.event import INFERRED_YEAR, EventTime
from chronolog.timestamps.formats.apache import CLF, CTIME
from chronolog.timestamps.formats.base import Format
from chronolog.timestamps.formats.epoch import epoch_event
from chronolog.timestamps.formats.iso import DB2, ISO_8601
from chronolog.timestamps.formats.logcat import LOGCAT
from chronolog.timestamps.formats.rfc2822 import RFC_2822
from chronolog.timestamps.formats.slash import SLASH
from chronolog.timestamps.formats.syslog import RFC_3164
from chronolog.timestamps.resolve import Resolver

__all__ = ["EPOCH_FIELD", "FIELDS", "WINDOW"]

FIELDS = 8
WINDOW = 160
_PATTERN = re.compile(r"(\d{10})(?:[.,](\d{1,9}))?(?![\d.,]\d)|(\d{19}|\d{16}|\d{13})(?!\d)", re.ASCII)
_BEFORE = frozenset(" \t[(=:,|\"'")
_AFTER = frozenset(" \t])},:;|\"'")
# Every calendar format below, and every learned layout with a date, holds "h:m" or a DB2
# time "hh.mm.ss".
_MAYBE_A_CALENDAR = re.compile(r"\d:\d|\d\.\d\d\.\d\d", re.ASCII)
_CALENDARS = (ISO_8601, DB2, RFC_3164, CTIME, CLF, SLASH, RFC_2822, LOGCAT)
_US = 1_000_000
_QUARTER_HOUR_US = 900 * _US
_DAY_US = 86400 * _US


def _read(m: re.Match[str], r: Resolver, read_us: int) -> EventTime | None:
    line, start, end = m.string, m.start(), m.end()
    if start >= WINDOW:
        return None  # searched further as the source's known format: still an early field only
    if start and line[start - 1] not in _BEFORE:
        return None
    if end < len(line) and line[end] not in _AFTER:
        return None
    if start and len(line[:start].split()) >= FIELDS:
        return None
    seconds, fraction, count = m.groups()
    if line[start] == "0":
        return None  # 0000000013 is a zero-padded id: counts from 2001 on start with 1-9
    event = epoch_event(seconds, fraction, count, m.group())
    if event is None or event.ts > r.future_limit(read_us):
        return None
    return _checked(event, line, start, end, r, read_us)


def _checked(event: EventTime, line: str, start: int, end: int, r: Resolver,
             read_us: int) -> EventTime | None:
    """The count, checked against the first calendar time elsewhere on the line."""
    if _MAYBE_A_CALENDAR.search(line, 0, 512) is None:
        return event
    for fmt in (*_CALENDARS, *_proposed(line)):
        found = fmt.find(line, r, read_us)
        if found is not None and start <= found[0] < end:
            found = fmt.find(line, r, read_us, end)
        if found is None:
            continue
        calendar = found[1]
        if calendar.source == INFERRED_YEAR:
            # Its year was inferred from the read time; infer it from the count instead.
            again = fmt.find(line, r, event.ts + _DAY_US, found[0])
            if again is None:
                return None
            calendar = again[1]
        whole = event.ts - event.ts % _US
        gap = (calendar.ts - calendar.ts % _US) - whole
        if abs(gap) > 14 * 3600 * _US or gap % _QUARTER_HOUR_US:
            return None  # not the same second, whatever the offset: the number is no time
        if event.ts == whole and calendar.ts % _US:
            cal_end = found[0] + len(calendar.raw or "")
            raw = line[min(start, found[0]):max(end, cal_end)]
            return EventTime(whole + calendar.ts % _US, event.source, raw, event.flags)
        return event
    return event


def _proposed(line: str) -> list[Format]:
    """The layouts the learner would propose for the line's calendar time (dated ones only),
    tried after the families (only reached when no family finds a calendar time)."""
    from chronolog.timestamps.learn.propose import propose  # here: learn builds on formats

    return [f for p in propose(line) if not p.time_only and (f := _learned(p.layout)) is not None]


@functools.lru_cache(maxsize=64)
def _learned(layout: str) -> Format | None:
    from chronolog.timestamps.declared import FormatError, compile_format  # as above

    try:
        return compile_format(layout, strict=True)
    except FormatError:
        return None


EPOCH_FIELD = Format("epoch_field", _PATTERN, _read, window=WINDOW)
