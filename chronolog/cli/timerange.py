"""What a person types for ``--since`` and ``--until``, as instants. Pure.

Accepted: ``now``; an age such as ``30s``, ``15m``, ``2h``, ``7d`` (that long before now);
RFC 3339 with an offset; or a date and time without one (``2026-11-27 09:10``,
``2026-11-27T09:10:05``, ``2026-11-27``), read in the zone given, so the zone of every bound is
explicit.
"""

from __future__ import annotations

import datetime as dt
import re

from chronolog.timefmt import US_PER_S, BadTime, get_zone, parse_rfc3339
from chronolog.timestamps import localize

__all__ = ["parse_when"]

_AGE = re.compile(r"(\d+)\s*([smhd])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_LOCAL = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?")


def parse_when(text: str, now_us: int, zone: str) -> tuple[int, list[str]]:
    """The instant ``text`` names, and notes worth telling the user (e.g. a DST choice)."""
    text = text.strip()
    if text == "now":
        return now_us, []
    if m := _AGE.fullmatch(text):
        return now_us - int(m.group(1)) * _UNIT[m.group(2)] * US_PER_S, []
    try:
        return parse_rfc3339(text), []
    except BadTime:
        pass
    m = _LOCAL.fullmatch(text)
    if m is None:
        raise BadTime(
            f"cannot read {text!r} as a time: expected 'now', an age such as 15m or 2h, "
            "RFC 3339 such as 2026-11-27T09:10:00+09:00, or '2026-11-27 09:10' (in --zone)"
        )
    year, month, day, hour, minute, second = (int(p) if p else 0 for p in m.groups()[:6])
    micros = int((m.group(7) or "0").ljust(6, "0"))
    try:
        naive = dt.datetime(year, month, day, hour, minute, second, micros)
    except ValueError as e:
        raise BadTime(f"{text!r} is not a valid time: {e}") from None
    instant, flags = localize(naive, get_zone(zone))
    notes = [f"{text} falls in a DST change in {zone}; read as {flag.replace('_', ' ')}"
             for flag in flags]
    return instant, notes
