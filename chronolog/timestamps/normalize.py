"""The dispatcher: raw line in, `EventTime` out, for one source. Pure (caches only); no IO.

Detection looks for every known format in the line's first `WINDOW` characters and takes
the one that starts first (a JSON time field wins outright; at equal positions the order of
`DETECTED` decides). So a prefix such as a file name, a sequence number or a bracket is
passed over, and a time inside the message does not win over the one before it.

The format found is cached for the source and tried first on the next line, over the first
`KNOWN_WINDOW` characters (a known layout is found past the first `WINDOW`); the others are
tried only when it stops matching. A source's lines nearly always share one layout, so a line
costs one regular-expression search. A line no family claims goes to the source's `Learner`,
which learns a layout from the lines; once settled, the learned layout is cached like a
family. A declared format replaces detection: a line it does not match gets the read time.
"""

from __future__ import annotations

import re

from chronolog.timefmt import now_us
from chronolog.timestamps.declared import compile_format
from chronolog.timestamps.event import READ_TIME, EventTime
from chronolog.timestamps.formats import DETECTED, Format
from chronolog.timestamps.learn import LEARNED_FORMAT, Learner
from chronolog.timestamps.resolve import DEFAULT_FUTURE_TOLERANCE, Resolver

__all__ = ["KNOWN_WINDOW", "Normalizer", "unreadable_examples"]

KNOWN_WINDOW = 64 << 10  # how far into a line a source's known layout is looked for

# Every detected or learned layout holds an hour and minutes "h:m", or is one of: an ISO
# basic time ("T" and six digits), a run of six digits or more at the start of the line (HDFS,
# compact dates), ten digits or more (epoch counts), a dotted time "h.mm.ss". One search for
# these spares the dozen format searches on most lines that have no timestamp (stack traces,
# continuation lines).
_MAYBE_A_TIME = re.compile(r'\d:\d|\dT\d{6}|^\s*\[?\d{6}|\d{10}|\d\.\d\d\.\d\d', re.ASCII)
_DETECTION_WINDOW = max(f.window for f in DETECTED)


class Normalizer:
    """Normalises the lines of one source. Keep one per source: it caches what it learns.

    ``source_zone`` is the IANA zone of times written without an offset;
    ``future_tolerance`` (seconds) bounds how far after the read time an inferred year may put
    an event; ``format``, if given, is the source's declared strftime-style format (raises
    `FormatError` when it cannot be used); ``learned`` is what `learned_layouts` returned
    before (saved with the source's position), so a restart reads on with the same layout.
    """

    def __init__(self, source_zone: str = "Asia/Tokyo",
                 future_tolerance: float = DEFAULT_FUTURE_TOLERANCE, format: str | None = None,
                 learned: list[str] | None = None) -> None:
        self._resolver = Resolver(source_zone, future_tolerance)
        self._declared = format is not None
        self._formats: tuple[Format, ...] = (compile_format(format),) if format is not None else DETECTED
        self._cached: Format | None = self._formats[0] if self._declared else None
        self.learner = Learner(self._resolver, state=list(learned or ()))
        if not self._declared and self.learner.settled is not None:
            self._cached = self.learner.settled
        self._last: Format | None = None  # the format of the last line read, for `parse`

    @property
    def last_format(self) -> str | None:
        """The name of the format the last line was read with (``iso8601``, ``learned``...)."""
        return None if self._last is None else self._last.name

    @property
    def last_layout(self) -> str | None:
        """The strftime-style layout of the last line's format, if declared or learned."""
        return None if self._last is None else (self._last.layout or None)

    @property
    def cached(self) -> Format | None:
        """The source's current format (a family, the learned or the declared one), if any.

        A caller stamping a whole buffer may run it itself: ``cached.pattern`` (compiled) over
        each line, ``cached.read(match, resolver, read_us)`` for the instant (None: not a time
        after all), honouring ``cached.not_after`` and ``cached.anchored`` as `Format.find`
        does. It must then set ``resolver.last_us`` to the last instant read (a time of day
        alone takes its date from it) and send every line the format does not read through
        `normalize` (or `uncached`), which runs detection and the layout learner and may change
        ``cached``. `chronolog.timestamps.lines.read_lines` is that caller."""
        return self._cached

    @property
    def resolver(self) -> Resolver:
        """The source's zone, future tolerance and last instant (see `cached`)."""
        return self._resolver

    def learned_layouts(self) -> list[str]:
        """The learner's candidate layouts standing (one when settled): the state to save."""
        return self.learner.layouts()

    def normalize(self, line: str, read_us: int) -> EventTime:
        """The event time of ``line``, read at ``read_us`` (µs since the epoch). Never raises."""
        cached = self._cached
        if cached is not None:
            found = cached.find(line, self._resolver, read_us, 0, KNOWN_WINDOW)
            if found is not None:
                self._last = cached
                event = found[1]
                self._resolver.last_us = event[0]
                return event
        return self.uncached(line, read_us)

    def uncached(self, line: str, read_us: int) -> EventTime:
        """`normalize` for a line the cached format was already tried on and did not read:
        detection and the learner (the read time, for a declared format)."""
        if self._declared:
            self._last = None
            return EventTime(read_us, READ_TIME, None)
        return self._detect(line, read_us)

    def _detect(self, line: str, read_us: int) -> EventTime:
        if _MAYBE_A_TIME.search(line, 0, _DETECTION_WINDOW) is None:
            self._last = None
            return EventTime(read_us, READ_TIME, None)
        if self.learner.candidates and not self._declared:
            # Layouts being learned for this source go first: a family may also read the line,
            # differently (11/12/26: yy/mm/dd for the family, mm/dd/yy for the source).
            learned = self._learn(line, read_us, propose=False)
            if learned.source != READ_TIME:
                return learned
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
            return self._learn(line, read_us)
        self._cached = best_format
        self._last = best_format
        self._resolver.last_us = best[1][0]
        return best[1]

    def _learn(self, line: str, read_us: int, propose: bool = True) -> EventTime:
        # In a source with dates in its lines, a time of day alone must begin a line to count.
        cached = self._cached
        time_only = cached is None or (cached.name == LEARNED_FORMAT and self.learner.settled is cached
                                       and self.learner.candidates[0].time_only)
        learned = self.learner.read(line, read_us, time_only, propose)
        if learned is None:
            self._last = None
            return EventTime(read_us, READ_TIME, None)
        event, fmt = learned
        if self.learner.settled is fmt:
            self._cached = fmt
        self._last = fmt
        self._resolver.last_us = event[0]
        return event


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
