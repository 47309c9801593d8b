"""Stored lines, columnar: what the store hands to queries and seals into segment blocks. Pure.

A `LineBlock` keeps one list per attribute (``ts``, ``seq``, ``msg``, ...) with one entry per
line, and the attributes a whole chunk shares (agent, host, stream, times, clock) once, as an
`Origin` that each line points to. Neither side builds an object per line until a query
returns it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from chronolog.wire import Batch, ClockView

__all__ = ["CLOCK_FIELDS", "LineBlock", "Origin", "seq_runs"]

CLOCK_FIELDS = tuple(f.name for f in dataclasses.fields(ClockView))


@dataclass(frozen=True, slots=True)
class Origin:
    """What every line of one stored chunk shares."""

    agent: str
    host: str
    stream: str
    tz: str
    sent: int  # the agent's clock when it sent the batch
    received: int  # the collector's clock when the batch arrived
    read: int  # when the agent read the lines
    clock: ClockView

    def to_list(self) -> list[Any]:
        return [self.agent, self.host, self.stream, self.tz, self.sent, self.received, self.read,
                [getattr(self.clock, f) for f in CLOCK_FIELDS]]

    @classmethod
    def from_list(cls, v: list[Any]) -> Origin:
        # Positional, in ClockView's field order: a block written before a field was added
        # reads back with that field at its default.
        return cls(v[0], v[1], v[2], v[3], v[4], v[5], v[6], ClockView(*v[7]))


class LineBlock:
    """Lines in columns; ``origin[i]`` indexes ``origins``. Sparse attributes are dicts by line.

    ``ordered`` is true when the lines are in timeline order: (ts, host, stream, seq).
    """

    __slots__ = ("fields", "line_flags", "msg", "ordered", "origin", "origins", "raw", "seq", "src",
                 "ts", "ts_flags")

    def __init__(self, origins: list[Origin], origin: list[int], seq: list[int], ts: list[int],
                 msg: list[str], src: list[str], raw: list[str | None],
                 ts_flags: dict[int, list[str]] | None = None,
                 line_flags: dict[int, list[str]] | None = None,
                 fields: dict[int, dict[str, Any]] | None = None, ordered: bool = False) -> None:
        self.origins, self.origin, self.seq, self.ts = origins, origin, seq, ts
        self.msg, self.src, self.raw = msg, src, raw
        self.ts_flags = ts_flags or {}
        self.line_flags = line_flags or {}
        self.fields = fields or {}
        self.ordered = ordered

    def __len__(self) -> int:
        return len(self.ts)

    @classmethod
    def empty(cls) -> LineBlock:
        return cls([], [], [], [], [], [], [], ordered=True)

    @classmethod
    def from_batches(cls, batches: Iterable[tuple[int, Batch]]) -> LineBlock:
        """The lines of ``(received, batch)`` pairs, in arrival order."""
        out = cls.empty()
        out.ordered = False
        for received, batch in batches:
            for chunk in batch.chunks:
                base = len(out.ts)
                n = len(chunk.msg)
                out.origin.extend([len(out.origins)] * n)
                out.origins.append(Origin(batch.agent, batch.host, chunk.stream, batch.tz, batch.sent,
                                          received, chunk.read, chunk.clock))
                out.seq.extend(range(chunk.seq, chunk.seq + n))
                out.ts.extend(chunk.ts)
                out.msg.extend(chunk.msg)
                out.src.extend(chunk.src)
                out.raw.extend(chunk.raw)
                out.ts_flags.update((base + i, v) for i, v in chunk.ts_flags)
                out.line_flags.update((base + i, v) for i, v in chunk.line_flags)
                out.fields.update((base + i, v) for i, v in chunk.fields)
        return out

    def timeline_order(self) -> list[int]:
        """Line indices in timeline order: (ts, host, stream, seq)."""
        # Rank each origin's (host, stream) once, so the per-line key is a tuple zip builds in
        # C, and the sort never calls back into Python.
        pairs = sorted({(o.host, o.stream) for o in self.origins})
        rank = {p: i for i, p in enumerate(pairs)}
        origin_rank = [rank[(o.host, o.stream)] for o in self.origins]
        keys = list(zip(self.ts, map(origin_rank.__getitem__, self.origin), self.seq, strict=True))
        return sorted(range(len(keys)), key=keys.__getitem__)

    def take(self, indices: Sequence[int], ordered: bool = False) -> LineBlock:
        """The lines at ``indices``, in that order."""
        pick = indices.__iter__
        out = LineBlock(self.origins, list(map(self.origin.__getitem__, pick())),
                        list(map(self.seq.__getitem__, pick())), list(map(self.ts.__getitem__, pick())),
                        list(map(self.msg.__getitem__, pick())), list(map(self.src.__getitem__, pick())),
                        list(map(self.raw.__getitem__, pick())), ordered=ordered)
        if self.ts_flags or self.line_flags or self.fields:
            position = {old: new for new, old in enumerate(indices)}
            out.ts_flags = {position[i]: v for i, v in self.ts_flags.items() if i in position}
            out.line_flags = {position[i]: v for i, v in self.line_flags.items() if i in position}
            out.fields = {position[i]: v for i, v in self.fields.items() if i in position}
        return out

    def slice(self, start: int, end: int) -> LineBlock:
        """Lines ``start:end``, keeping only the origins they use (a segment block)."""
        used = sorted(set(self.origin[start:end]))
        remap = {old: new for new, old in enumerate(used)}

        def sparse(d: dict[int, Any]) -> dict[int, Any]:
            return {i - start: v for i, v in d.items() if start <= i < end}

        origin = list(map(remap.__getitem__, self.origin[start:end]))
        return LineBlock([self.origins[o] for o in used], origin, self.seq[start:end], self.ts[start:end],
                         self.msg[start:end], self.src[start:end],
                         self.raw[start:end], sparse(self.ts_flags), sparse(self.line_flags),
                         sparse(self.fields), self.ordered)

    def hosts(self) -> list[str]:
        return sorted({o.host for o in self.origins})

    def streams(self) -> list[str]:
        return sorted({o.stream for o in self.origins})

    def raw_bytes(self) -> int:
        """Message bytes held (the 'raw log' a user would count; characters, for ASCII logs)."""
        return sum(map(len, self.msg))

    def to_json(self) -> bytes:
        return orjson.dumps({
            "o": [o.to_list() for o in self.origins], "oi": self.origin, "seq": self.seq,
            "ts": self.ts, "msg": self.msg, "src": self.src, "raw": self.raw,
            "tf": list(self.ts_flags.items()), "lf": list(self.line_flags.items()),
            "f": list(self.fields.items()), "ord": self.ordered,
        })

    @classmethod
    def from_json(cls, data: bytes) -> LineBlock:
        d = orjson.loads(data)
        return cls([Origin.from_list(o) for o in d["o"]], d["oi"], d["seq"], d["ts"], d["msg"],
                   d["src"], d["raw"], dict(d["tf"]), dict(d["lf"]), dict(d["f"]), d["ord"])


def seq_runs(ranges: Iterable[tuple[str, str, int, int]]) -> list[tuple[str, str, int, int]]:
    """``(agent, stream, start, end)`` ranges merged into disjoint, non-touching runs, sorted."""
    runs: list[tuple[str, str, int, int]] = []
    for agent, stream, start, end in sorted(ranges):
        if runs and runs[-1][:2] == (agent, stream) and start <= runs[-1][3]:
            last = runs[-1]
            runs[-1] = (agent, stream, last[2], max(last[3], end))
        else:
            runs.append((agent, stream, start, end))
    return runs
