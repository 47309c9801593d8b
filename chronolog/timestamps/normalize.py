"""The dispatcher: raw line in, `EventTime` out, for one source. Pure (caches only); no IO.

Detection looks for every known format in the line's first `WINDOW` characters and takes
the one that starts first (a JSON time field wins outright; at equal positions the order of
`DETECTED` decides). So a prefix such as a file name, a sequence number or a bracket is
passed over, and a time inside the message does not win over the one before it.

The format found is cached for the source and tried first on the next line; the others are
tried only when it stops matching. A source's lines nearly always share one layout, so a line
costs one regular-expression search. A declared format replaces detection: a line it does
not match gets the read time.
"""

from __future__ import annotations

import re

from chronolog.timefmt import now_us
from chronolog.timestamps.declared import compile_format
from chronolog.timestamps.event import READ_TIME, EventTime
from chronolog.timestamps.formats import DETECTED, Format
from chronolog.timestamps.resolve import DEFAULT_FUTURE_TOLERANCE, Resolver

__all__ = ["Normalizer", "unreadable_examples"]

# Every detected format holds an hour and minute "hh:mm", or is one of: an ISO basic time
# ("T" and six digits), a run of six digits or more at the start of the line (HDFS, compact
# dates, epoch counts), an epoch count as a JSON value. One search for these spares the dozen
# format searches on most lines that have no timestamp (stack traces, continuation lines),
# even when they hold long numbers (ids, sizes).
_MAYBE_A_TIME = re.compile(r'\d\d:\d\d|\dT\d{6}|^\s*\[?\d{6}|"\s*:\s*"?\d{10}', re.ASCII)
_DETECTION_WINDOW = max(f.window for f in DETECTED)


class Normalizer:
    """Normalises the lines of one source. Keep one per source: it caches what it learns.

    ``source_zone`` is the IANA zone of times written without an offset;
    ``future_tolerance`` (seconds) bounds how far after the read time an inferred year may put
    an event; ``format``, if given, is the source's declared strftime-style format (raises
    `FormatError` when it cannot be used).
    """

    def __init__(self, source_zone: str = "Asia/Tokyo",
                 future_tolerance: float = DEFAULT_FUTURE_TOLERANCE, format: str | None = None) -> None:
        self._resolver = Resolver(source_zone, future_tolerance)
        self._declared = format is not None
        self._formats: tuple[Format, ...] = (compile_format(format),) if format is not None else DETECTED
        self._cached: Format | None = self._formats[0] if self._declared else None
        self.last_format: str | None = None  # the format of the last line read, for `parse`

    def normalize(self, line: str, read_us: int) -> EventTime:
        """The event time of ``line``, read at ``read_us`` (µs since the epoch). Never raises."""
        cached = self._cached
        if cached is not None:
            found = cached.find(line, self._resolver, read_us)
            if found is not None:
                self.last_format = cached.name
                return found[1]
            if self._declared:
                self.last_format = None
                return EventTime(read_us, READ_TIME, None)
        return self._detect(line, read_us)

    def _detect(self, line: str, read_us: int) -> EventTime:
        if _MAYBE_A_TIME.search(line, 0, _DETECTION_WINDOW) is None:
            self.last_format = None
            return EventTime(read_us, READ_TIME, None)
        best: tuple[int, EventTime] | None = None
        best_format: Format | None = None
        for fmt in self._formats:
            if fmt is self._cached:
                continue  # it has just failed on this line
            found = fmt.find(line, self._resolver, read_us)
            if found is None:
                continue
            if fmt.preferred:
                best, best_format = found, fmt
                break
            if best is None or found[0] < best[0]:
                best, best_format = found, fmt
        if best is None or best_format is None:
            self.last_format = None
            return EventTime(read_us, READ_TIME, None)
        self._cached = best_format
        self.last_format = best_format.name
        return best[1]


def unreadable_examples(lines: list[str], zone: str, future_tolerance: float = DEFAULT_FUTURE_TOLERANCE,
                        format: str | None = None) -> list[str]:
    """What is wrong with a source's sample lines: one message for each line in which no
    timestamp is found (with ``format`` if given, else by detection). Empty when all are read."""
    how = f"the format {format!r} reads" if format is not None else "detection finds (declare a format)"
    problems = []
    for i, line in enumerate(lines, 1):
        normalizer = Normalizer(zone, future_tolerance, format)
        if normalizer.normalize(line, now_us()).source == READ_TIME:
            shown = line if len(line) <= 60 else line[:57] + "..."
            problems.append(f"sample line {i} ({shown!r}) has no timestamp {how}")
    return problems
