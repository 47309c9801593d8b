"""A declared, strftime-style format, compiled once to a regular expression. Pure.

Directives: ``%Y`` (4-digit year), ``%y`` (2-digit: 69-99 are 1969-1999, 00-68 are
2000-2068), ``%m``, ``%b``/``%h`` (``Nov``), ``%B`` (``November``), ``%d``, ``%e`` (day, blank
padded), ``%H``, ``%I`` with ``%p`` (``AM``/``PM``), ``%M``, ``%S``, ``%f`` (1 to 9 fraction
digits), ``%z`` (``Z``, ``+09``, ``+0900``, ``+09:00``), ``%Z`` (only ``UTC``, ``GMT`` or
``Z``: abbreviations such as ``CST`` mean different zones), ``%a``/``%A`` (weekday, not
checked), ``%s`` (epoch seconds), ``%T`` (``%H:%M:%S``), ``%F`` (``%Y-%m-%d``), ``%%``.
A blank matches one or more blanks; any other character matches itself.

A format needs a month, a day, an hour and a minute, or ``%s``. Without ``%Y``/``%y`` the year is
inferred (``inferred_year``); without ``%z``/``%Z`` the source's zone applies. The format may
match anywhere in the first `WINDOW` characters of a line, so a prefix needs no directive.
"""

from __future__ import annotations

import re

from chronolog.timestamps.event import EXPLICIT, EventTime
from chronolog.timestamps.formats.base import (
    DIGITS,
    MONTH_NAMES,
    MONTHS,
    WEEKDAY_NAMES,
    Format,
    fraction_us,
    offset_seconds,
    two_digit_year,
)
from chronolog.timestamps.resolve import MAX_US, Resolver

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
    "z": ("zone", r"Z|z|[+-]\d\d(?::?\d\d)?"),
    "Z": ("zone", r"UTC|GMT|Z"),
    "a": (None, WEEKDAY_NAMES),
    "A": (None, _FULL_WEEKDAYS),
    "s": ("epoch", r"\d{1,12}"),
}
_SHORTHANDS = {"T": "%H:%M:%S", "F": "%Y-%m-%d"}
_SUPPORTED = " ".join(f"%{c}" for c in [*_DIRECTIVES, *_SHORTHANDS, "%"])
_MONTH_NUMBERS = {**MONTHS, **{name: n for n, name in enumerate(_FULL_MONTHS, 1)}}


class FormatError(ValueError):
    """A declared format that cannot be used; ``str()`` says what is wrong and what is expected."""


def compile_format(fmt: str) -> Format:
    """The `Format` for a strftime-style ``fmt``; raises `FormatError` naming the problem."""
    if not fmt.strip():
        raise FormatError("the format is empty: expected strftime-style text such as '%Y-%m-%d %H:%M:%S'")
    expanded = fmt
    parts: list[str] = []
    seen: dict[str, str] = {}
    i = 0
    while i < len(expanded):
        c = expanded[i]
        if c != "%":
            if c.isspace():
                while i + 1 < len(expanded) and expanded[i + 1].isspace():
                    i += 1
                parts.append(r"\s+")
            else:
                parts.append(re.escape(c))
            i += 1
            continue
        directive = expanded[i + 1:i + 2]
        if directive in _SHORTHANDS:
            expanded = expanded[:i] + _SHORTHANDS[directive] + expanded[i + 2:]
            continue
        i += 2
        if directive == "%":
            parts.append("%")
            continue
        if directive not in _DIRECTIVES:
            shown = f"%{directive}" if directive else "a lone % at the end"
            raise FormatError(f"format {fmt!r}: unknown directive {shown}; supported: {_SUPPORTED}")
        group, regex = _DIRECTIVES[directive]
        if group is None:
            parts.append(f"(?:{regex})")
            continue
        if group in seen or (group.startswith("month") and any(g.startswith("month") for g in seen)):
            raise FormatError(f"format {fmt!r}: %{directive} repeats what it already has")
        seen[group] = directive
        parts.append(f"(?P<{group}>{regex})")
    _check_complete(fmt, seen)
    body = "".join(parts)
    # Not in the middle of a number: a format starting or ending with digits stops at digits.
    pattern = re.compile(f"{body}(?!\\d)", re.ASCII)
    return Format(DECLARED, pattern, _read, not_after=DIGITS)


def _check_complete(fmt: str, seen: dict[str, str]) -> None:
    if "epoch" in seen:
        return
    missing = [what for what, groups in (
        ("a month (%m, %b or %B)", ("month", "month_name", "month_full")),
        ("a day (%d or %e)", ("day",)),
        ("an hour (%H, or %I with %p)", ("hour", "hour12")),
        ("minutes (%M)", ("minute",)),
    ) if not any(g in seen for g in groups)]
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
    month_text = g.get("month_name") or g.get("month_full")
    month = _MONTH_NUMBERS[month_text] if month_text else int(g["month"])
    day = int(g["day"])
    if g.get("hour12") is not None:
        hour = int(g["hour12"])
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if g["ampm"].upper() == "PM" else 0)
    else:
        hour = int(g["hour"])
    minute, second = int(g["minute"]), int(g.get("second") or 0)
    offset = None if g.get("zone") is None else offset_seconds(g["zone"])
    if g.get("zone") is not None and offset is None:
        return None
    if g.get("year") is not None:
        year = int(g["year"])
    elif g.get("year2") is not None:
        year = two_digit_year(int(g["year2"]))
    else:
        return r.yearless(month, day, hour, minute, second, micros, offset, raw, read_us)
    if offset is None:
        return r.assumed(year, month, day, hour, minute, second, micros, raw)
    return r.explicit(year, month, day, hour, minute, second, micros, offset, raw)
