"""The agent-to-collector batch format, encoder and decoder in one place.

A batch is JSON, compressed, POSTed to ``/v1/push``. It is columnar: per chunk of lines from one
stream, the messages are one list and each per-line attribute is a parallel list, so neither
side builds a dict per line. The full description, with an example, is docs/wire.md; keep
the two in step.
"""

from __future__ import annotations

import re
import zlib
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

__all__ = [
    "ANSWERED_HEADER",
    "CONTENT_TYPE",
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
    "DecodedBatch",
    "Instant",
    "WireError",
    "batch_from_trusted",
    "beyond_limits",
    "compress",
    "declared_size",
    "decode_batch",
    "decompress",
    "encode_batch",
    "format_answered",
    "parse_answered",
    "slice_chunk",
]

WIRE_VERSION = 1
CONTENT_TYPE = "application/vnd.chronolog.batch+json"
# The collector's cross-check of host clocks (docs/wire.md): the reply names the exchange, and
# the agent's next push says when, by its clock, that reply arrived.
EXCHANGE_HEADER = "Chronolog-Exchange"
ANSWERED_HEADER = "Chronolog-Answered"
_EXCHANGE_ID = re.compile(r"[0-9a-f]{1,32}")
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


def _instant(value: int) -> int:
    if not 0 <= value <= MAX_INSTANT:
        raise ValueError(f"{value} is outside the instants accepted: 0 (1970-01-01T00:00:00Z) to "
                         f"{MAX_INSTANT} (9999-12-29T23:59:59.999999Z), in microseconds")
    return value


Instant = Annotated[StrictInt, AfterValidator(_instant)]
"""An instant on the wire: integer microseconds since the epoch, 0 to `MAX_INSTANT`."""


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
    ts: list[Instant]
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
    """The JSON body of a batch (uncompressed)."""
    return orjson.dumps(batch)


def decode_batch(body: bytes) -> DecodedBatch:
    """Decode an uncompressed body. A bad envelope raises `WireError`; a bad chunk is only
    listed in ``rejected``, so the valid chunks of the same batch are kept."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise WireError("bad_json", str(e)) from None
    try:
        envelope = _EnvelopeModel.model_validate(document)
    except ValidationError as e:
        raise WireError("bad_batch", _first_error(e)) from None
    chunks: list[Chunk] = []
    rejected: list[tuple[int, str]] = []
    for index, raw_chunk in enumerate(envelope.chunks):
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


def compress(body: bytes, encoding: str) -> bytes:
    """Compress a body for the HTTP ``Content-Encoding`` named."""
    if encoding == "zstd":
        # Level 1: on batches of log lines it is about twice as fast as level 3 and compresses
        # as well or better (measured for bench/ship.py's lines: 509 vs 256 MB/s, 3.7 vs 3.3).
        return zstandard.ZstdCompressor(level=1).compress(body)
    if encoding == "gzip":
        return zlib.compress(body, 6, wbits=31)
    if encoding == "identity":
        return body
    raise WireError("bad_encoding", f"unsupported content encoding {encoding!r}")


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
