"""Zone abbreviations written after a time (``09:14:03 JST``, ``Fri Nov 27 09:14:03 CET 2026``).

`ABBREVIATIONS` is the table (docs/timestamps.md shows it): each abbreviation with the UTC
offsets it is used for, the most common first. Most have one meaning. A few have several
(``IST``: India, Ireland, Israel; ``CST``: US Central, China, Cuba; ``BST``: British Summer,
Bangladesh; ``PST``: US Pacific, the Philippines; ``AST``: Atlantic, Arabia); they are
resolved by the source's zone when that zone itself uses the abbreviation at that time
(``IST`` in a source configured as ``Asia/Kolkata`` is +05:30, in ``Europe/Dublin`` +01:00),
otherwise the first meaning is taken and the line is flagged ``zone_ambiguous``.

The source's zone also settles a DST overlap exactly: in ``America/New_York``, ``01:30 EDT``
and ``01:30 EST`` on the night clocks go back are two different instants, both unflagged.
"""

from __future__ import annotations

import datetime as dt

import pytz

__all__ = ["ABBREVIATIONS", "ABBREVIATION_PATTERN", "ZONE_AMBIGUOUS", "abbreviation_offset"]

ZONE_AMBIGUOUS = "zone_ambiguous"

_H = 3600
ABBREVIATIONS: dict[str, tuple[int, ...]] = {
    "UTC": (0,), "GMT": (0,), "UT": (0,), "Z": (0,),
    # Asia and Oceania
    "JST": (9 * _H,), "KST": (9 * _H,), "HKT": (8 * _H,), "SGT": (8 * _H,), "AWST": (8 * _H,),
    "WIB": (7 * _H,), "ICT": (7 * _H,), "PKT": (5 * _H,), "NPT": (5 * _H + 2700,),
    "IST": (5 * _H + 1800, 1 * _H, 2 * _H), "IDT": (3 * _H,),
    "ACST": (9 * _H + 1800,), "ACDT": (10 * _H + 1800,), "AEST": (10 * _H,), "AEDT": (11 * _H,),
    "NZST": (12 * _H,), "NZDT": (13 * _H,), "CST": (-6 * _H, 8 * _H, -5 * _H),
    "PST": (-8 * _H, 8 * _H), "AST": (-4 * _H, 3 * _H), "BST": (1 * _H, 6 * _H),
    # Europe and Africa
    "WET": (0,), "WEST": (1 * _H,), "CET": (1 * _H,), "CEST": (2 * _H,), "MET": (1 * _H,),
    "MEST": (2 * _H,), "EET": (2 * _H,), "EEST": (3 * _H,), "MSK": (3 * _H,), "SAST": (2 * _H,),
    "WAT": (1 * _H,), "CAT": (2 * _H,), "EAT": (3 * _H,),
    # The Americas
    "EST": (-5 * _H,), "EDT": (-4 * _H,), "CDT": (-5 * _H, -4 * _H), "MST": (-7 * _H,),
    "MDT": (-6 * _H,), "PDT": (-7 * _H,), "AKST": (-9 * _H,), "AKDT": (-8 * _H,),
    "HST": (-10 * _H,), "ADT": (-3 * _H,), "NST": (-3 * _H - 1800,), "NDT": (-2 * _H - 1800,),
    "BRT": (-3 * _H,), "ART": (-3 * _H,),
}
# For patterns: longest first, and not followed by a letter (``ESTABLISHED`` is no zone).
ABBREVIATION_PATTERN = "(?:" + "|".join(sorted(ABBREVIATIONS, key=lambda a: (-len(a), a))) + ")(?![A-Za-z])"

_EPOCH_NAIVE = dt.datetime(1970, 1, 1)
_CACHE: dict[tuple[str, str, int], tuple[int, tuple[str, ...]]] = {}
_MAX_CACHE = 4096


def abbreviation_offset(abbreviation: str, zone: dt.tzinfo, zone_name: str,
                        local_s: int) -> tuple[int, tuple[str, ...]]:
    """The UTC offset (seconds east) meant by ``abbreviation`` written after the local wall
    time ``local_s`` (seconds since 1970-01-01 00:00 on the wall), and flags: the source's
    ``zone`` decides when it uses the abbreviation then; otherwise the table's first meaning,
    flagged ``zone_ambiguous`` when there are several."""
    key = (abbreviation, zone_name, local_s // 60)
    found = _CACHE.get(key)
    if found is None:
        found = _resolve(abbreviation, zone, local_s)
        if len(_CACHE) >= _MAX_CACHE:
            _CACHE.clear()
        _CACHE[key] = found
    return found


def _resolve(abbreviation: str, zone: dt.tzinfo, local_s: int) -> tuple[int, tuple[str, ...]]:
    naive = _EPOCH_NAIVE + dt.timedelta(seconds=local_s)
    if isinstance(zone, pytz.BaseTzInfo) and hasattr(zone, "localize"):
        # Both readings of a wall time in a DST change: the abbreviation picks between them.
        for is_dst in (True, False):
            aware = zone.localize(naive, is_dst=is_dst)
            if aware.tzname() == abbreviation:
                offset = aware.utcoffset()
                if offset is not None:
                    return int(offset.total_seconds()), ()
    meanings = ABBREVIATIONS[abbreviation]
    return meanings[0], (() if len(meanings) == 1 else (ZONE_AMBIGUOUS,))
