"""What the engine answers for one line: `EventTime`, and the names of its provenance."""

from __future__ import annotations

from typing import NamedTuple

from chronolog.timestamps.zone import DST_AMBIGUOUS, DST_NONEXISTENT

__all__ = [
    "ASSUMED_ZONE",
    "DST_AMBIGUOUS",
    "DST_NONEXISTENT",
    "EXPLICIT",
    "INFERRED_DATE",
    "INFERRED_YEAR",
    "LAYOUT_UNSETTLED",
    "LEARNED",
    "READ_TIME",
    "TS_SOURCES",
    "EventTime",
]

EXPLICIT = "explicit"  # the text carried its zone, or was an epoch count
ASSUMED_ZONE = "assumed_zone"  # a date and time without a zone: the source's zone applied
INFERRED_YEAR = "inferred_year"  # no year in the text: inferred from the read time
INFERRED_DATE = "inferred_date"  # a time of day only: the date from the lines around it
READ_TIME = "read_time"  # no timestamp found: the time the agent read the line
TS_SOURCES = (EXPLICIT, ASSUMED_ZONE, INFERRED_YEAR, INFERRED_DATE, READ_TIME)

# ts_flags beside the DST ones (and zone_ambiguous, `abbreviations`):
LEARNED = "learned"  # read with a layout the engine learned for this source (no family has it)
# The learner's candidate layouts disagree on this line, or its unpadded date reads two ways.
LAYOUT_UNSETTLED = "layout_unsettled"


class EventTime(NamedTuple):
    """An event's instant and how it was obtained.

    A named tuple rather than a dataclass: one is built per log line, and a tuple is the
    cheapest object Python builds.
    """

    ts: int  # microseconds since the epoch, UTC
    source: str  # one of TS_SOURCES
    raw: str | None  # the matched timestamp text; None when none was found
    flags: tuple[str, ...] = ()  # DST_AMBIGUOUS, DST_NONEXISTENT, ZONE_AMBIGUOUS, LEARNED, ...
