"""A strftime-style format (declared by the operator, or learned by `learn`), compiled once
to a regular expression. Pure.

Directives: ``%Y`` (4-digit year), ``%y`` (2-digit: 69-99 are 1969-1999, 00-68 are
2000-2068), ``%m``, ``%b``/``%h`` (``Nov``), ``%B`` (``November``), ``%d``, ``%e`` (day, blank
padded), ``%H``, ``%I`` with ``%p`` (``AM``/``PM``, ``am``, ``p.m.``, ``p. m.``), ``%M``,
``%S``, ``%f`` (1 to 9 digits of a decimal fraction: ``.5`` is half a second), ``%L``
(milliseconds as a count of 1 to 3 digits: ``:5`` is 5 ms, as Java's ``S`` writes them),
``%z`` (``Z``, ``+09``, ``+0900``, ``+09:00``, ``GMT+0900``), ``%Z`` (a zone abbreviation
from the table in `abbreviations`: ``UTC``, ``JST``, ``CET``...), ``%a``/``%A`` (weekday, not
checked), ``%s`` (epoch seconds), ``%T`` (``%H:%M:%S``), ``%F`` (``%Y-%m-%d``),
``%%``. A blank matches one or more blanks; any other character matches itself. Two numeric
directives side by side (``%Y%m%d``) take exactly their width; apart, ``%m``, ``%d``, ``%H``,
``%M`` and ``%S`` take one or two digits (as strptime). ``-`` after the ``%`` (glibc's "no
padding": ``%-m``, ``%-d``, ``%-H``, ``%-M``, ``%-S``, ``%-L``) says a field is written without
padding; it changes nothing apart, and side by side only ``%Y%-m%-d`` is read: a run of 6 to 8
digits (Java's ``yyyyMd``: ``201812`` is 2 January 2018), whose two readings at 7 digits
(``2018111``: 11 January or 1 November) are told apart by the source's previous line (the
reading nearest it), else flagged ``layout_unsettled``.

A format never stops in the middle of a time: where the line goes on with ``:`` and digits
after the format's minutes, or with ``AM``/``PM`` after its 24-hour time, it does not match.
A learned format (``strict``) does not match either where a fraction or a zone follows its
time, nor, without a year, where it would read the end of a longer date (``%m.%d`` in
``2024.10.30``).

A format needs a month, a day, an hour and a minute, or ``%s``. Without ``%Y``/``%y`` the year is
inferred (``inferred_year``); without ``%z``/``%Z`` the source's zone applies. The format may
match anywhere in the first `WINDOW` characters of a line, so a prefix needs no directive.
A learned format may also be a time of day alone (``inferred_date``).
"""

from __future__ import annotations

import re
from typing import Any

from chronolog.timestamps.abbreviations import ABBREVIATION_PATTERN, ABBREVIATIONS
from chronolog.timestamps.event import ASSUMED_ZONE, EXPLICIT, LAYOUT_UNSETTLED, EventTime
from chronolog.timestamps.formats.base import (
    AMPM,
    AMPM_AFTER,
    DIGITS,
    MONTH_NAMES,
    MONTHS,
    WEEKDAY_NAMES,
    Format,
    Reader,
    fraction_us,
    offset_seconds,
    two_digit_year,
)
from chronolog.timestamps.resolve import MAX_US, Resolver, civil_days, wall_seconds

__all__ = ["DECLARED", "FormatError", "compile_format", "unpadded_dates"]

DECLARED = "declared"

_FULL_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")
_FULL_WEEKDAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"

# directive -> (group name or None when the value is not used, regular expression)
_DIRECTIVES: dict[str, tuple[str | None, str]] = {
    "Y": ("year", r"\d{4}"),
    "y": ("year2", r"\d\d"),
    "m": ("month", r"\d\d?"),
    "b": ("month_name", MONTH_NAMES),
    "h": ("month_name", MONTH_NAMES),
    "B": ("month_full", "|".join(_FULL_MONTHS)),
    "d": ("day", r"\d\d?"),
    "e": ("day", r" ?\d\d?"),
    "H": ("hour", r"\d\d?"),
    "I": ("hour12", r"\d\d?"),
    "p": ("ampm", AMPM),
    "M": ("minute", r"\d\d?"),
    "S": ("second", r"\d\d?"),
    "f": ("fraction", r"\d{1,9}"),
    "L": ("fraction_ms", r"\d{1,3}"),
    "z": ("zone", r"Z|z|(?:UTC|GMT)?[+-]\d\d(?::?\d\d)?"),
    "Z": ("zone_name", r"[A-Z]{1,5}(?![A-Za-z])"),
    "a": (None, WEEKDAY_NAMES),
    "A": (None, _FULL_WEEKDAYS),
    "s": ("epoch", r"\d{1,12}"),
}
# Side by side with another numeric directive, a field takes exactly its width.
_EXACT = {"m": r"\d\d", "d": r"\d\d", "e": r"[ \d]\d", "H": r"\d\d", "I": r"\d\d", "M": r"\d\d",
          "S": r"\d\d", "L": r"\d{3}"}
_NUMERIC = set("YymdeHIMSfLs")
_UNPADDED = set("mdHIMSL")  # the fields "-" may come before (%-m: glibc's "no padding")
_UNPADDED_DATE = ["%Y", "%-m", "%-d"]  # Java's yyyyMd: one run of 6 to 8 digits
_TIME_END = {"%H", "%M", "%S", "%f", "%L", "%-H", "%-M", "%-S", "%-L"}
_NEAR_US = 31 * 86400 * 1_000_000  # a reading this near the source's previous line is decisive
# A zone after a time (a learned layout without one must not read such a line as local time).
_ZONE_AFTER = rf"(?!Z(?![A-Za-z])| ?[+-]\d\d:?\d\d(?!\d)| ?(?:UTC|GMT)(?![A-Za-z])| {ABBREVIATION_PATTERN})"
_SHORTHANDS = {"T": "%H:%M:%S", "F": "%Y-%m-%d"}
_SUPPORTED = " ".join(f"%{c}" for c in [*_DIRECTIVES, *_SHORTHANDS, "%"])
_new = tuple.__new__  # builds an EventTime at half the cost of calling it
_MONTH_NUMBERS = {**MONTHS, **{name: n for n, name in enumerate(_FULL_MONTHS, 1)}}


class FormatError(ValueError):
    """A format that cannot be used; ``str()`` says what is wrong and what is expected."""


def compile_format(fmt: str, *, name: str = DECLARED, time_only: bool = False,
                   flags: tuple[str, ...] = (), strict: bool = False) -> Format:
    """The `Format` for a strftime-style ``fmt``; raises `FormatError` naming the problem.
    ``time_only`` lets it be a time of day without a date; ``flags`` are added to every
    time it reads (a learned format's ``learned``); ``strict`` (a learned format) refuses a
    match whose seconds the line goes on from with a fraction the format does not read, and
    one without a year that ends a longer date."""
    if not fmt.strip():
        raise FormatError("the format is empty: expected strftime-style text such as '%Y-%m-%d %H:%M:%S'")
    items = _items(fmt)
    parts: list[str] = []
    seen: dict[str, str] = {}
    i = 0
    while i < len(items):
        item = items[i]
        if items[i:i + 3] == _UNPADDED_DATE:
            _check_apart(fmt, items, i, i + 2)
            for field in ("year", "month", "day"):
                _see(fmt, seen, field, "Y")
            parts.append(r"(?P<ymd>\d{6,8})")
            i += 3
            continue
        i += 1
        if not item.startswith("%"):
            parts.append(r"\s+" if item.isspace() else re.escape(item))
            continue
        directive = item[-1]
        if directive == "%":
            parts.append("%")
            continue
        if item[1] == "-":
            _check_apart(fmt, items, i - 1, i - 1)
        group, regex = _DIRECTIVES[directive]
        neighbours = [items[j] for j in (i - 2, i) if 0 <= j < len(items)]
        if directive in _EXACT and any(_numeric(n) for n in neighbours):
            regex = _EXACT[directive]
        if group is None:
            parts.append(f"(?:{regex})")
            continue
        _see(fmt, seen, group, directive)
        parts.append(f"(?P<{group}>{regex})")
    _check_complete(fmt, seen, time_only)
    # Not in the middle of a number: a format starting or ending with digits stops at digits.
    # Nor in the middle of a time (below).
    head = _not_a_suffix(items, seen) if strict else ""
    pattern = re.compile(head + "".join(parts) + "(?!\\d)" + _time_goes_on(items, strict), re.ASCII)

    fast = _fast_reader(pattern, seen, flags)
    if fast is not None:
        return Format(name, pattern, fast, not_after=DIGITS, layout=fmt)

    def read(m: re.Match[str], r: Resolver, read_us: int) -> EventTime | None:
        event = _read(m, r, read_us)
        if event is None or not flags:
            return event
        return EventTime(event.ts, event.source, event.raw, event.flags + flags)

    return Format(name, pattern, read if flags else _read, not_after=DIGITS, layout=fmt)


def _numeric(item: str) -> bool:
    return item[:1] == "%" and item[-1] in _NUMERIC and item != "%%"


def _see(fmt: str, seen: dict[str, str], group: str, directive: str) -> None:
    kind = group.split("_")[0]  # month_name and month, zone_name and zone, fraction_ms and fraction
    if any(g.split("_")[0] == kind for g in seen):
        raise FormatError(f"format {fmt!r}: %{directive} repeats what it already has")
    seen[group] = directive


def _check_apart(fmt: str, items: list[str], first: int, last: int) -> None:
    """An unpadded field (or the unpadded date) must not touch another number: it has no width."""
    if any(0 <= j < len(items) and _numeric(items[j]) for j in (first - 1, last + 1)):
        shown = "".join(items[first:last + 1])
        raise FormatError(f"format {fmt!r}: {shown} next to another number has no width; side by side "
                          "only %Y%-m%-d (a date written without padding) is read")


def _not_a_suffix(items: list[str], seen: dict[str, str]) -> str:
    """Look-behinds that keep a learned layout without a year from reading the end of a longer
    date: ``%m.%d`` in ``2024.10.30``, a time of day alone after ``2024-11-27 ``."""
    if {"year", "year2"} & set(seen) or not _numeric(items[0]):
        return ""
    head = r"(?<!\d[-/.:])"
    if not {"month", "month_name", "month_full"} & set(seen):
        head += r"(?<!\d[-/.]\d\d[ T])(?<!\d[-/.]\d[ T])"
    return head


def _time_goes_on(items: list[str], strict: bool) -> str:
    """Look-aheads that keep a format from stopping in the middle of a time the line goes on
    with: its seconds after the minutes, AM/PM after a 24-hour time, and (``strict``) a
    fraction after the seconds (a comma and a CSV field is no fraction) or a zone."""
    last = items[-1] if items else ""
    if last not in _TIME_END and last != "%p":
        return ""
    guard = ""
    if last in ("%M", "%-M"):
        guard += r"(?!:\d)"
    elif strict and last != "%p":
        guard += r"(?![.:]\d|,\d+(?![,\d]))"
    if "%p" not in items and any(i in ("%H", "%-H") for i in items):
        guard += f"(?!{AMPM_AFTER})"
    if strict:
        guard += _ZONE_AFTER
    return guard


def _fast_reader(pattern: re.Pattern[str], seen: dict[str, str], flags: tuple[str, ...]) -> Reader | None:
    """For the common shape (a year, a month, a day, 24-hour time, no zone): a reader that
    works out the wall seconds of each minute once, as the ISO 8601 reader does (a settled
    learned layout must keep up with the families)."""
    groups = set(seen)
    if not ({"year", "year2"} & groups and {"month", "month_name"} & groups and "day" in groups
            and "hour" in groups) or groups & {"zone", "zone_name", "hour12", "epoch", "month_full"}:
        return None
    index = pattern.groupindex
    run_i = index.get("ymd")
    year_i = index.get("year") or index.get("year2") or 0  # 0 (none) with the unpadded date
    short_year = "year2" in index
    month_i = index.get("month") or index.get("month_name") or 0
    named = "month_name" in index
    day_i, hour_i, minute_i = index.get("day", 0), index["hour"], index["minute"]
    second_i, fraction_i, millis_i = index.get("second"), index.get("fraction"), index.get("fraction_ms")
    minutes: dict[str, int] = {}

    def slow(m: re.Match[str], r: Resolver, read_us: int) -> EventTime | None:
        event = _read(m, r, read_us)
        return None if event is None else EventTime(event.ts, event.source, event.raw, event.flags + flags)

    def read(m: re.Match[str], r: Resolver, read_us: int) -> EventTime | None:
        key = m.string[m.start():m.end(minute_i)]
        wall = minutes.get(key)
        if wall is None:
            if run_i is not None:
                dates = unpadded_dates(m.group(run_i))
                if len(dates) != 1:
                    return slow(m, r, read_us)  # two readings: the lines around decide, not cached
                year, month, day = dates[0]
            else:
                year = int(m.group(year_i))
                month_text = m.group(month_i)
                year = two_digit_year(year) if short_year else year
                month, day = MONTHS[month_text] if named else int(month_text), int(m.group(day_i))
            wall = wall_seconds(year, month, day, int(m.group(hour_i)), int(m.group(minute_i)), 0)
            if len(minutes) >= 4096:
                minutes.clear()
            minutes[key] = wall
        if wall < 0:
            return None
        if second_i is not None:
            second = int(m.group(second_i))
            if second > 60:
                return None
            wall += second if second < 60 else 59
        utc_s, dst = r.zone.utc_seconds(wall)
        ts = utc_s * 1_000_000
        if fraction_i is not None:
            ts += fraction_us(m.group(fraction_i))
        elif millis_i is not None:
            ts += int(m.group(millis_i)) * 1000
        if not 0 <= ts < MAX_US:
            return None
        return _new(EventTime, (ts, ASSUMED_ZONE, m.group(), dst + flags if dst else flags))

    return read


def _items(fmt: str) -> list[str]:
    """The format as directives (``%Y``, ``%-m``) and literal runs (a blank run is one item)."""
    items: list[str] = []
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c != "%":
            j = i + 1
            while j < len(fmt) and fmt[j] != "%" and fmt[j].isspace() == c.isspace():
                j += 1
            items.append(" " if c.isspace() else fmt[i:j])
            i = j
            continue
        directive = fmt[i + 1:i + 2]
        if directive in _SHORTHANDS:
            fmt = fmt[:i] + _SHORTHANDS[directive] + fmt[i + 2:]
            continue
        if directive == "-" and fmt[i + 2:i + 3] in _UNPADDED:
            items.append(fmt[i:i + 3])
            i += 3
            continue
        if directive != "%" and directive not in _DIRECTIVES:
            shown = f"%{fmt[i + 1:i + 3]}" if directive == "-" else f"%{directive}" if directive \
                else "a lone % at the end"
            raise FormatError(f"format {fmt!r}: unknown directive {shown}; supported: {_SUPPORTED}")
        items.append("%" + directive)
        i += 2
    return items


def _check_complete(fmt: str, seen: dict[str, str], time_only: bool) -> None:
    if "epoch" in seen:
        return
    needs = [
        ("an hour (%H, or %I with %p)", ("hour", "hour12")),
        ("minutes (%M)", ("minute",)),
    ]
    if not time_only or any(g in seen for g in ("month", "month_name", "month_full", "day")):
        needs[:0] = [("a month (%m, %b or %B)", ("month", "month_name", "month_full")),
                     ("a day (%d or %e)", ("day",))]
    missing = [what for what, groups in needs if not any(g in seen for g in groups)]
    if "hour12" in seen and "ampm" not in seen:
        missing.append("AM/PM (%p) for %I")
    if missing:
        raise FormatError(f"format {fmt!r} is missing {' and '.join(missing)}: expected a date and a "
                          "time, e.g. '%Y-%m-%d %H:%M:%S', or epoch seconds '%s'")


def unpadded_dates(run: str) -> list[tuple[int, int, int]]:
    """The dates (year, month, day) a run of digits written ``yyyyMd`` (month and day without
    padding) can be: ``20171223`` is 2017-12-23, ``201812`` 2018-01-02, ``2018111`` either
    2018-01-11 or 2018-11-01. A field of two digits does not start with 0 unless the whole run
    is padded (8 digits), so ``2018101`` is only 1 October."""
    year, rest = int(run[:4]), run[4:]
    out = []
    for cut in range(1, len(rest)):
        month, day = rest[:cut], rest[cut:]
        if len(month) > 2 or len(day) > 2:
            continue
        if len(rest) < 4 and "0" in (month[0], day[0]):
            continue
        if civil_days(year, int(month), int(day)) >= 0:
            out.append((year, int(month), int(day)))
    return out


def _read(m: re.Match[str], r: Resolver, read_us: int) -> EventTime | None:
    g = m.groupdict()
    run = g.get("ymd")
    if run is None:
        return _read_fields(g, m.group(), r, read_us, None)
    readings = (_read_fields(g, m.group(), r, read_us, date) for date in unpadded_dates(run))
    events = [e for e in readings if e is not None]
    return events[0] if len(events) == 1 else _nearest(events, r, read_us)


def _nearest(events: list[EventTime], r: Resolver, read_us: int) -> EventTime | None:
    """Of a date's readings, the one nearest the source's previous line (else the read time),
    none after the read time and its tolerance if another is not; flagged ``layout_unsettled``
    unless that settles it: it is within a month of the previous line, or the only one left."""
    if not events:
        return None
    limit = r.future_limit(read_us)
    plausible = [e for e in events if e.ts <= limit] or events
    anchor = r.last_us if r.last_us is not None else read_us
    best = min(plausible, key=lambda e: abs(e.ts - anchor))
    if len(plausible) == 1 or (r.last_us is not None and abs(best.ts - anchor) <= _NEAR_US):
        return best
    return EventTime(best.ts, best.source, best.raw, (*best.flags, LAYOUT_UNSETTLED))


def _read_fields(g: dict[str, Any], raw: str, r: Resolver, read_us: int,
                 date: tuple[int, int, int] | None) -> EventTime | None:
    millis = g.get("fraction_ms")
    micros = int(millis) * 1000 if millis is not None else fraction_us(g.get("fraction"))
    if g.get("epoch") is not None:
        ts = int(g["epoch"]) * 1_000_000 + micros
        return EventTime(ts, EXPLICIT, raw) if 0 <= ts < MAX_US else None
    if g.get("hour12") is not None:
        hour = int(g["hour12"])
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if g["ampm"][0] in "Pp" else 0)
    else:
        hour = int(g["hour"])
    minute, second = int(g["minute"]), int(g.get("second") or 0)
    offset: int | None = None
    abbreviation: str | None = None
    if g.get("zone") is not None:
        offset = offset_seconds(g["zone"])
        if offset is None:
            return None
    elif g.get("zone_name") is not None:
        abbreviation = g["zone_name"]
        if abbreviation not in ABBREVIATIONS:
            return None
    month_text = g.get("month_name") or g.get("month_full")
    if date is not None:
        year, month, day = date
    elif month_text is None and g.get("month") is None:
        if offset is not None or abbreviation is not None:
            return None  # a time of day with a zone but no date: not supported
        return r.time_of_day(hour, minute, second, micros, raw, read_us)
    else:
        month = _MONTH_NUMBERS[month_text] if month_text else int(g["month"])
        day = int(g["day"])
        if g.get("year") is not None:
            year = int(g["year"])
        elif g.get("year2") is not None:
            year = two_digit_year(int(g["year2"]))
        else:
            return r.yearless(month, day, hour, minute, second, micros, offset, raw, read_us, abbreviation)
    if abbreviation is not None:
        return r.abbreviated(wall_seconds(year, month, day, hour, minute, second), micros, abbreviation, raw)
    if offset is None:
        return r.assumed(year, month, day, hour, minute, second, micros, raw)
    return r.explicit(year, month, day, hour, minute, second, micros, offset, raw)
