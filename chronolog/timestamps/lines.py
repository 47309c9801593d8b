"""The event times of many lines of one source at once, as columns. Pure (caches only).

`read_lines` gives every line the same answer as `Normalizer.normalize` would, line by line,
with less work per line: a source's lines nearly always share one layout and come in order,
so consecutive lines often carry the same second. Once the cached format has read a line
whose time starts the line, the next line that starts with the same text up to the
fraction of a second, and has the same text for ``Format.tail`` characters after it, has
the same match: its time is the one already read, but for the fraction digits, and its
regular expression need not run. Within one second a few such contexts are remembered
(lines of a few programs interleaved). The reuse is exact (see `Format`): a reading that
depends on the read time or on the lines before (a year or a date inferred) is reused only
for the very same text; everything else goes through the cached format, then `normalize`.

The answer is columnar, to be shipped as it is: the instants in an ``array('q')``, and the
provenance (``ts_source`` and where in its line the timestamp text is) as runs, since it
changes rarely from one line to the next.
"""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass, field

from chronolog.timestamps.event import ASSUMED_ZONE, EXPLICIT, READ_TIME, EventTime
from chronolog.timestamps.formats.base import Format, fraction_us
from chronolog.timestamps.normalize import KNOWN_WINDOW, Normalizer
from chronolog.timestamps.resolve import MAX_US

__all__ = ["Kind", "Readings", "read_lines"]

Kind = tuple[str, int, int]
"""How a line's time was read: its ``ts_source``, and the start and end (characters) of the
timestamp text in the line, or -1, -1 when there is none (or it is in `Readings.raw_texts`)."""

# Fractions of up to three digits (milliseconds, most of them) by table; longer ones by int().
_SHORT_FRACTIONS = {"": 0, **{f"{i:0{n}d}": fraction_us(f"{i:0{n}d}") for n in (1, 2, 3)
                              for i in range(10**n)}}
_REUSABLE = frozenset((EXPLICIT, ASSUMED_ZONE))  # read from the text alone
_MAX_CONTEXTS = 64  # contexts remembered within one second


def _micros(digits: str) -> int | None:
    """`fraction_us` of digits the cached pattern would take (ASCII, 1 to 9), else None."""
    us = _SHORT_FRACTIONS.get(digits)
    if us is None and len(digits) <= 9 and digits.isascii() and digits.isdigit():
        us = fraction_us(digits)
    return us


@dataclass(slots=True)
class Readings:
    """The event times of a run of lines, in columns.

    ``ts`` has one instant per line; ``kinds`` holds ``(first line, kind)`` each time the
    `Kind` changes; ``flags`` the lines with ``ts_flags`` (DST, zone, learned...);
    ``raw_texts`` a timestamp text that is not a slice of its line (none of today's formats
    gives one, but the wire carries it if one does).
    """

    ts: array[int] = field(default_factory=lambda: array("q"))
    kinds: list[tuple[int, Kind]] = field(default_factory=list)
    flags: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)
    raw_texts: list[tuple[int, str]] = field(default_factory=list)

    def sources(self) -> dict[str, int]:
        """How many lines have each ``ts_source``."""
        counts: dict[str, int] = {}
        ends = [i for i, _ in self.kinds[1:]] + [len(self.ts)]
        for (start, kind), end in zip(self.kinds, ends, strict=True):
            counts[kind[0]] = counts.get(kind[0], 0) + end - start
        return counts


def _span(raw: str | None, line: str) -> tuple[int, int] | None:
    """Where ``raw`` is in ``line`` (any place holding that text), (-1, -1) for none."""
    if raw is None:
        return -1, -1
    at = line.find(raw)
    return None if at < 0 else (at, at + len(raw))


def _raw_span(match: re.Match[str], raw: str | None) -> tuple[int, int] | None:
    """Where a reader took its timestamp text from in its match: the whole match, one of its
    groups, or the match's beginning (a word after the time that is not a zone is left out).
    None: somewhere else (then its place cannot be reused for another line)."""
    if raw is None:
        return -1, -1
    text = match.group()
    if raw == text:
        return match.span()
    for i, group in enumerate(match.groups(), 1):
        if group == raw:
            return match.span(i)
    if text.startswith(raw):
        return match.start(), match.start() + len(raw)
    return None


_Entry = tuple[int, Kind, tuple[str, ...], bool, str, str]
"""How a context read: the instant less its fraction (or the instant, when only the same
fraction digits may reuse it), its kind, its flags, whether by fraction, its fraction digits,
and the context itself (followed by the separator when the line ended within it, so that it
then only matches a line ending at the same place)."""


class _Contexts:
    """What the lines of the current second read to, by the text after their fraction."""

    __slots__ = ("entries", "fraction_end", "fraction_start", "head", "kinds", "sep", "tail")

    def __init__(self, sep: str) -> None:
        self.sep = sep
        self.kinds: dict[Kind, Kind] = {}  # one object per kind, so lines compare them by identity
        self.head: str | None = None  # the text of the line up to the fraction digits
        self.fraction_start = self.fraction_end = self.tail = 0
        self.entries: dict[str, _Entry] = {}  # by the text after the fraction (`Format.tail` long)

    def kind(self, source: str, span: tuple[int, int]) -> Kind:
        kind = (source, span[0], span[1])
        return self.kinds.setdefault(kind, kind)

    def forget(self) -> None:
        self.head = None
        self.entries.clear()

    def learn(self, fmt: Format, match: re.Match[str], event: EventTime) -> Kind | None:
        """Remember how ``fmt`` read a line (``match``, ``event``) for the lines after it;
        returns its kind, or None when its timestamp text cannot be placed in the match."""
        span = _raw_span(match, event.raw)
        if span is None:
            return None
        kind = self.kind(event.source, span)
        if match.start() != 0 or not fmt.tail:
            return kind
        line = match.string
        if fmt.fraction:
            start, end = match.span(fmt.fraction)
            if start < 0:
                start = end = match.end(fmt.fraction - 1)
        else:
            start = end = match.end()
        head = line[:start]
        if head != self.head or end != self.fraction_end or fmt.tail != self.tail:
            self.entries.clear()
            self.head, self.fraction_start, self.fraction_end, self.tail = head, start, end, fmt.tail
        elif len(self.entries) >= _MAX_CONTEXTS:
            self.entries.clear()
        digits = line[start:end]
        by_fraction = bool(fmt.fraction) and event.source in _REUSABLE
        base = event.ts - fraction_us(digits) if by_fraction else event.ts
        if base + 999_999 >= MAX_US:
            by_fraction, base = False, event.ts
        context = line[end:end + fmt.tail]
        sticky = context if len(context) == fmt.tail else context + self.sep
        self.entries[context] = (base, kind, event.flags, by_fraction, digits, sticky)
        return kind


def read_lines(normalizer: Normalizer, lines: list[str], read_us: int) -> Readings:
    """The event time of each line of one source, read at ``read_us``: what
    `Normalizer.normalize` gives line by line, as `Readings`."""
    if not lines:
        return Readings()
    # A separator no line holds (a multiline record holds newlines).
    sep = next(c for c in ("\n", "\x00", "\x1e", "\ufffe", "\uffff") if not any(c in x for x in lines))
    return read_text(normalizer, sep.join(lines), read_us, sep)


def read_text(normalizer: Normalizer, text: str, read_us: int, sep: str = "\n") -> Readings:
    """`read_lines` for the lines of ``text``, separated by ``sep`` (in no line): at least one
    line, without a separator after the last. Lines are looked at where they are in ``text``:
    one that is like a line before is read without being cut out of it."""
    out = Readings()
    ts = out.ts
    append = ts.append
    kinds = out.kinds
    flags = out.flags
    resolver = normalizer.resolver
    last = resolver.last_us
    fmt = normalizer.cached
    contexts = _Contexts(sep)
    entries = contexts.entries
    head: str | None = None
    fraction_start = fraction_end = tail = 0
    fractions = _SHORT_FRACTIONS
    kind: Kind | None = None
    timed = 0  # lines before this were read the slow way; the ones since were timed
    # The context of the last line read without a search, unpacked (the usual next one):
    current: _Entry | None = None
    context = sep  # (no line holds the separator: it matches none until set)
    base = 0
    simple = False  # its time is by fraction, it has no flags, and its kind is the run's
    find, startswith = text.find, text.startswith
    end = len(text)
    pos = 0
    while pos <= end:
        nl = find(sep, pos)
        if nl < 0:
            nl = end
        if head is not None and startswith(head, pos):
            at = pos + fraction_end
            if startswith(context, at, nl):
                if simple:  # the usual line: a time read by its fraction alone
                    us = fractions.get(text[pos + fraction_start:at])
                    if us is not None:
                        append(base + us)
                        pos = nl + 1
                        continue
                entry = current
            else:
                entry = entries.get(text[at:at + tail if at + tail < nl else nl])
            if entry is not None:
                entry_base, entry_kind, entry_flags, by_fraction, entry_digits, entry_context = entry
                digits = text[pos + fraction_start:at]
                us = (_micros(digits) if by_fraction else 0 if digits == entry_digits else None)
                if us is not None:
                    if entry_flags:
                        flags.append((len(ts), entry_flags))
                    if entry_kind is not kind:
                        kind = entry_kind
                        kinds.append((len(ts), kind))
                    append(entry_base + us)
                    pos = nl + 1
                    current, context, base = entry, entry_context, entry_base
                    simple = by_fraction and not entry_flags
                    continue
        # Not a line like one before: the cached format, then detection and the learner.
        line = text[pos:nl]
        pos = nl + 1
        if len(ts) > timed:
            last = ts[-1]
        resolver.last_us = last
        line_kind: Kind | None = None
        if fmt is not None and (found := fmt.locate(line, resolver, read_us, 0, KNOWN_WINDOW)):
            event = found[1]
            line_kind = contexts.learn(fmt, found[0], event)
        else:
            event = normalizer.uncached(line, read_us)
            fmt = normalizer.cached
            contexts.forget()
        head = contexts.head
        fraction_start, fraction_end, tail = contexts.fraction_start, contexts.fraction_end, contexts.tail
        current, context, simple = None, sep, False
        if line_kind is None:
            span = _span(event.raw, line)
            if span is None:
                out.raw_texts.append((len(ts), event.raw or ""))
                span = (-1, -1)
            line_kind = contexts.kind(event.source, span)
        if line_kind is not kind:
            kind = line_kind
            kinds.append((len(ts), kind))
        if event.flags:
            flags.append((len(ts), event.flags))
        append(event.ts)
        timed = len(ts)
        if event.source != READ_TIME:
            last = event.ts
    if len(ts) > timed:
        last = ts[-1]
    resolver.last_us = last
    return out
