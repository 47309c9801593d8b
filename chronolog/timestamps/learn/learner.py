"""The per-source layout learner: from candidate layouts to the one a source writes. Pure.

`Learner.read` is called for a line no format family claims. The first such line proposes
candidates (`propose`); each later line is read with every candidate still standing, and the
evidence it gives removes the candidates that did worse than the best on that same line:

- it read no time where another candidate did (a field out of range: a "month" of 13 says the
  order is day first);
- it went back more than `BACKWARD_US` from its own previous time (logs are written roughly in
  order; a wrong day/month order jumps across months); a candidate new to the source (the
  source changed its layout) is held to the source's previous line instead, and also may not
  jump more than `JUMP_US` past it where another candidate does not;
- it put the time after the read time plus the source's future tolerance.

When one candidate is left the source is **settled** on it: the dispatcher then keeps it as
the source's format, so a line costs one regular-expression search. Until then every line is
answered by the candidate standing whose readings were most often the likeliest (`_weigh`),
the most likely by `propose`'s order among equals, flagged ``layout_unsettled`` when the
candidates standing disagree on its instant. Every time read with a learned layout carries
the flag ``learned``. A line that no candidate reads proposes new candidates (a source may
change its layout: a rotated file, a new program version, New Year's Day in ``yyyyMd``).

The state (the candidates standing) is a list of layouts: `state` and `Learner(state=...)`
let the agent save it with the file's position, so a restart reads on with the same layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chronolog.timestamps.declared import FormatError, compile_format
from chronolog.timestamps.event import LAYOUT_UNSETTLED, LEARNED, EventTime
from chronolog.timestamps.formats.base import Format
from chronolog.timestamps.learn.propose import propose
from chronolog.timestamps.resolve import Resolver

__all__ = ["BACKWARD_US", "JUMP_US", "LEARNED_FORMAT", "Learner", "Rejected"]

LEARNED_FORMAT = "learned"
BACKWARD_US = 3600 * 1_000_000  # an hour: threads and merged writers interleave by less
JUMP_US = 31 * 86400 * 1_000_000  # a month: further on from the source's last line is a gap, or a misreading
_MAX_CANDIDATES = 8
_MAX_REJECTED = 16


@dataclass(slots=True)
class _Candidate:
    format: Format
    time_only: bool
    last_ts: int | None = None
    lines: int = 0  # lines it read
    nearest: int = 0  # lines on which its reading was the likeliest (`Learner._weigh`)


@dataclass(frozen=True, slots=True)
class Rejected:
    """A candidate given up, and why (shown by ``parse --explain``)."""

    layout: str
    why: str


@dataclass(slots=True)
class Learner:
    resolver: Resolver
    state: list[str] = field(default_factory=list)  # the layouts standing, most likely first
    candidates: list[_Candidate] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    lines: int = 0

    def __post_init__(self) -> None:
        for layout in self.state:
            self._add(layout, time_only=_is_time_only(layout))

    @property
    def settled(self) -> Format | None:
        """The source's layout once a single candidate stands."""
        return self.candidates[0].format if len(self.candidates) == 1 else None

    def layouts(self) -> list[str]:
        """The layouts standing, most likely first: the state to save."""
        return [c.format.layout for c in self.candidates]

    def read(self, line: str, read_us: int, time_only: bool = True,
             propose: bool = True) -> tuple[EventTime, Format] | None:
        """The time of ``line`` by the learned layout(s), and the layout that gave it.
        ``time_only=False``: the source has dated lines, so a time of day alone is proposed as
        a layout only when it begins the line (else it is taken for part of the message).
        ``propose=False``: only the candidates standing may read it."""
        results = self._read_all(line, read_us)
        if not any(results) and not propose:
            return None
        self.lines += 1
        if not any(results):
            added = self._propose(line, time_only)
            if not added:
                return None
            results.extend(c.format.find(line, self.resolver, read_us) for c in added)
            if not any(results):
                return None
        first = min(r[0] for r in results if r is not None)
        answers: list[tuple[_Candidate, EventTime]] = []
        faults: list[tuple[int, str]] = []
        limit = self.resolver.future_limit(read_us)
        for cand, found in zip(self.candidates, results, strict=True):
            if found is None or found[0] != first:
                faults.append((1, "read no time where another layout read one"))
                continue
            event = found[1]
            faults.append(self._fault(cand, event.ts, limit))
            answers.append((cand, event))
        self._drop_worse(faults)
        standing = [(c, e) for c, e in answers if c in self.candidates]
        if len(standing) > 1:
            self._weigh(standing, limit)
        for cand, event in answers:
            cand.last_ts, cand.lines = event.ts, cand.lines + 1
        if not standing:
            return None
        cand, event = max(standing, key=lambda ce: ce[0].nearest)
        if any(e.ts != event.ts for _, e in standing):
            event = EventTime(event.ts, event.source, event.raw, (*event.flags, LAYOUT_UNSETTLED))
        return event, cand.format

    def _weigh(self, standing: list[tuple[_Candidate, EventTime]], limit: int) -> None:
        """A point to the likeliest reading of a line the candidates disagree on. A log goes
        on near where it was: the reading that moved least from its candidate's previous one
        (``2.1.2026`` then ``5.1.2026``: 2 then 5 January, not 1 February then 1 May). Where
        that does not tell (a first line, or readings apart by whole years), lines are read
        soon after they are written: the latest reading not after the read time (decisive
        for two-digit years)."""
        befores = [c.last_ts if c.last_ts is not None else self.resolver.last_us for c, _ in standing]
        steps = [abs(e.ts - before)
                 for (_, e), before in zip(standing, befores, strict=True) if before is not None]
        if len(steps) == len(standing) and len(set(steps)) > 1:
            for (c, _), step in zip(standing, steps, strict=True):
                if step == min(steps):
                    c.nearest += 1
            return
        latest = max((e.ts for _, e in standing if e.ts <= limit), default=None)
        for c, e in standing:
            if e.ts == latest:
                c.nearest += 1

    def _fault(self, cand: _Candidate, ts: int, limit: int) -> tuple[int, str]:
        """What counts against a candidate's reading of a line. A candidate new to the source
        is held to the source's previous line (read by whatever layout): a log goes on near
        where it was, so of two readings of a new layout (``201211``: 11 December 2020 or 1
        January 2012) the one a month or more away from it is the wrong one."""
        if ts > limit:
            return 1, "put a time after the read time and its future tolerance"
        if cand.last_ts is not None:
            if ts < cand.last_ts - BACKWARD_US:
                return 1, "went back by more than an hour"
            return 0, ""
        previous = self.resolver.last_us
        if previous is None:
            return 0, ""
        if ts < previous - BACKWARD_US:
            return 1, "went back by more than an hour from the source's previous line"
        if ts > previous + JUMP_US:
            return 1, "jumped more than a month past the source's previous line"
        return 0, ""

    def _read_all(self, line: str, read_us: int) -> list[tuple[int, EventTime] | None]:
        return [c.format.find(line, self.resolver, read_us) for c in self.candidates]

    def _propose(self, line: str, time_only: bool) -> list[_Candidate]:
        known = {c.format.layout for c in self.candidates}
        dated = any(not c.time_only for c in self.candidates)
        added = []
        for proposal in propose(line):
            if proposal.layout in known or len(self.candidates) >= _MAX_CANDIDATES:
                continue
            if proposal.time_only and (dated or not time_only) and not proposal.at_start:
                continue
            cand = self._add(proposal.layout, proposal.time_only)
            if cand is not None:
                added.append(cand)
        return added

    def _add(self, layout: str, time_only: bool) -> _Candidate | None:
        try:
            fmt = compile_format(layout, name=LEARNED_FORMAT, time_only=time_only, flags=(LEARNED,),
                                 strict=True)
        except FormatError:
            return None
        cand = _Candidate(fmt, time_only)
        self.candidates.append(cand)
        return cand

    def _drop_worse(self, faults: list[tuple[int, str]]) -> None:
        best = min(f for f, _ in faults)
        kept = []
        for cand, (fault, why) in zip(self.candidates, faults, strict=True):
            if fault > best:
                if len(self.rejected) >= _MAX_REJECTED:
                    del self.rejected[0]
                self.rejected.append(Rejected(cand.format.layout, f"line {self.lines}: {why}"))
            else:
                kept.append(cand)
        self.candidates = kept


def _is_time_only(layout: str) -> bool:
    return not any(d in layout for d in ("%m", "%d", "%b", "%B", "%e"))
