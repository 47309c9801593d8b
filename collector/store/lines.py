"""Stored lines, columnar: what the store hands to queries and seals into segment blocks. Pure.

A `LineBlock` keeps one list per attribute (``ts``, ``seq``, ``msg``, ...) with one entry per
line, and the attributes a whole chunk shares (agent, host, stream, times, clock) once, as an
`Origin` that each line points to. Neither side builds an object per line until a query
returns it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from chronolog.wire import Batch, ClockView

__all__ = ["LineBlock", "Origin"]


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
        c = self.clock
        return [self.agent, self.host, self.stream, self.tz, self.sent, self.received, self.read,
                [c.offset, c.bound, c.synced, c.reason]]

    @classmethod
    def from_list(cls, v: list[Any]) -> Origin:
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

    def sort_key(self, i: int) -> tuple[int, str, str, int]:
        o = self.origins[self.origin[i]]
        return (self.ts[i], o.host, o.stream, self.seq[i])

    def timeline_order(self) -> list[int]:
        """Line indices in timeline order."""
        hosts = [o.host for o in self.origins]
        streams = [o.stream for o in self.origins]
        ts, seq, origin = self.ts, self.seq, self.origin
        return sorted(range(len(ts)),
                      key=lambda i: (ts[i], hosts[origin[i]], streams[origin[i]], seq[i]))

    def take(self, indices: Sequence[int], ordered: bool = False) -> LineBlock:
        """The lines at ``indices``, in that order, with only the origins they use."""
        remap: dict[int, int] = {}
        origins: list[Origin] = []
        origin: list[int] = []
        for i in indices:
            o = self.origin[i]
            new = remap.get(o)
            if new is None:
                new = remap[o] = len(origins)
                origins.append(self.origins[o])
            origin.append(new)
        position = {old: new for new, old in enumerate(indices)} if (
            self.ts_flags or self.line_flags or self.fields) else {}

        def sparse(d: dict[int, Any]) -> dict[int, Any]:
            return {position[i]: v for i, v in d.items() if i in position}

        return LineBlock(origins, origin, [self.seq[i] for i in indices], [self.ts[i] for i in indices],
                         [self.msg[i] for i in indices], [self.src[i] for i in indices],
                         [self.raw[i] for i in indices], sparse(self.ts_flags),
                         sparse(self.line_flags), sparse(self.fields), ordered)

    def hosts(self) -> list[str]:
        return sorted({o.host for o in self.origins})

    def streams(self) -> list[str]:
        return sorted({o.stream for o in self.origins})

    def raw_bytes(self) -> int:
        """Message bytes held (the 'raw log' a user would count)."""
        return sum(len(m) for m in self.msg)

    def seq_runs(self) -> list[tuple[str, str, int, int]]:
        """Per (agent, stream), the half-open seq ranges held: ``(agent, stream, start, end)``."""
        by_stream: dict[tuple[str, str], list[int]] = {}
        for i, o in enumerate(self.origin):
            origin = self.origins[o]
            by_stream.setdefault((origin.agent, origin.stream), []).append(self.seq[i])
        runs: list[tuple[str, str, int, int]] = []
        for (agent, stream), held in sorted(by_stream.items()):
            seqs = sorted(set(held))
            start = prev = seqs[0]
            for s in seqs[1:]:
                if s != prev + 1:
                    runs.append((agent, stream, start, prev + 1))
                    start = s
                prev = s
            runs.append((agent, stream, start, prev + 1))
        return runs

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
