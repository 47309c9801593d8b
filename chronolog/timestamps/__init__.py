"""Finding and normalising the event time of a log line (#14). Pure; no IO.

`Normalizer` turns one raw line (and the source's IANA zone) into an `EventTime`: the instant
in microseconds since the epoch, how it was obtained (``ts_source``), DST flags and the
matched text. Rendering the instant in the output zone is `chronolog.timefmt.to_rfc3339`.

- ``explicit``: the text carried its offset (or ``Z``), or was an epoch count: used as is.
- ``assumed_zone``: a date and time without an offset: the source's zone is applied. A local
  time in a DST overlap takes the earlier instant and is flagged ``dst_ambiguous``; one in a
  DST gap is read with the offset in force before the gap (so it lands after the gap) and is
  flagged ``dst_nonexistent``.
- ``inferred_year``: no year in the text: the one putting the event closest to the read
  time, not more than ``future_tolerance`` after it; the zone as for ``assumed_zone``.
- ``read_time``: no timestamp found: the time the agent read the line.

The modules: `normalize` (the dispatcher and its per-source cache), `formats/` (one module per
format family), `declared` (strftime-style formats), `resolve` (fields to instants, year
inference), `zone` (local time to UTC with the DST rules), `event` (the answer).
docs/timestamps.md describes every format with an example.
"""

from chronolog.timestamps.declared import FormatError, compile_format
from chronolog.timestamps.event import (
    ASSUMED_ZONE,
    DST_AMBIGUOUS,
    DST_NONEXISTENT,
    EXPLICIT,
    INFERRED_YEAR,
    READ_TIME,
    TS_SOURCES,
    EventTime,
)
from chronolog.timestamps.normalize import Normalizer, unreadable_examples
from chronolog.timestamps.resolve import DEFAULT_FUTURE_TOLERANCE, MAX_FUTURE_TOLERANCE
from chronolog.timestamps.zone import localize

__all__ = [
    "ASSUMED_ZONE",
    "DEFAULT_FUTURE_TOLERANCE",
    "DST_AMBIGUOUS",
    "DST_NONEXISTENT",
    "EXPLICIT",
    "INFERRED_YEAR",
    "MAX_FUTURE_TOLERANCE",
    "READ_TIME",
    "TS_SOURCES",
    "EventTime",
    "FormatError",
    "Normalizer",
    "compile_format",
    "localize",
    "unreadable_examples",
]
