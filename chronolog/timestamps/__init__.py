"""Finding and normalising the event time of a log line.

`Normalizer` turns one raw line (and the source's IANA zone) into an `EventTime`: the instant
in microseconds since the epoch, how it was obtained (`ts_source`), DST flags and the matched
text. Rendering the instant in the configured output zone is `chronolog.timefmt.to_rfc3339`.

The rules (documented in docs/timestamps.md):

- ``explicit``: the text carried its offset (or ``Z``); it is used as is.
- ``assumed_zone``: the text had no offset; the source's zone is applied. A local time in a DST
  overlap takes the earlier instant and is flagged ``dst_ambiguous``; one in a DST gap is read
  with the offset in force before the gap (so it lands after the gap) and is flagged
  ``dst_nonexistent``.
- ``read_time``: no timestamp was found; the time the agent read the line is used.
"""

from chronolog.timestamps.normalize import (
    ASSUMED_ZONE,
    DST_AMBIGUOUS,
    DST_NONEXISTENT,
    EXPLICIT,
    INFERRED_YEAR,
    READ_TIME,
    TS_SOURCES,
    EventTime,
    Normalizer,
)

__all__ = [
    "ASSUMED_ZONE",
    "DST_AMBIGUOUS",
    "DST_NONEXISTENT",
    "EXPLICIT",
    "INFERRED_YEAR",
    "READ_TIME",
    "TS_SOURCES",
    "EventTime",
    "Normalizer",
]
