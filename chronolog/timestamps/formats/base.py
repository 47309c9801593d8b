"""What every format family shares: the `Format` record and small field readers. Pure."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from chronolog.timestamps.abbreviations import ABBREVIATIONS
from chronolog.timestamps.event import EventTime
from chronolog.timestamps.resolve import Resolver, wall_seconds

__all__ = [
    "AMPM",
    "AMPM_AFTER",
    "DIGITS",
    "LETTERS",
    "MONTHS",
    "MONTH_NAMES",
    "TIME_GOES_ON",
    "WEEKDAY_NAMES",
    "WINDOW",
    "Format",
    "Reader",
    "fraction_us",
    "offset_seconds",
    "read_day_month_year",
    "read_zoned",
    "two_digit_year",
]

# A timestamp must begin within the first WINDOW characters of a line: searching further
# would cost time on every line without a timestamp, and a 1 MB line is still one search.
WINDOW = 512

MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
MONTH_NAMES = "|".join(MONTHS)
WEEKDAY_NAMES = "Mon|Tue|Wed|Thu|Fri|Sat|Sun"
DIGITS = "0123456789"
# A time the line goes on from is not read there: a format must not stop in the middle of
# it. TIME_GOES_ON follows the seconds (or fraction) of a family that has no AM/PM: a ":" and
# digits (a count of milliseconds it does not read, a longer address) or AM/PM (a 12-hour
# time: read by the layout learner instead), also written "p.m." or "p. m." (.NET in es-MX,
# en-CA). AM/PM as a word only ("pm1", "am-gw" are hosts).
AMPM = r"AM|PM|am|pm|[AaPp]\. ?[Mm]\."
AMPM_AFTER = r" ?[AaPp](?:[Mm]|\. ?[Mm]\.)(?![\w.]|-[A-Za-z])"  # one class first: cheap on "INFO"
TIME_GOES_ON = rf"(?!:\d|{AMPM_AFTER})"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# One reader per pattern: the match's groups to an EventTime through the source's Resolver,
# or None when the fields are not a time (the search then goes on past this match).
Reader = Callable[[re.Match[str], Resolver, int], EventTime | None]


@dataclass(frozen=True, slots=True)
class Format:
    """One timestamp layout: where to look for it and how to read it."""

    name: str  # shown by `chronolog-agent parse` as ts_format, e.g. "rfc3164"
    pattern: re.Pattern[str]
    read: Reader
    # Only at the start of a line (after blanks or a bracket): a bare number or a two-digit
    # year is too weak a sign to trust anywhere else.
    anchored: bool = False
    # Wins over an earlier match of another format (a JSON time field beats any date that a
    # message field happens to hold before it).
    preferred: bool = False
    window: int = WINDOW
    # Characters that may not come just before a match: a time does not start inside a number
    # or a word. Checked here rather than with a look-behind at the head of the pattern, which
    # would stop the regex engine from skipping quickly to the places a match can start.
    not_after: str = ""
    # For a declared or learned format: its strftime-style text (shown by `parse --explain`).
    layout: str = ""
    # What lets a caller reading many lines reuse a reading (`chronolog.timestamps.lines`):
    # ``fraction`` is the group of the fraction-of-second digits, read with `fraction_us` and
    # right after the group of the seconds (0: none); ``tail`` is how many characters past the
    # fraction (or where it would be) the pattern may look at. A line that starts with the same
    # text as one read before, up to ``tail`` characters past the fraction, but for the fraction
    # digits, then has the same match and, in the same second, the same time but for the
    # fraction. 0: this format's readings are not reused (its reader looks past its match).
    fraction: int = 0
    tail: int = 0

    def find(self, line: str, resolver: Resolver, read_us: int, pos: int = 0,
             window: int = 0) -> tuple[int, EventTime] | None:
        """The first place in ``line`` from ``pos`` this format reads as a time: (where it
        starts, the time). ``window`` replaces the format's own search window when given."""
        found = self.locate(line, resolver, read_us, pos, window)
        return None if found is None else (found[0].start(), found[1])

    def locate(self, line: str, resolver: Resolver, read_us: int, pos: int = 0,
               window: int = 0) -> tuple[re.Match[str], EventTime] | None:
        """`find`, with the match itself instead of where it starts."""
        window = window or self.window
        if self.anchored:
            m = self.pattern.match(line, 0, window)
            if m is None:
                return None
            event = self.read(m, resolver, read_us)
            return None if event is None else (m, event)
        not_after = self.not_after
        while (m := self.pattern.search(line, pos, window)) is not None:
            start = m.start()
            if start and line[start - 1] in not_after:
                pos = start + 1
                continue
            if m.end() == window and len(line) > window:
                # Cut off by the window: read it whole (a fraction's last digits, say).
                m = self.pattern.match(line, start)
            if m is not None:
                event = self.read(m, resolver, read_us)
                if event is not None:
                    return m, event
            pos = start + 1
        return None


_SCALE = (1, 100_000, 10_000, 1_000, 100, 10, 1)


def fraction_us(digits: str | None) -> int:
    """Fraction-of-second digits (any number; beyond six are cut, not rounded) as µs."""
    if not digits:
        return 0
    n = len(digits)
    return int(digits) * _SCALE[n] if n <= 6 else int(digits[:6])


@functools.lru_cache(maxsize=256)
def offset_seconds(text: str) -> int | None:
    """A written UTC offset in seconds east: ``Z``, ``UTC``, ``GMT``, ``+09``, ``+0900``,
    ``+09:00`` (a leading blank allowed); None if it is not a real offset."""
    text = text.strip()
    if text in ("Z", "z", "UTC", "GMT"):
        return 0
    if text[:3] in ("UTC", "GMT"):
        text = text[3:]  # GMT+0900, as JavaScript's Date writes it
    digits = text[1:].replace(":", "")
    if text[:1] not in ("+", "-") or len(digits) not in (2, 4) or not (digits.isascii() and digits.isdigit()):
        return None
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 14 or minutes > 59:
        return None
    seconds = hours * 3600 + minutes * 60
    return seconds if text[0] == "+" else -seconds


def two_digit_year(yy: int) -> int:
    """The POSIX rule (as strptime's %y): 69-99 are 1969-1999, 00-68 are 2000-2068."""
    return yy + (1900 if yy >= 69 else 2000)


def read_day_month_year(m: re.Match[str], r: Resolver, read_us: int) -> EventTime | None:
    """The reader of patterns whose groups are day, month name, year, hour, minute, second,
    fraction and an optional zone (CLF, RFC 2822)."""
    day, month, year, hour, minute, second, fraction, _ = m.groups()
    wall = wall_seconds(int(year), MONTHS[month], int(day), int(hour), int(minute), int(second))
    return read_zoned(m, r, wall, fraction_us(fraction), 8)


def read_zoned(m: re.Match[str], r: Resolver, wall: int, micros: int, zone_group: int) -> EventTime | None:
    """A wall time (`wall_seconds`) with what the pattern's ``zone_group`` caught after it: an
    offset (``explicit``), a zone abbreviation (``explicit``, perhaps ``zone_ambiguous``),
    nothing (the source's zone), or a word that is not a zone (``INFO``: left out of ts_raw)."""
    if wall < 0:
        return None
    zone = m.group(zone_group)
    if zone is None:
        return r.local(wall, micros, m.group())
    offset = offset_seconds(zone)
    if offset is not None:
        return r.utc(wall - offset, micros, m.group())
    name = zone.strip()
    if name in ABBREVIATIONS:
        return r.abbreviated(wall, micros, name, m.group())
    if not name.isalpha():
        return None
    raw = m.group()[:m.start(zone_group) - m.start()]
    return r.local(wall, micros, raw)
