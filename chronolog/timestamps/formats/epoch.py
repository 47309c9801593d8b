"""Epoch counts: seconds (``1764202443``, ``1764202443.118``), milliseconds (13 digits),
microseconds (16) or nanoseconds (19) since 1970-01-01 UTC, always ``explicit``.

Only at the start of a line (after blanks or a bracket), as ``logcat -v epoch`` and many
scripts write them; a number elsewhere is more likely a size or an id. The digit count says
the unit, so seconds are 10 digits: 2001-09-09 onwards. Epoch values in JSON fields are read
by `jsonfield`.
"""

from __future__ import annotations

import re

from chronolog.timestamps.event import EXPLICIT, EventTime
from chronolog.timestamps.formats.base import Format, fraction_us
from chronolog.timestamps.resolve import MAX_US, Resolver

__all__ = ["DIGITS", "EPOCH", "epoch_event"]

# Three groups: whole seconds, their fraction; or a count in ms, µs or ns.
DIGITS = r"(?:(\d{10})(?:[.,](\d{1,9}))?|(\d{19}|\d{16}|\d{13}))(?!\d)"
_START = re.compile(r"\s*\[?(" + DIGITS + ")", re.ASCII)
_SCALE = {13: 1000, 16: 1, 19: 1}


def epoch_event(seconds: str | None, fraction: str | None, count: str | None, raw: str) -> EventTime | None:
    """The instant of an epoch count matched by `DIGITS`, or None beyond the accepted range."""
    if seconds is not None:
        ts = int(seconds) * 1_000_000 + fraction_us(fraction)
    elif count is not None:
        ts = int(count) * _SCALE[len(count)] if len(count) < 19 else int(count) // 1000
    else:
        return None
    return EventTime(ts, EXPLICIT, raw) if 0 <= ts < MAX_US else None


def _read(m: re.Match[str], r: Resolver, read_us: int) -> EventTime | None:
    raw, seconds, fraction, count = m.groups()
    return epoch_event(seconds, fraction, count, raw)


EPOCH = Format("epoch", _START, _read, anchored=True)
