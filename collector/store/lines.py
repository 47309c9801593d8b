"""Stored lines, columnar: what the store hands to queries and seals into segment blocks. Pure.

A `LineBlock` keeps one list per attribute (``ts``, ``seq``, ``msg``, ...) with one entry per
line, and the attributes a whole chunk shares (agent, host, stream, times, clock) once, as an
`Origin` that each line points to. Neither side builds an object per line until a query
returns it.
"""

from __future__ import annotations

import array
import dataclasses
import itertools
import operator
import struct
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import zstandard

from chronolog.wire import Batch, ClockView

__all__ = ["CLOCK_FIELDS", "FORMAT_2", "LineBlock", "Origin", "seq_runs"]

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

    A block read back from a segment (`decode`) keeps its numeric columns as arrays and its
    messages as one UTF-8 text; messages, origins, ``src`` and ``raw`` become Python objects
    only when asked for, so a query pays for the lines it returns, not for the block.
    """

    __slots__ = ("_ends", "_msg", "_origin_rows", "_origins", "_packed_text", "_raw", "_src", "_src_codes",
                 "_src_table", "_text", "fields", "line_flags", "ordered", "origin", "seq", "ts", "ts_flags")

    def __init__(self, origins: list[Origin], origin: Sequence[int], seq: Sequence[int], ts: Sequence[int],
                 msg: list[str], src: list[str], raw: list[str | None],
                 ts_flags: dict[int, list[str]] | None = None,
                 line_flags: dict[int, list[str]] | None = None,
                 fields: dict[int, dict[str, Any]] | None = None, ordered: bool = False) -> None:
        self._origins: list[Origin] | None = origins
        self._origin_rows: list[Any] | None = None  # stored lists, each made an Origin when asked for
        self.origin, self.seq, self.ts = origin, seq, ts
        self._msg: list[str] | None = msg
        self._text: bytes | None = None
        self._packed_text: bytes | None = None  # zstd, until a message is asked for
        self._ends: Sequence[int] | None = None
        self._src: list[str] | None = src
        self._src_codes: bytes = b""
        self._src_table: list[str] = []
        self._raw: list[str | None] | None = raw
        self.ts_flags = ts_flags or {}
        self.line_flags = line_flags or {}
        self.fields = fields or {}
        self.ordered = ordered

    def __len__(self) -> int:
        return len(self.ts)

    # ---- columns built on demand ------------------------------------------------------------

    @property
    def msg(self) -> list[str]:
        if self._msg is None:
            self._msg = [self.message(i) for i in range(len(self.ts))]
        return self._msg

    @property
    def origins(self) -> list[Origin]:
        if self._origins is None:
            assert self._origin_rows is not None
            self._origins = [o if isinstance(o, Origin) else Origin.from_list(o) for o in self._origin_rows]
        return self._origins

    @property
    def src(self) -> list[str]:
        if self._src is None:
            self._src = list(map(self._src_table.__getitem__, self._src_codes))
        return self._src

    @property
    def raw(self) -> list[str | None]:
        if self._raw is None:
            self._raw = [None] * len(self.ts)
        return self._raw

    def message(self, i: int) -> str:
        """Line ``i``'s text (decoded alone when the block holds its messages as one text)."""
        if self._msg is not None:
            return self._msg[i]
        text, ends = self.text()
        return text[ends[i - 1] + 1 if i else 0:ends[i]].decode()

    def source(self, i: int) -> str:
        """Line ``i``'s ``ts_source``."""
        return self._src[i] if self._src is not None else self._src_table[self._src_codes[i]]

    def origin_at(self, k: int) -> Origin:
        """Origin ``k`` alone (the others stay unbuilt)."""
        if self._origins is not None:
            return self._origins[k]
        assert self._origin_rows is not None
        row = self._origin_rows[k]
        if not isinstance(row, Origin):
            row = self._origin_rows[k] = Origin.from_list(row)
        return row

    def origin_count(self) -> int:
        return len(self._origins) if self._origins is not None else len(self._origin_rows or ())

    def origin_key(self, k: int) -> tuple[str, str, str]:
        """``(host, stream, agent)`` of origin ``k``, without building the `Origin`."""
        if self._origins is not None:
            o = self._origins[k]
            return o.host, o.stream, o.agent
        assert self._origin_rows is not None
        row = self._origin_rows[k]
        if isinstance(row, Origin):
            return row.host, row.stream, row.agent
        return row[1], row[2], row[0]

    def origin_brief(self, k: int) -> tuple[str, str, str, int, tuple[Any, ...]]:
        """``(host, stream, agent, received, clock)`` of origin ``k``, ``clock`` as the
        values of `ClockView` in field order, without building the `Origin`."""
        if self._origins is not None:
            o = self._origins[k]
            return o.host, o.stream, o.agent, o.received, tuple(getattr(o.clock, f) for f in CLOCK_FIELDS)
        assert self._origin_rows is not None
        row = self._origin_rows[k]
        if isinstance(row, Origin):
            return (row.host, row.stream, row.agent, row.received,
                    tuple(getattr(row.clock, f) for f in CLOCK_FIELDS))
        return row[1], row[2], row[0], row[5], tuple(row[7])

    def text(self) -> tuple[bytes, Sequence[int]]:
        """The messages as one UTF-8 text, each followed by a newline but the last, and where
        each ends (exclusive): message ``i`` is ``text[ends[i-1] + 1:ends[i]]``."""
        if self._text is None and self._packed_text is not None:
            self._text = zstandard.ZstdDecompressor().decompress(self._packed_text)
            self._packed_text = None
        if self._text is None:
            msg = self.msg
            joined = "\n".join(msg)
            self._text = joined.encode()
            sizes = map(len, msg) if len(self._text) == len(joined) else (len(m.encode()) for m in msg)
            # end i = sum of sizes 0..i + i newlines: in C, not a generator per line (sealing).
            ends = array.array("q", itertools.accumulate(sizes))
            self._ends = array.array("q", map(operator.add, ends, range(len(ends))))
        assert self._ends is not None
        return self._text, self._ends

    # ---- building ---------------------------------------------------------------------------

    @classmethod
    def empty(cls) -> LineBlock:
        return cls([], [], [], [], [], [], [], ordered=True)

    @classmethod
    def from_batches(cls, batches: Iterable[tuple[int, Batch]]) -> LineBlock:
        """The lines of ``(received, batch)`` pairs, in arrival order."""
        origins: list[Origin] = []
        origin: list[int] = []
        seq: list[int] = []
        ts: list[int] = []
        msg: list[str] = []
        src: list[str] = []
        raw: list[str | None] = []
        out = cls(origins, origin, seq, ts, msg, src, raw)
        for received, batch in batches:
            for chunk in batch.chunks:
                base = len(ts)
                n = len(chunk.msg)
                origin.extend([len(origins)] * n)
                origins.append(Origin(batch.agent, batch.host, chunk.stream, batch.tz, batch.sent,
                                      received, chunk.read, chunk.clock))
                seq.extend(range(chunk.seq, chunk.seq + n))
                ts.extend(chunk.ts)
                msg.extend(chunk.msg)
                src.extend(chunk.src)
                raw.extend(chunk.raw)
                out.ts_flags.update((base + i, v) for i, v in chunk.ts_flags)
                out.line_flags.update((base + i, v) for i, v in chunk.line_flags)
                out.fields.update((base + i, v) for i, v in chunk.fields)
        return out

    def timeline_order(self) -> list[int]:
        """Line indices in timeline order: (ts, host, stream, seq)."""
        # Sealing sorts every line: by time alone first (integers compare in C, five times
        # faster); only when two lines share an instant does the full key decide.
        by_time = sorted(range(len(self.ts)), key=self.ts.__getitem__)
        times = list(map(self.ts.__getitem__, by_time))
        if not any(map(operator.eq, times, itertools.islice(times, 1, None))):
            return by_time
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
        return LineBlock([self.origins[o] for o in used], origin, list(self.seq[start:end]),
                         list(self.ts[start:end]), self.msg[start:end], self.src[start:end],
                         self.raw[start:end], sparse(self.ts_flags), sparse(self.line_flags),
                         sparse(self.fields), self.ordered)

    def hosts(self) -> list[str]:
        return sorted({o.host for o in self.origins})

    def streams(self) -> list[str]:
        return sorted({o.stream for o in self.origins})

    def raw_bytes(self) -> int:
        """Message bytes held (the 'raw log' a user would count; characters, for ASCII logs)."""
        return sum(map(len, self.msg))

    # ---- stored forms ---------------------------------------------------------------------

    def encode(self, compressor: zstandard.ZstdCompressor) -> bytes:
        """The block as a segment stores it (format 2): ``CLB2``, then the columns and the
        messages as two zstd frames, so a search can read the messages alone::

            "CLB2" | u32 n | zstd(columns) | zstd(messages: UTF-8, newline between)

        columns = u32 m | JSON (origins, ts_source names, raw, sparse attributes, ordered; m
        bytes) | ts (i64 x lines) | seq (i64) | origin (u32) | ts_source (u8, an index into
        the names) | message ends (i64). Integers little-endian.
        """
        n = len(self.ts)
        table = sorted(set(self.src))
        code = {name: i for i, name in enumerate(table)}
        text, ends = self.text()
        raw = self.raw
        doc = orjson.dumps({
            "o": [o.to_list() for o in self.origins], "src": table,
            "raw": raw if any(r is not None for r in raw) else None,
            "tf": list(self.ts_flags.items()), "lf": list(self.line_flags.items()),
            "f": list(self.fields.items()), "ord": self.ordered,
        })
        columns = b"".join([
            _U32.pack(len(doc)), doc, _le(array.array("q", self.ts)), _le(array.array("q", self.seq)),
            _le(array.array("I", self.origin)), bytes(map(code.__getitem__, self.src)),
            _le(array.array("q", ends)),
        ])
        assert len(columns) == 4 + len(doc) + n * 29
        packed = compressor.compress(columns)
        return b"".join([FORMAT_2, _U32.pack(len(packed)), packed, compressor.compress(text)])

    @classmethod
    def decode(cls, plain: bytes) -> LineBlock:
        """A block `encode` wrote. Its messages stay compressed until one is asked for: a
        query that needs none of a block's lines (outside its window, other hosts) never
        decompresses them."""
        if plain[:4] != FORMAT_2 or len(plain) < 8:
            raise ValueError("not a format 2 line block")
        (size,) = _U32.unpack_from(plain, 4)
        unzstd = zstandard.ZstdDecompressor()
        columns = unzstd.decompress(plain[8:8 + size])
        (m,) = _U32.unpack_from(columns, 0)
        d = orjson.loads(columns[4:4 + m])
        at = 4 + m
        n = (len(columns) - at) // 29

        def column(code: str, width: int) -> array.array[int]:
            nonlocal at
            out = array.array(code)
            out.frombytes(columns[at:at + n * width])
            at += n * width
            if sys.byteorder == "big":
                out.byteswap()
            return out

        ts, seq, origin = column("q", 8), column("q", 8), column("I", 4)
        codes = columns[at:at + n]
        at += n
        ends = column("q", 8)
        block = cls([], origin, seq, ts, [], [], [], dict(d["tf"]), dict(d["lf"]), dict(d["f"]), d["ord"])
        block._origins, block._origin_rows = None, d["o"]
        block._msg, block._packed_text, block._ends = None, plain[8 + size:], ends
        block._src, block._src_codes, block._src_table = None, codes, d["src"]
        block._raw = d["raw"]
        return block

    def to_json(self) -> bytes:
        """Format 1 (every column in one JSON document): segments sealed before format 2."""
        return orjson.dumps({
            "o": [o.to_list() for o in self.origins], "oi": list(self.origin), "seq": list(self.seq),
            "ts": list(self.ts), "msg": self.msg, "src": self.src, "raw": self.raw,
            "tf": list(self.ts_flags.items()), "lf": list(self.line_flags.items()),
            "f": list(self.fields.items()), "ord": self.ordered,
        })

    @classmethod
    def from_json(cls, data: bytes) -> LineBlock:
        d = orjson.loads(data)
        return cls([Origin.from_list(o) for o in d["o"]], d["oi"], d["seq"], d["ts"], d["msg"],
                   d["src"], d["raw"], dict(d["tf"]), dict(d["lf"]), dict(d["f"]), d["ord"])


FORMAT_2 = b"CLB2"
_U32 = struct.Struct("<I")


def _le(a: array.array[int]) -> bytes:
    if sys.byteorder == "big":
        a.byteswap()
    return a.tobytes()


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
