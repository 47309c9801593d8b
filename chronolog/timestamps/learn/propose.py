"""Candidate layouts for one line: the date-and-time shapes its start can be read as. Pure.

The start of the line (`LIMIT` characters) is cut into tokens: digit runs, letter runs (month
and weekday names, ``AM``/``PM``, zone abbreviations, ``T``), blank runs and single
punctuation. A **time** is an hour, minutes and (for ``.``) seconds: ``09:14``, ``9:14:03``,
``0:9:5`` (unpadded, as Java's ``H:m:s``), ``15.42.50`` (padded), then optionally a fraction
and ``AM``/``PM`` and a zone (``Z``, ``+0900``, ``+09:00``, ``GMT+0900``, ``JST``). A fraction
after ``.`` or ``,`` is decimal (``%f``: ``.5`` is half a second); after ``:`` it is a count
of milliseconds (``%L``: ``:5`` is 5 ms, as Java's ``S`` writes it; ``:118`` reads the same
either way), or decimal beyond three digits. A time the line visibly goes on from
(``12:34:567``, ``1:2:3:4:5``) is no time. Just before it, after a glue of a blank, ``T``,
``-``, ``|``, ``:``, ``::``, ``_``, ``,``, ``/`` or ``@``, a **date** is looked for:

- three parts with one separator (``-``, ``/``, ``.``, or a blank next to a month name): a
  4- or 2-digit year first or last, a month as a number or a name, a day;
- ``Nov 27, 2026`` (java.util.logging);
- two parts without a year (``11-27``, ``10.30``, ``27 Nov``, ``Nov 27``);
- a digit run: ``20171223`` (yyyymmdd), ``171223`` (yymmdd), ``201812`` or ``2018111``
  (``yyyyMd``, unpadded: `unpadded_dates`), ``1127`` (mmdd, as klog's ``I1127``, only at
  the line's start).

Each reading that gives valid fields is a candidate, written as a strftime-style layout
(`chronolog.timestamps.declared`): ``27/11/2026`` gives ``%d/%m/%Y``, ``05/11/2026`` both
``%m/%d/%Y`` and ``%d/%m/%Y``. The first time with a date wins; a time with nothing numeric
before it and no date is a time of day alone. The candidates come most likely first: year
first, then day first for ``.`` and ``-``, month first for ``/`` and for dates without a year.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from chronolog.timestamps.abbreviations import ABBREVIATIONS
from chronolog.timestamps.declared import unpadded_dates
from chronolog.timestamps.formats.base import MONTHS

__all__ = ["LIMIT", "Proposal", "propose"]

LIMIT = 256
_TOKEN = re.compile(r"\d+|[A-Za-z]+|[ \t]+|.", re.ASCII)
_GLUES = {" ", "T", "-", "|", ":", "::", "_", ",", ", ", "/", "@"}
_DATE_SEPARATORS = {"-", "/", "."}
_AMPM = {"AM", "PM", "am", "pm"}


class Proposal(NamedTuple):
    layout: str
    time_only: bool
    at_start: bool = True  # the time (of a time-only layout) begins the line, after blanks or "["


class _Tok(NamedTuple):
    kind: str  # "d" digits, "a" letters, "s" blanks, "p" punctuation
    text: str


def propose(line: str) -> list[Proposal]:
    """The candidate layouts of ``line``, most likely first; empty when none."""
    toks = [_Tok("d" if t[0].isdigit() else "a" if t[0].isalpha() else "s" if t[0] in " \t" else "p", t)
            for t in _TOKEN.findall(line, 0, LIMIT)]
    time_only: list[Proposal] = []
    digits_before = False
    for i, tok in enumerate(toks):
        if tok.kind != "d":
            continue
        time = _time_at(toks, i)
        if time is not None:
            dates = _dates_before(toks, i)
            found = [Proposal(date + time, False) for date in dates]
            if _ends_a_date(toks, i, dates):
                # "01-01-00:12:00:00": the 00 ends a date and the time starts at 12, most
                # likely; "01-01-00:12:00:0 AM" says so, "01-01-00:12:00:5:7" says otherwise.
                later = _time_at(toks, i + 2) or ""
                found[:0] = [Proposal(date + later, False) for date in _dates_before(toks, i + 2)]
            if found:
                return found
            if not digits_before and not time_only and ":" in time and "%S" in time \
                    and (i == 0 or toks[i - 1].text not in (".", ":", "-", "/")):
                before = "".join(t.text for t in toks[:i])
                time_only.append(Proposal(time, True, before.strip(" \t[") == ""))
        digits_before = True
    return time_only


def _ends_a_date(toks: list[_Tok], i: int, dates: list[str]) -> bool:
    """Token ``i`` (read as an hour) may rather be the year ending a date glued to the time by
    a colon: ``01-01-00:12:00:00``. Not when a date with a year already comes before it
    (``2000 Jan 01 00:00:01:00``)."""
    if toks[i + 1].text != ":" or not _three_parts(toks, i) or any("%Y" in d or "%y" in d for d in dates):
        return False
    return "%S" in (_time_at(toks, i + 2) or "")


def _time_at(toks: list[_Tok], i: int) -> str | None:
    """The time layout starting at token ``i`` (an hour), or None. Minutes and seconds after
    ``:`` may be unpadded (``0:9:5``); a dotted time (``15.42.50``) is a weaker sign and must be
    padded. A time the line visibly goes on from (``12:34:567``, ``1:2:3:4:5``, an address) is
    none: a layout must not stop in the middle of it."""
    n = len(toks)
    if not (len(toks[i].text) <= 2 and i + 2 < n and toks[i + 1].text in (":", ".")
            and toks[i + 2].kind == "d"):
        return None
    sep = toks[i + 1].text
    widths = (1, 2) if sep == ":" else (2,)
    if len(toks[i + 2].text) not in widths:
        return None
    hour, minute = int(toks[i].text), int(toks[i + 2].text)
    k = i + 3
    goes_on = k + 1 < n and toks[k].text == sep and toks[k + 1].kind == "d"
    if goes_on and len(toks[k + 1].text) not in widths:
        return None
    if sep == "." and not goes_on:
        return None
    layout = f"%H{sep}%M"
    if goes_on:
        if int(toks[k + 1].text) > 60:
            return None
        layout += f"{sep}%S"
        k += 2
        mark = toks[k].text if k < n else ""
        if mark in (".", ",", ":") and k + 1 < n and toks[k + 1].kind == "d":
            if (mark == ":" and sep != ":") or len(toks[k + 1].text) > 9:
                return None
            if k + 3 < n and toks[k + 2].text in (".", ":", mark) and toks[k + 3].kind == "d":
                # More numbers the same way: a version or an address, not a time; but a
                # comma list (CSV) after the seconds is only the next field.
                if mark != ",":
                    return None
            else:
                # After a colon, a count of milliseconds (Java's S: ":6" is 6 ms); after "."
                # or ",", a decimal fraction.
                layout += mark + ("%L" if mark == ":" and len(toks[k + 1].text) <= 3 else "%f")
                k += 2
    if minute > 59 or hour > 23:
        return None
    blank = " " if k < n and toks[k].kind == "s" else ""
    j = k + (1 if blank else 0)
    marker = _ampm_at(toks, j)
    if marker and 1 <= hour <= 12:
        layout = layout.replace("%H", "%I") + blank + "%p"
        k = j + marker
        blank = " " if k < n and toks[k].kind == "s" else ""
        j = k + (1 if blank else 0)
    return layout + _zone_at(toks, j, blank)


def _ampm_at(toks: list[_Tok], j: int) -> int:
    """How many tokens an AM/PM marker at ``j`` takes (``PM``, ``pm``, ``p.m.``, ``p. m.``), or 0."""
    if j < len(toks) and toks[j].text in _AMPM:
        return 1 if _a_word(toks, j) else 0
    dotted = "".join(t.text for t in toks[j:j + 5]).replace(" ", "")
    if dotted[:4].lower() in ("a.m.", "p.m."):
        taken = 5 if toks[j + 2].kind == "s" else 4
        return taken if _a_word(toks, j + taken - 1) else 0
    return 0


def _a_word(toks: list[_Tok], j: int) -> bool:
    """Token ``j`` stands alone (as AM/PM does), not as part of a name: "pm1", "am-gw"."""
    after = toks[j + 1].text if j + 1 < len(toks) else ""
    if after == "-":
        return not (j + 2 < len(toks) and toks[j + 2].kind == "a")
    return not (after[:1].isalnum() or after in (".", "_"))


def _zone_at(toks: list[_Tok], j: int, blank: str) -> str:
    n = len(toks)
    if j >= n:
        return ""
    tok = toks[j]
    after = toks[j + 1].text if j + 1 < n else ""
    if tok.kind == "a" and tok.text in ABBREVIATIONS and tok.text != "Z" and not after[:1].isalnum():
        if tok.text in ("GMT", "UTC") and after in ("+", "-"):
            return blank + "%z" if _offset_digits(toks, j + 2) else blank + "%Z"
        return blank + "%Z"
    if tok.text == "Z" and not blank:
        return "%z"
    if tok.text in ("+", "-") and _offset_digits(toks, j + 1):
        return blank + "%z"
    return ""


def _offset_digits(toks: list[_Tok], j: int) -> bool:
    n = len(toks)
    if j >= n or toks[j].kind != "d":
        return False
    if len(toks[j].text) == 4:
        return True
    return len(toks[j].text) == 2 and j + 2 < n and toks[j + 1].text == ":" and len(toks[j + 2].text) == 2


def _dates_before(toks: list[_Tok], i: int) -> list[str]:
    """Date layouts (each ending with its glue) that end just before token ``i``."""
    if i >= 4 and toks[i - 1].text == "=" and toks[i - 2].kind == "a" and toks[i - 3].kind == "s":
        # logfmt-style fields: date=2026-11-27 time=09:14:03
        dates = _dates_ending_at(toks, i - 4)
        if dates:
            return [d + " " + toks[i - 2].text + "=" for d in dates]
    for glue_len in (0, 1, 2):
        k = i - 1 - glue_len
        if k < 0:
            break
        glue = "".join(t.text for t in toks[k + 1:i])
        if glue_len and (toks[k + 1].kind == "d" or toks[i - 1].kind == "d"):
            continue
        shown = " " if glue.strip(" \t") == "" and glue else glue
        if glue_len == 2 and toks[k + 2].kind == "s":
            shown = toks[k + 1].text + " "
        if shown not in _GLUES and glue_len != 0:
            continue
        if glue_len == 0 and toks[k].kind != "d":
            continue
        dates = _dates_ending_at(toks, k)
        if dates:
            return [d + (shown if glue_len else "") for d in dates]
    return []


def _month(tok: _Tok) -> int | None:
    if tok.kind == "a":
        return MONTHS.get(tok.text)
    return None


def _dates_ending_at(toks: list[_Tok], k: int) -> list[str]:
    tok = toks[k]
    # A digit run holding the whole date.
    after_separator = k >= 1 and toks[k - 1].text in _DATE_SEPARATORS | {":"}
    if tok.kind == "d" and len(tok.text) in (8, 7, 6, 4) and not after_separator:
        run = _digit_run(toks, k)
        if run:
            return run
    # java.util.logging: Nov 27, 2026
    if tok.kind == "d" and len(tok.text) == 4 and k >= 5 and toks[k - 1].kind == "s" \
            and toks[k - 2].text == "," and toks[k - 3].kind == "d" and toks[k - 4].kind == "s" \
            and _month(toks[k - 5]):
        return ["%b %d, %Y"] if _valid(int(tok.text), _month(toks[k - 5]) or 0, int(toks[k - 3].text)) else []
    found = _three_parts(toks, k)
    if found:
        return found
    return _two_parts(toks, k)


def _digit_run(toks: list[_Tok], k: int) -> list[str]:
    t = toks[k].text
    if len(t) == 8 and _valid(int(t[:4]), int(t[4:6]), int(t[6:])):
        return ["%Y%m%d"]
    out = []
    if len(t) == 6 and _valid(2000, int(t[2:4]), int(t[4:])):
        out.append("%y%m%d")
    if len(t) in (6, 7) and unpadded_dates(t):
        out.append("%Y%-m%-d")  # Java's yyyyMd: 201812 is 2 January 2018
    if out:
        return out
    if len(t) == 4 and (k == 0 or (k == 1 and toks[0].kind == "a" and len(toks[0].text) == 1)) \
            and _valid(2000, int(t[:2]), int(t[2:])):
        return ["%m%d"]
    return []


def _three_parts(toks: list[_Tok], k: int) -> list[str]:
    if k < 4:
        return []
    a, s1, b, s2, c = toks[k - 4:k + 1]
    if s1.text != s2.text or (s1.text not in _DATE_SEPARATORS and s1.kind != "s"):
        return []
    if k >= 5 and toks[k - 5].kind == "d":
        return []
    s = " " if s1.kind == "s" else s1.text
    names = [_month(t) for t in (a, b, c)]
    if any(t.kind not in ("d", "a") for t in (a, b, c)) or (s == " " and not any(names)):
        return []
    out: list[str] = []
    if names[0] and b.kind == "d" and c.kind == "d":  # Nov 27 2026
        year = _year(c.text)
        if year and _valid(year, names[0], int(b.text)):
            out.append(f"%b{s}%d{s}{_ydir(c.text)}")
    elif names[1] and a.kind == "d" and c.kind == "d":
        if len(a.text) == 4 and _valid(int(a.text), names[1], int(c.text)):
            out.append(f"%Y{s}%b{s}%d")
        year = _year(c.text)
        if year and len(a.text) <= 2 and _valid(year, names[1], int(a.text)):
            out.append(f"%d{s}%b{s}{_ydir(c.text)}")
    elif a.kind == b.kind == c.kind == "d" and not any(names):
        la, lb, lc = len(a.text), len(b.text), len(c.text)
        va, vb, vc = int(a.text), int(b.text), int(c.text)
        if lb > 2:
            return []
        if la == 4 and lc <= 2 and _valid(va, vb, vc):
            out.append(f"%Y{s}%m{s}%d")
        if la == lc == 2 and _valid(2000 + va, vb, vc):
            out.append(f"%y{s}%m{s}%d")
        if lc in (2, 4) and la <= 2:
            year = _year(c.text) or 0
            dmy = f"%d{s}%m{s}{_ydir(c.text)}" if _valid(year, vb, va) else None
            mdy = f"%m{s}%d{s}{_ydir(c.text)}" if _valid(year, va, vb) else None
            pair = [mdy, dmy] if s == "/" else [dmy, mdy]
            out.extend(p for p in pair if p)
    return out


def _two_parts(toks: list[_Tok], k: int) -> list[str]:
    if k < 2:
        return []
    a, s1, b = toks[k - 2:k + 1]
    if s1.text not in _DATE_SEPARATORS and s1.kind != "s":
        return []
    if k >= 3 and (toks[k - 3].kind == "d" or toks[k - 3].text in _DATE_SEPARATORS):
        return []
    s = " " if s1.kind == "s" else s1.text
    ma, mb = _month(a), _month(b)
    if ma and b.kind == "d" and len(b.text) <= 2 and _valid(2000, ma, int(b.text)):
        return [f"%b{s}%d"]
    if mb and a.kind == "d" and len(a.text) <= 2 and _valid(2000, mb, int(a.text)):
        return [f"%d{s}%b"]
    if s == " " or a.kind != "d" or b.kind != "d" or len(a.text) > 2 or len(b.text) > 2:
        return []
    va, vb = int(a.text), int(b.text)
    out = []
    if _valid(2000, va, vb):
        out.append(f"%m{s}%d")
    if _valid(2000, vb, va):
        out.append(f"%d{s}%m")
    return out


def _year(text: str) -> int | None:
    if len(text) == 4:
        year = int(text)
        return year if 1970 <= year <= 2199 else None
    return 2000 + int(text) if len(text) == 2 else None


def _ydir(text: str) -> str:
    return "%Y" if len(text) == 4 else "%y"


def _valid(year: int, month: int, day: int) -> bool:
    if not (1970 <= year <= 2199 and 1 <= month <= 12 and 1 <= day <= 31):
        return False
    return day <= (29 if month == 2 else 30 if month in (4, 6, 9, 11) else 31)
