"""The agent-to-collector batch format, encoder and decoder in one place.

A batch is compressed and POSTed to ``/v1/push``, in one of two versions, both columnar:

- **2, columns** (what the agent sends): a small JSON header, then per chunk its instants as
  one array of 64-bit integers and its lines as one block of UTF-8 text, as they were read.
  Provenance (``ts_source`` and where the timestamp text is in its line) goes in runs, since
  it rarely changes from one line to the next. The agent builds no object per line
  (`ColumnChunk`).
- **1, JSON**: per chunk the messages are one list and each per-line attribute a parallel
  list (`Chunk`, `encode_batch`); what older agents send, still decoded.

Both decode to the same `Chunk` lists, checked by the same rules. The full description, with
an example, is docs/wire.md; keep the two in step.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import re
import sys
import threading
import zlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import orjson
import zstandard
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from chronolog.timestamps import TS_SOURCES
from chronolog.timestamps.lines import Kind

__all__ = [
    "ANSWERED_HEADER",
    "BATCH_CONTENT_TYPE",
    "CONTENT_TYPE",
    "CONTENT_TYPES",
    "ENCODINGS",
    "EXCHANGE_HEADER",
    "MAX_FIELDS_DEPTH",
    "MAX_INSTANT",
    "MAX_SEQ",
    "UNKNOWN_CLOCK",
    "WIRE_VERSION",
    "Batch",
    "Chunk",
    "ClockView",
    "ColumnChunk",
    "DecodedBatch",
    "Instant",
    "WireError",
    "batch_from_trusted",
    "beyond_limits",
    "columns_parts",
    "compress",
    "declared_size",
    "decode_batch",
    "decompress",
    "encode_batch",
    "encode_columns",
    "format_answered",
    "parse_answered",
    "slice_chunk",
]

WIRE_VERSION = 1
# The collector's cross-check of host clocks (docs/wire.md): the reply names the exchange, and
# the agent's next push says when, by its clock, that reply arrived.
EXCHANGE_HEADER = "Chronolog-Exchange"
ANSWERED_HEADER = "Chronolog-Answered"
_EXCHANGE_ID = re.compile(r"[0-9a-f]{1,32}")
CONTENT_TYPE = "application/vnd.chronolog.batch+json"  # version 1 (JSON), from older agents
COLUMNS_VERSION = 2
COLUMNS_MAGIC = b"CLC2"  # a JSON body never starts with it
BATCH_CONTENT_TYPE = "application/vnd.chronolog.batch"  # either version: the body says which
CONTENT_TYPES = (BATCH_CONTENT_TYPE, CONTENT_TYPE)
ENCODINGS = ("zstd", "gzip", "identity")

TsSource = Literal["explicit", "assumed_zone", "inferred_year", "inferred_date", "read_time"]
assert set(TsSource.__args__) == set(TS_SOURCES)  # type: ignore[attr-defined]

# ---- Limits (issue 16) ---------------------------------------------------------------------
# Every number a batch carries is checked here, where it is decoded, against what the rest of
# chronolog holds: the catalog keeps seq runs and time ranges as SQLite INTEGERs (signed 64
# bits), the store re-encodes fields with orjson (nesting limit 254), and every instant must
# render in any zone (datetime ends at 9999-12-31). docs/wire.md, "Limits", lists them; a
# value outside one is refused with the field named, never stored.

MAX_INSTANT = 253_402_127_999_999_999
"""The latest instant accepted, 9999-12-29T23:59:59.999999Z: a day short of datetime's end,
so that any zone (offsets are within a day) renders it. The earliest is 0, the Unix epoch."""

MAX_SEQ = 2**63 - 2
"""The largest sequence number a line may have: the run end after it, ``seq + 1``, is then
SQLite's largest INTEGER."""

MAX_FIELDS_DEPTH = 32
"""How deeply a line's ``fields`` may nest (objects and lists): far above what journald or
syslog produce, far below orjson's limit once the store wraps them."""


def _outside(value: int) -> str:
    return (f"{value} is outside the instants accepted: 0 (1970-01-01T00:00:00Z) to "
            f"{MAX_INSTANT} (9999-12-29T23:59:59.999999Z), in microseconds")


def _instant(value: int) -> int:
    if not 0 <= value <= MAX_INSTANT:
        raise ValueError(_outside(value))
    return value


def _instants(values: list[int]) -> list[int]:
    # The whole list at once (min and max run in C): a validator called per line took 0.2 ms
    # of a 1 MiB batch's 6 ms in the collector (issue 13).
    if values and not (min(values) >= 0 and max(values) <= MAX_INSTANT):
        line, bad = next((i, v) for i, v in enumerate(values) if not 0 <= v <= MAX_INSTANT)
        raise ValueError(f"line {line}: {_outside(bad)}")
    return values


Instant = Annotated[StrictInt, AfterValidator(_instant)]
"""An instant on the wire: integer microseconds since the epoch, 0 to `MAX_INSTANT`."""

_Instants = Annotated[list[StrictInt], AfterValidator(_instants)]
"""One instant per line, each as `Instant`, checked as one list."""


def _depth(value: Any) -> int:
    """How deeply ``value`` nests (a scalar is 0), counted without recursion."""
    deepest, todo = 0, [(value, 0)]
    while todo:
        item, level = todo.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level + 1)
        todo.extend((child, level + 1) for child in children)
    return deepest


def _shallow(value: dict[str, Any]) -> dict[str, Any]:
    if _depth(value) > MAX_FIELDS_DEPTH:
        raise ValueError(f"fields nest deeper than {MAX_FIELDS_DEPTH} levels")
    return value


Name = Annotated[StrictStr, Field(min_length=1, max_length=512)]
Sparse = list[tuple[StrictInt, list[StrictStr]]]


class WireError(ValueError):
    """A request body that is not a valid batch. ``kind`` is the typed reason for the 4xx."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ClockView:
    """The agent's view of its own clock when it read a chunk's lines.

    ``offset`` is local clock minus UTC in seconds (positive: the clock is ahead); ``bound``
    is the largest error the agent can vouch for. Either is None when unknown, and then
    ``reason`` says why. Never 0 for "missing". ``synced`` is what the local time daemon
    says; ``status`` judges the bound against the agent's budget (``ok``, ``warn``,
    ``over_budget``, ``unknown``); ``source`` says whose measurement the bound is: the
    agent's own NTP ``audit``, or the time ``daemon``'s claim when no audit is available.
    """

    offset: float | None = None
    bound: float | None = None
    synced: bool | None = None
    reason: str | None = None
    status: str | None = None
    source: str | None = None


class _ClockModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    offset: float | None
    bound: Annotated[float, Field(ge=0)] | None
    synced: bool | None
    reason: Annotated[str, Field(max_length=1000)] | None
    # Added with clock verification; absent from older agents' batches.
    status: Literal["ok", "warn", "over_budget", "unknown"] | None = None
    source: Literal["audit", "daemon"] | None = None


UNKNOWN_CLOCK = ClockView(reason="not measured yet")


@dataclass(slots=True)
class Chunk:
    """Consecutive lines of one stream, numbered ``seq``, ``seq+1``, ... and read at ``read``.

    Every list has one entry per line. ``ts_flags``, ``line_flags`` and ``fields`` are sparse:
    ``[line index, value]`` pairs for the few lines that have one.
    """

    stream: str
    seq: int
    read: int
    clock: ClockView
    msg: list[str]
    ts: list[int]
    src: list[str]
    raw: list[str | None]
    ts_flags: list[tuple[int, list[str]]] = field(default_factory=list)
    line_flags: list[tuple[int, list[str]]] = field(default_factory=list)
    fields: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.msg)


_LITTLE = sys.byteorder == "little"


def _little(values: array[int]) -> bytes:
    """An array's items as little-endian bytes, the wire's order."""
    if _LITTLE:
        return values.tobytes()
    swapped = array(values.typecode, values)
    swapped.byteswap()
    return swapped.tobytes()


def _expand(kinds: Sequence[tuple[int, Kind]], raw_texts: Sequence[tuple[int, str]],
            msg: list[str]) -> tuple[list[str], list[str | None]]:
    """Per-line ``src`` and ``raw`` lists from runs of kinds (see `ColumnChunk`)."""
    src: list[str] = []
    raw: list[str | None] = []
    ends = [i for i, _ in kinds[1:]] + [len(msg)]
    for (start, (source, a, b)), end in zip(kinds, ends, strict=True):
        src += [source] * (end - start)
        # map over itemgetter slices in C: a third faster than a comprehension (issue 13)
        raw += [None] * (end - start) if a < 0 else map(operator.itemgetter(slice(a, b)), msg[start:end])
    for i, text in raw_texts:
        raw[i] = text
    return src, raw


@dataclass(slots=True)
class ColumnChunk:
    """Consecutive lines of one stream in columns, as the agent ships them (version 2).

    ``text`` holds the lines in UTF-8, separated by ``\n``; when a line itself holds one (a
    multiline record), ``lengths`` gives each line's size in bytes. ``ts`` has one instant per
    line. ``kinds`` holds ``(first line, (ts_source, start, end))`` each time the provenance
    changes: the timestamp text is characters ``start:end`` of its line (-1: none), unless
    ``raw_texts`` has it. The sparse lists are as in `Chunk`. `Chunk`'s per-line lists are
    available as properties (built on each use: for tests and small streams).
    """

    stream: str
    seq: int
    read: int
    clock: ClockView
    count: int
    text: bytes
    ts: array[int]
    kinds: list[tuple[int, Kind]]
    ts_flags: list[tuple[int, list[str]]] = field(default_factory=list)
    line_flags: list[tuple[int, list[str]]] = field(default_factory=list)
    fields: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    raw_texts: list[tuple[int, str]] = field(default_factory=list)
    lengths: array[int] | None = None

    def __len__(self) -> int:
        return self.count

    @property
    def nbytes(self) -> int:
        """About what it takes in memory and on the wire (before compression)."""
        sparse = len(self.ts_flags) + len(self.line_flags) + len(self.fields) + len(self.kinds)
        return len(self.text) + 8 * self.count + (4 * self.count if self.lengths is not None else 0) \
            + 64 * (sparse + 4)

    @property
    def msg(self) -> list[str]:
        text = self.text.decode("utf-8")
        if self.lengths is None:
            return text.split("\n")
        lines, at = [], 0
        for n in self.lengths:
            lines.append(self.text[at:at + n].decode("utf-8"))
            at += n + 1
        return lines

    @property
    def src(self) -> list[str]:
        return _expand(self.kinds, self.raw_texts, self.msg)[0]

    @property
    def raw(self) -> list[str | None]:
        return _expand(self.kinds, self.raw_texts, self.msg)[1]

    @classmethod
    def from_chunk(cls, chunk: Chunk | ColumnChunk) -> ColumnChunk:
        """The same lines in columns (for the small generated streams)."""
        if isinstance(chunk, ColumnChunk):
            return chunk
        text = "\n".join(chunk.msg).encode("utf-8")
        lengths = None
        if any("\n" in m for m in chunk.msg):
            lengths = array("I", (len(m.encode("utf-8")) for m in chunk.msg))
        kinds: list[tuple[int, Kind]] = []
        raw_texts: list[tuple[int, str]] = []
        for i, (m, source, raw) in enumerate(zip(chunk.msg, chunk.src, chunk.raw, strict=True)):
            at = -1 if raw is None else m.find(raw)
            if raw is not None and at < 0:
                raw_texts.append((i, raw))
            kind = (source, at, -1 if at < 0 else at + len(raw or ""))
            if not kinds or kinds[-1][1] != kind:
                kinds.append((i, kind))
        return cls(chunk.stream, chunk.seq, chunk.read, chunk.clock, len(chunk.msg), text,
                   array("q", chunk.ts), kinds, chunk.ts_flags, chunk.line_flags, chunk.fields,
                   raw_texts, lengths)

    def header(self) -> dict[str, Any]:
        """Its part of the batch header; the sections follow the header in this order: ``ts``
        (8 bytes a line), ``lengths`` (4 bytes a line, when present), ``text``."""
        return {"stream": self.stream, "seq": self.seq, "read": self.read, "clock": self.clock,
                "n": self.count, "text": len(self.text), "lengths": self.lengths is not None,
                "kinds": [(i, *kind) for i, kind in self.kinds], "raw_texts": self.raw_texts,
                "ts_flags": self.ts_flags, "line_flags": self.line_flags, "fields": self.fields}

    def sections(self) -> list[bytes]:
        parts = [_little(self.ts)]
        if self.lengths is not None:
            parts.append(_little(self.lengths))
        parts.append(self.text)
        return parts


@dataclass(slots=True)
class Batch:
    """What one POST carries: who sent it, when (by the agent's clock), and chunks of lines."""

    agent: str
    host: str
    tz: str
    sent: int
    chunks: list[Chunk]
    v: int = WIRE_VERSION


@dataclass(slots=True)
class DecodedBatch:
    """A decoded batch: the valid chunks, and the index and reason of each rejected one."""

    batch: Batch
    rejected: list[tuple[int, str]]


class _ChunkModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stream: Name
    seq: Annotated[StrictInt, Field(ge=0, le=MAX_SEQ)]
    read: Instant
    clock: _ClockModel
    msg: Annotated[list[StrictStr], Field(min_length=1)]
    ts: _Instants
    src: list[TsSource]
    raw: list[StrictStr | None]
    ts_flags: Sparse = []
    line_flags: Sparse = []
    fields: list[tuple[StrictInt, Annotated[dict[StrictStr, Any], AfterValidator(_shallow)]]] = []

    @model_validator(mode="after")
    def _parallel(self) -> _ChunkModel:
        n = len(self.msg)
        if self.seq + n - 1 > MAX_SEQ:
            raise ValueError(f"seq: {n} lines from seq {self.seq} run past the largest sequence "
                             f"number, {MAX_SEQ}")
        for name in ("ts", "src", "raw"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} entries for {n} lines")
        for name in ("ts_flags", "line_flags", "fields"):
            for index, _ in getattr(self, name):
                if not 0 <= index < n:
                    raise ValueError(f"{name} refers to line {index} of {n}")
        return self


class _EnvelopeModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    v: Literal[1]
    agent: Name
    host: Name
    tz: Name
    sent: Instant
    chunks: Annotated[list[dict[str, Any]], Field(min_length=1)]


_chunk_adapter = TypeAdapter(_ChunkModel)


def encode_batch(batch: Batch) -> bytes:
    """The JSON body (version 1) of a batch (uncompressed)."""
    return orjson.dumps(batch)


def encode_columns(agent: str, host: str, tz: str, sent: int,
                   chunks: Sequence[Chunk | ColumnChunk]) -> bytes:
    """The columns body (version 2) of a batch (uncompressed): ``COLUMNS_MAGIC``, the header's
    length (4 bytes, little-endian), the JSON header, then each chunk's sections."""
    return b"".join(columns_parts(agent, host, tz, sent, chunks))


def columns_parts(agent: str, host: str, tz: str, sent: int,
                  chunks: Sequence[Chunk | ColumnChunk]) -> list[bytes]:
    """`encode_columns`'s body in the parts it is made of, each chunk's text as it was read:
    `compress` takes them as they are, without a copy of the whole body."""
    columns = [ColumnChunk.from_chunk(c) for c in chunks]
    header = orjson.dumps({"v": COLUMNS_VERSION, "agent": agent, "host": host, "tz": tz, "sent": sent,
                           "chunks": [c.header() for c in columns]})
    parts = [COLUMNS_MAGIC, len(header).to_bytes(4, "little"), header]
    for c in columns:
        parts += c.sections()
    return parts


class _ColumnsEnvelopeModel(_EnvelopeModel):
    v: Literal[2]  # type: ignore[assignment]


class _ColumnsChunkModel(BaseModel):
    """What decoding a chunk's sections needs; the rest is checked as in version 1."""

    model_config = ConfigDict(extra="allow")

    n: Annotated[StrictInt, Field(ge=1, le=1 << 28)]
    text: Annotated[StrictInt, Field(ge=0)]
    lengths: bool
    kinds: Annotated[list[tuple[StrictInt, StrictStr, StrictInt, StrictInt]], Field(min_length=1)]
    raw_texts: list[tuple[StrictInt, StrictStr]] = []


_columns_adapter = TypeAdapter(_ColumnsChunkModel)


def _columns_document(body: bytes) -> tuple[dict[str, Any], list[dict[str, Any] | str]]:
    """A version-2 body as version 1's document: the envelope, and per chunk its lists (or why
    it cannot be read, then rejected alone)."""
    size = int.from_bytes(body[4:8], "little")
    try:
        document = orjson.loads(body[8:8 + size])
    except orjson.JSONDecodeError as e:
        raise WireError("bad_json", f"header: {e}") from None
    if not isinstance(document, dict) or not isinstance(document.get("chunks"), list):
        raise WireError("bad_batch", "header: expected an object with chunks")
    at = 8 + size
    chunks: list[dict[str, Any] | str] = []
    for raw_chunk in document["chunks"]:
        try:
            meta = _columns_adapter.validate_python(raw_chunk)
        except ValidationError as e:
            raise WireError("bad_batch", f"chunk sections: {_first_error(e)}") from None
        sizes = [8 * meta.n, 4 * meta.n if meta.lengths else 0, meta.text]
        if at + sum(sizes) > len(body):
            raise WireError("bad_batch", "chunk sections run past the end of the body")
        ts = array("q", body[at:at + sizes[0]])
        lengths = array("I", body[at + sizes[0]:at + sizes[0] + sizes[1]])
        if not _LITTLE:
            ts.byteswap()
            lengths.byteswap()
        text = body[at + sizes[0] + sizes[1]:at + sum(sizes)]
        at += sum(sizes)
        chunks.append(_columns_lists(raw_chunk, meta, ts, lengths if meta.lengths else None, text))
    if at != len(body):
        raise WireError("bad_batch", f"{len(body) - at} bytes after the last chunk")
    return document, chunks


def _columns_lists(raw_chunk: dict[str, Any], meta: _ColumnsChunkModel, ts: array[int],
                   lengths: array[int] | None, text: bytes) -> dict[str, Any] | str:
    """One version-2 chunk as version 1's lists, or what is wrong with it."""
    n = meta.n
    try:
        if lengths is None:
            msg = text.decode("utf-8").split("\n")
        else:
            if sum(lengths) + n - 1 != len(text):
                return f"lengths: {sum(lengths)} bytes in {n} lines for {len(text)} bytes of text"
            msg, at = [], 0
            for length in lengths:
                msg.append(text[at:at + length].decode("utf-8"))
                at += length + 1
    except UnicodeDecodeError as e:
        return f"text: not UTF-8 ({e.reason} at byte {e.start})"
    if len(msg) != n:
        return f"text: {len(msg)} lines for n = {n}"
    starts = [kind[0] for kind in meta.kinds]
    if starts[0] != 0 or any(b <= a for a, b in itertools.pairwise(starts)) or starts[-1] >= n:
        return "kinds: the runs must start at line 0 and go forward within the chunk"
    if any(a < -1 or (a >= 0 and b < a) for _, _, a, b in meta.kinds):
        return "kinds: a timestamp's place is start <= end, or -1 for none"
    if any(not 0 <= i < n for i, _ in meta.raw_texts):
        return "raw_texts: refers to a line outside the chunk"
    kinds = [(i, (source, a, b)) for i, source, a, b in meta.kinds]
    src, raw = _expand(kinds, meta.raw_texts, msg)
    doc = {k: v for k, v in raw_chunk.items() if k not in ("n", "text", "lengths", "kinds", "raw_texts")}
    doc.update(msg=msg, ts=ts.tolist(), src=src, raw=raw)
    return doc


def decode_batch(body: bytes) -> DecodedBatch:
    """Decode an uncompressed body (either version). A bad envelope raises `WireError`; a bad
    chunk is only listed in ``rejected``, so the valid chunks of the same batch are kept."""
    raw_chunks: list[dict[str, Any] | str]
    if body[:4] == COLUMNS_MAGIC:
        document, raw_chunks = _columns_document(body)
        model: type[_EnvelopeModel] = _ColumnsEnvelopeModel
    else:
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as e:
            raise WireError("bad_json", str(e)) from None
        model = _EnvelopeModel
        raw_chunks = []
    try:
        envelope = model.model_validate(document)
    except ValidationError as e:
        raise WireError("bad_batch", _first_error(e)) from None
    if model is _EnvelopeModel:
        raw_chunks = list(envelope.chunks)
    chunks: list[Chunk] = []
    rejected: list[tuple[int, str]] = []
    for index, raw_chunk in enumerate(raw_chunks):
        if isinstance(raw_chunk, str):
            rejected.append((index, raw_chunk))
            continue
        try:
            m = _chunk_adapter.validate_python(raw_chunk)
        except ValidationError as e:
            rejected.append((index, _first_error(e)))
            continue
        clock = ClockView(m.clock.offset, m.clock.bound, m.clock.synced, m.clock.reason,
                          m.clock.status, m.clock.source)
        chunks.append(
            Chunk(m.stream, m.seq, m.read, clock, m.msg, m.ts, list(m.src), m.raw,
                  m.ts_flags, m.line_flags, m.fields)
        )
    batch = Batch(envelope.agent, envelope.host, envelope.tz, envelope.sent, chunks)
    return DecodedBatch(batch, rejected)


def _first_error(e: ValidationError) -> str:
    err = e.errors()[0]
    message = err["msg"].removeprefix("Value error, ")
    where = ".".join(str(p) for p in err["loc"])
    extra = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
    # An error of the whole model names its field in its message.
    return f"{where}: {message}{extra}" if where else f"{message}{extra}"


_compressors = threading.local()  # one zstd context per thread, kept: a new one costs its tables


def compress(body: bytes | list[bytes], encoding: str) -> bytes:
    """Compress a body, or the parts it is made of in order, for the HTTP
    ``Content-Encoding`` named."""
    if encoding == "identity":
        return body if isinstance(body, bytes) else b"".join(body)
    parts = [body] if isinstance(body, bytes) else body
    if encoding == "zstd":
        # Level 1: on batches of log lines it is about twice as fast as level 3 and compresses
        # as well or better (measured for bench/ship.py's lines: 509 vs 256 MB/s, 3.7 vs 3.3);
        # the negative levels are a fifth faster again but send 1.6 times the bytes (issue 13).
        # Its hash table at 2^12 entries rather than 2^14: it stays in the CPU's first-level
        # cache, 7 to 15 % faster on this repository's real-log corpus and on the bench's
        # lines, and as small or smaller.
        compressor = getattr(_compressors, "zstd", None)
        if compressor is None:
            params = zstandard.ZstdCompressionParameters.from_level(1, source_size=1 << 20, hash_log=12)
            compressor = _compressors.zstd = zstandard.ZstdCompressor(compression_params=params)
        stream = compressor.compressobj(size=sum(len(p) for p in parts))
    elif encoding == "gzip":
        stream = zlib.compressobj(6, wbits=31)
    else:
        raise WireError("bad_encoding", f"unsupported content encoding {encoding!r}")
    # Part by part: joined first, a batch's megabyte was copied into fresh memory each time,
    # and its page faults cost the agent as much as a fifth of its compression (issue 13).
    return b"".join([*(stream.compress(p) for p in parts), stream.flush()])


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """Undo ``Content-Encoding``, refusing output larger than ``limit`` bytes."""
    encoding = encoding.strip().lower() or "identity"
    try:
        if encoding == "zstd":
            out = _unzstd(body, limit)
        elif encoding == "gzip":
            d = zlib.decompressobj(wbits=47)
            out = d.decompress(body, limit + 1)
        elif encoding == "identity":
            out = body
        else:
            raise WireError("bad_encoding", f"unsupported content encoding {encoding!r}; "
                            f"expected one of {', '.join(ENCODINGS)}")
    except (zstandard.ZstdError, zlib.error) as e:
        raise WireError("bad_compression", str(e)) from None
    if len(out) > limit:
        raise WireError("too_large", f"batch is larger than {limit} bytes uncompressed")
    return out


def declared_size(body: bytes, encoding: str) -> int | None:
    """How many bytes ``body`` says it decompresses to, before decompressing it (to cost a
    batch before its memory is taken): a zstd frame's content size, gzip's ISIZE (modulo
    2**32), an identity body's own length; None when it says nothing (a zstd frame written by a
    stream) or is not of the encoding at all. `decompress` with this as the limit refuses a body
    that inflates past what it declared."""
    encoding = encoding.strip().lower() or "identity"
    if encoding == "identity":
        return len(body)
    if encoding == "zstd":
        try:
            size = zstandard.frame_content_size(body)
        except zstandard.ZstdError:
            return None
        return size if size >= 0 else None
    if encoding == "gzip" and len(body) >= _GZIP_SMALLEST:
        return int.from_bytes(body[-4:], "little")
    return None


_GZIP_SMALLEST = 20  # header (10), an empty deflate block (2), CRC-32 and ISIZE (8)


def _unzstd(body: bytes, limit: int) -> bytes:
    # One frame that declares its size within the limit (what the agent sends) is inflated in
    # one call, into a buffer of that size: half the time of the stream (0.6 vs 1.3 ms a MiB,
    # a tenth of the collector's work on a batch; issue 13). zstd refuses a frame that holds
    # more than it declares; any refusal, and any other body, goes through the stream, which
    # says what is wrong as it always did.
    with contextlib.suppress(zstandard.ZstdError):
        size = zstandard.frame_content_size(body)
        if 0 <= size <= limit and _zstd_frame_end(body, 2 + (size >> 12)) == len(body):
            return zstandard.ZstdDecompressor().decompress(body)
    # Read through a stream so a small body that expands enormously stops at limit + 1.
    parts: list[bytes] = []
    size = 0
    with zstandard.ZstdDecompressor().stream_reader(body) as reader:
        while size <= limit:
            part = reader.read(min(1 << 20, limit + 1 - size))
            if not part:
                break
            parts.append(part)
            size += len(part)
    return b"".join(parts)


def _zstd_frame_end(body: bytes, most_blocks: int) -> int | None:
    """Where the zstd frame at the start of ``body`` ends (RFC 8878: its header, its blocks,
    each announced by a 3-byte header, and its checksum); None if it is cut short, damaged, or
    has more than ``most_blocks`` blocks (a compressor fills blocks of up to 128 KiB; a body of
    tiny blocks must not cost a Python loop per few bytes)."""
    at = zstandard.frame_header_size(body)
    checksum = 4 if zstandard.get_frame_parameters(body).has_checksum else 0
    for _ in range(most_blocks):
        if at + 3 > len(body):
            return None
        block = int.from_bytes(body[at:at + 3], "little")
        last, kind, size = block & 1, (block >> 1) & 3, block >> 3
        if kind == 3:  # reserved
            return None
        at += 3 + (1 if kind == 1 else size)  # an RLE block holds one byte, repeated size times
        if last:
            return at + checksum if at + checksum <= len(body) else None
    return None


def beyond_limits(chunk: Chunk) -> str | None:
    """Why a chunk that did not come through `decode_batch` (a WAL record written before these
    limits existed) falls outside them; None when it does not."""
    if not 0 <= chunk.seq <= chunk.seq + len(chunk) - 1 <= MAX_SEQ:
        return f"its seq {chunk.seq} and {len(chunk)} lines run past {MAX_SEQ}"
    outside = [t for t in (chunk.read, *chunk.ts) if not 0 <= t <= MAX_INSTANT]
    if outside:
        return f"its instant {outside[0]} is outside 0 to {MAX_INSTANT}"
    return None


def slice_chunk(chunk: Chunk, start: int, end: int) -> Chunk:
    """Lines ``start:end`` of a chunk as a chunk of their own (seq and sparse lists follow)."""
    if start == 0 and end == len(chunk.msg):
        return chunk

    def sparse(pairs: list[tuple[int, Any]]) -> list[tuple[int, Any]]:
        return [(i - start, v) for i, v in pairs if start <= i < end]

    return Chunk(
        chunk.stream, chunk.seq + start, chunk.read, chunk.clock,
        chunk.msg[start:end], chunk.ts[start:end], chunk.src[start:end], chunk.raw[start:end],
        sparse(chunk.ts_flags), sparse(chunk.line_flags), sparse(chunk.fields),
    )


def batch_from_trusted(doc: dict[str, Any]) -> Batch:
    """Rebuild a `Batch` from JSON that chronolog itself wrote (no validation: the store's
    frame checks already vouch for it)."""
    chunks = [
        Chunk(c["stream"], c["seq"], c["read"], ClockView(**c["clock"]), c["msg"], c["ts"],
              c["src"], c["raw"], c["ts_flags"], c["line_flags"], c["fields"])
        for c in doc["chunks"]
    ]
    return Batch(doc["agent"], doc["host"], doc["tz"], doc["sent"], chunks)


def format_answered(exchange: str, arrived_us: int) -> str:
    """The ``Chronolog-Answered`` value: which reply, and when (µs, the agent's clock) it arrived."""
    return f"{exchange} {arrived_us}"


def parse_answered(text: str | None) -> tuple[str, int] | None:
    """``Chronolog-Answered`` as (exchange id, µs), or None if absent or malformed (it only
    ever narrows a cross-check: a bad one is ignored, never an error)."""
    parts = (text or "").split()
    if len(parts) != 2 or not _EXCHANGE_ID.fullmatch(parts[0]) or not parts[1].isdigit():
        return None
    arrived = int(parts[1])
    return (parts[0], arrived) if arrived < 2**63 else None
