"""A strftime-style format (declared by the operator, or learned by `learn`), compiled once
to a regular expression. Pure.

Directives: ``%Y`` (4-digit year), ``%y`` (2-digit: 69-99 are 1969-1999, 00-68 are
2000-2068), ``%m``, ``%b``/``%h`` (``Nov``), ``%B`` (``November``), ``%d``, ``%e`` (day, blank
padded), ``%H``, ``%I`` with ``%p`` (``AM``/``PM``), ``%M``, ``%S``, ``%f`` (1 to 9 fraction
digits), ``%z`` (``Z``, ``+09``, ``+0900``, ``+09:00``, ``GMT+0900``), ``%Z`` (a zone
abbreviation from the table in `abbreviations`: ``UTC``, ``JST``, ``CET``...), ``%a``/``%A``
(weekday, not checked), ``%s`` (epoch seconds), ``%T`` (``%H:%M:%S``), ``%F`` (``%Y-%m-%d``),
``%%``. A blank matches one or more blanks; any other character matches itself. Two numeric
directives side by side (``%Y%m%d``) take exactly their width; apart, ``%m``, ``%d`` and ``%H``
take one or two digits.

A format needs a month, a day, an hour and a minute, or ``%s``. Without ``%Y``/``%y`` the year is
inferred (``inferred_year``); without ``%z``/``%Z`` the source's zone applies. The format may
match anywhere in the first `WINDOW` characters of a line, so a prefix needs no directive.
A learned format may also be a time of day alone (``inferred_date``).
"""

from __future__ import annotations

import re

from chronolog.timestamps.abbreviations import ABBREVIATIONS
from chronolog.timestamps.event import ASSUMED_ZONE, EXPLICIT, EventTime
from chronolog.timestamps.formats.base import (
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
from chronolog.timestamps.resolve import MAX_US, Resolver, wall_seconds

__all__ = ["DECLARED", "FormatError", "compile_format"]

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
    "p": ("ampm", r"AM|PM|am|pm"),
    "M": ("minute", r"\d\d"),
    "S": ("second", r"\d\d"),
    "f": ("fraction", r"\d{1,9}"),
    "z": ("zone", r"Z|z|(?:UTC|GMT)?[+-]\d\d(?::?\d\d)?"),
    "Z": ("zone_name", r"[A-Z]{1,5}(?![A-Za-z])"),
    "a": (None, WEEKDAY_NAMES),
    "A": (None, _FULL_WEEKDAYS),
    "s": ("epoch", r"\d{1,12}"),
}
# Side by side with another numeric directive, a field takes exactly its width.
_EXACT = {"m": r"\d\d", "d": r"\d\d", "e": r"[ \d]\d", "H": r"\d\d", "I": r"\d\d"}
_NUMERIC = set("YymdeHIMSfs")
_SHORTHANDS = {"T": "%H:%M:%S", "F": "%Y-%m-%d"}
_SUPPORTED = " ".join(f"%{c}" for c in [*_DIRECTIVES, *_SHORTHANDS, "%"])
_new = tuple.__new__  # builds an EventTime at half the cost of calling it
_MONTH_NUMBERS = {**MONTHS, **{name: n for n, name in enumerate(_FULL_MONTHS, 1)}}


class FormatError(ValueError):
    """A format that cannot be used; ``str()`` says what is wrong and what is expected."""


def compile_format(fmt: str, *, name: str = DECLARED, time_only: bool = False,
                   flags: tuple[str, ...] = ()) -> Format:
    """The `Format` for a strftime-style ``fmt``; raises `FormatError` naming the problem.
    ``time_only`` lets it be a time of day without a date; ``flags`` are added to every
    time it reads (a learned format's ``learned``)."""
    if not fmt.strip():
        raise FormatError("the format is empty: expected strftime-style text such as '%Y-%m-%d %H:%M:%S'")
    items = _items(fmt)
    parts: list[str] = []
    seen: dict[str, str] = {}
    for i, item in enumerate(items):
        if not item.startswith("%"):
            parts.append(r"\s+" if item.isspace() else re.escape(item))
            continue
        directive = item[1]
        if directive == "%":
            parts.append("%")
            continue
        group, regex = _DIRECTIVES[directive]
        neighbours = [items[j] for j in (i - 1, i + 1) if 0 <= j < len(items)]
        if directive in _EXACT and any(n[:1] == "%" and n[1:] in _NUMERIC for n in neighbours):
            regex = _EXACT[directive]
        if group is None:
            parts.append(f"(?:{regex})")
            continue
        if group in seen or (group.startswith("month") and any(g.startswith("month") for g in seen)) \
                or (group.startswith("zone") and any(g.startswith("zone") for g in seen)):
            raise FormatError(f"format {fmt!r}: %{directive} repeats what it already has")
        seen[group] = directive
        parts.append(f"(?P<{group}>{regex})")
    _check_complete(fmt, seen, time_only)
    body = "".join(parts)
    # Not in the middle of a number: a format starting or ending with digits stops at digits.
    pattern = re.compile(f"{body}(?!\\d)", re.ASCII)

    fast = _fast_reader(pattern, seen, flags)
    if fast is not None:
        return Format(name, pattern, fast, not_after=DIGITS, layout=fmt)

    def read(m: re.Match[str], r: Resolver, read_us: int) -> EventTime | None:
        event = _read(m, r, read_us)
        if event is None or not flags:
            return event
        return EventTime(event.ts, event.source, event.raw, event.flags + flags)

    return Format(name, pattern, read if flags else _read, not_after=DIGITS, layout=fmt)


def _fast_reader(pattern: re.Pattern[str], seen: dict[str, str], flags: tuple[str, ...]) -> Reader | None:
    """For the common shape (a year, a month, a day, 24-hour time, no zone): a reader that
    works out the wall seconds of each minute once, as the ISO 8601 reader does (a settled
    learned layout must keep up with the families)."""
    groups = set(seen)
    if not ({"year", "year2"} & groups and {"month", "month_name"} & groups and "day" in groups
            and "hour" in groups) or groups & {"zone", "zone_name", "hour12", "epoch", "month_full"}:
        return None
    index = pattern.groupindex
    year_i = index.get("year") or index["year2"]
    short_year = "year2" in index
    month_i = index.get("month") or index["month_name"]
    named = "month_name" in index
    day_i, hour_i, minute_i = index["day"], index["hour"], index["minute"]
    second_i, fraction_i = index.get("second"), index.get("fraction")
    minutes: dict[str, int] = {}

    def read(m: re.Match[str], r: Resolver, read_us: int) -> EventTime | None:
        key = m.string[m.start():m.end(minute_i)]
        wall = minutes.get(key)
        if wall is None:
            year = int(m.group(year_i))
            month_text = m.group(month_i)
            wall = wall_seconds(two_digit_year(year) if short_year else year,
                                MONTHS[month_text] if named else int(month_text), int(m.group(day_i)),
                                int(m.group(hour_i)), int(m.group(minute_i)), 0)
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
        ts = utc_s * 1_000_000 + (fraction_us(m.group(fraction_i)) if fraction_i else 0)
        if not 0 <= ts < MAX_US:
            return None
        return _new(EventTime, (ts, ASSUMED_ZONE, m.group(), dst + flags if dst else flags))

    return read


def _items(fmt: str) -> list[str]:
    """The format as directives (``%Y``) and literal runs (a blank run is one item)."""
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
        if directive != "%" and directive not in _DIRECTIVES:
            shown = f"%{directive}" if directive else "a lone % at the end"
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


def _read(m: re.Match[str], r: Resolver, read_us: int) -> EventTime | None:
    g = m.groupdict()
    raw = m.group()
    micros = fraction_us(g.get("fraction"))
    if g.get("epoch") is not None:
        ts = int(g["epoch"]) * 1_000_000 + micros
        return EventTime(ts, EXPLICIT, raw) if 0 <= ts < MAX_US else None
    if g.get("hour12") is not None:
        hour = int(g["hour12"])
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if g["ampm"].upper() == "PM" else 0)
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
    if month_text is None and g.get("month") is None:
        if offset is not None or abbreviation is not None:
            return None  # a time of day with a zone but no date: not supported
        return r.time_of_day(hour, minute, second, micros, raw, read_us)
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
