"""Segment files: immutable, sorted by event time, compressed and sealed in blocks. Pure
building; reading takes an open binary file.

Layout::

    MAGIC "CLS1" | u32 n | key slot (JSON, n bytes)          <- not covered by the digest
    u32 n | header (JSON) | u32 n | block index (JSON) | blocks  <- the digest (SHA-256) covers these

- The **key slot** holds the segment's data key wrapped by a tenant key version (AES key
  wrap) and that version's id. It is the one part outside the digest, so that keys can be
  re-wrapped without touching the chained bytes.
- The **header** names the tenant, the segment's number in the tenant's chain and the link
  before it (chain.py), when it was sealed, the nonce prefix, totals, the WAL files it
  replaces, the runs of sequence numbers its lines hold (``seq_runs``: what the catalog
  copies of it for de-duplication, checked by verify) and (``v`` 2) the ``records_root``
  made from the blocks' roots (`chronolog.evidence.tree`).
- The **index** gives per block its offset and length (relative to the first block), line
  count, raw message bytes, event-time range, hosts and streams: the catalog copies it; and
  (``v`` 2) its ``root``, the Merkle tree head over its lines' canonical records (leaves.py).
  A few lines can then be proved to be in a signed segment with the hashes of their block's
  other lines and of the other blocks, never their contents (docs/evidence.md).
- **Block i** is ``AES-256-GCM(LineBlock.encode())`` (format 2: the columns and the messages
  as two zstd frames, named by the header's ``block_format``; format 1, in segments sealed
  before it, is ``zstd(LineBlock JSON)``) with the nonce ``prefix || i`` and the associated
  data ``SHA-256(header, index) || i``: a block cannot be altered, moved or paired with
  another header or index without failing its tag.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import operator
import os
import struct
from dataclasses import dataclass
from typing import IO, Any

import orjson
import zstandard

from chronolog.evidence import merkle, tree
from collector.store.crypto import Sealer, Unreadable, new_key, new_nonce_prefix, sha256, unwrap_key, wrap_key
from collector.store.leaves import RECORD_FORMAT, record_bytes
from collector.store.lines import LineBlock

__all__ = ["BLOCK_FORMAT", "MAGIC", "ZSTD_LEVEL", "BuiltSegment", "PreparedBlocks", "SegmentHead",
           "build_segment", "prepare_blocks", "records_root", "seal_blocks", "segment_name"]

MAGIC = b"CLS1"
BLOCK_FORMAT = 2  # how blocks are encoded (lines.py); a header without it means 1
_LEN = struct.Struct(">I")
_BLOCK = struct.Struct(">Q")
_MAX_PART = 64 << 20
# Sealing is CPU-bound and compression is a fifth of it. On 256-byte lines level 1 compresses
# 1.7x faster than level 3 for 5 % more bytes (0.345 vs 0.329 of raw; 0.091 vs 0.089 on a
# dpkg log); levels above 1 cost a sealer more than the disk they save (issue 14).
ZSTD_LEVEL = 1


def segment_name(number: int) -> str:
    return f"seg-{number:08d}.cls"


@dataclass(frozen=True, slots=True)
class BuiltSegment:
    """A segment's bytes and what the catalog records of it."""

    data: bytes
    header: dict[str, Any]
    index: list[dict[str, Any]]
    digest: bytes  # SHA-256 of everything after the key slot
    tenant_key: str
    seq_runs: list[tuple[str, str, int, int]]


def _cut(lines: LineBlock, block_bytes: int) -> list[tuple[int, int]]:
    """Consecutive ``(start, end)`` ranges of lines holding about ``block_bytes`` each."""
    # The per-line columns cost about 64 bytes besides the text (added in C: sealing cuts every line).
    ends = list(map(operator.add, itertools.accumulate(map(len, lines.msg)), range(64, 1 << 62, 64)))
    ranges, start, base = [], 0, 0
    while start < len(ends):
        end = bisect.bisect_left(ends, base + block_bytes, lo=start) + 1
        end = min(end, len(ends))
        ranges.append((start, end))
        base, start = ends[end - 1], end
    return ranges


@dataclass(frozen=True, slots=True)
class PreparedBlocks:
    """A segment's blocks compressed and indexed, not yet sealed: the costly part of a seal,
    which needs neither the segment's number nor the chain (`prepare_blocks`). Sealers build
    these in parallel; `seal_blocks` then makes each the chain's next segment, in order."""

    plain: list[bytes]  # each block's compressed plaintext
    index: list[dict[str, Any]]
    totals: dict[str, Any]  # lines, raw, min_ts, max_ts, blocks, block_format


def prepare_blocks(lines: LineBlock, level: int = ZSTD_LEVEL, block_bytes: int = 1 << 20,
                   block_format: int = BLOCK_FORMAT) -> PreparedBlocks:
    """Cut ``lines`` (in timeline order, at least one) into blocks, compress and index them.
    ``block_format`` 1 writes blocks as segments sealed before format 2 hold them (for the
    tests that keep those readable)."""
    assert lines.ordered and len(lines) > 0
    compressor = zstandard.ZstdCompressor(level=level)
    plain_blocks: list[bytes] = []
    index: list[dict[str, Any]] = []
    offset = 0
    for start, end in _cut(lines, block_bytes):
        block = lines.slice(start, end)
        compressed = block.encode(compressor) if block_format == 2 else compressor.compress(block.to_json())
        plain_blocks.append(compressed)
        length = len(compressed) + 16  # the GCM tag
        index.append({"offset": offset, "length": length, "lines": len(block),
                      "raw": block.raw_bytes(), "min_ts": block.ts[0], "max_ts": block.ts[-1],
                      "hosts": block.hosts(), "streams": block.streams(),
                      "root": merkle.root(record_bytes(block)).hex()})
        offset += length
    totals = {**({"block_format": block_format} if block_format != 1 else {}),
              "lines": len(lines), "raw": sum(b["raw"] for b in index),
              "min_ts": lines.ts[0], "max_ts": lines.ts[-1], "blocks": len(index)}
    return PreparedBlocks(plain_blocks, index, totals)


def seal_blocks(prepared: PreparedBlocks, *, tenant: str, number: int, prev: bytes, sealed: int,
                wal_files: list[str], tenant_key_id: str, tenant_key: bytes,
                runs: list[tuple[str, str, int, int]]) -> BuiltSegment:
    """Seal prepared blocks as segment ``number`` of the chain, after the link ``prev``: the
    header, a fresh data key, every block under AES-256-GCM bound to header and index. Cheap
    next to `prepare_blocks`. ``runs`` are the seq ranges the lines hold
    (`collector.store.lines.seq_runs`)."""
    dek, prefix = new_key(), new_nonce_prefix()
    header = {"v": 2, "tenant": tenant, "number": number, "prev": prev.hex(), "sealed": sealed,
              "wal": wal_files, "nonce_prefix": prefix.hex(), "compression": "zstd", **prepared.totals,
              "records": RECORD_FORMAT, "records_root": records_root(prepared.index).hex()}
    # What de-duplication trusts, sealed and chained with the lines: verify checks the
    # catalog's copy against it (issue 16).
    header["seq_runs"] = [list(run) for run in runs]
    header_bytes, index_bytes = orjson.dumps(header), orjson.dumps(prepared.index)
    binding = sha256(header_bytes, index_bytes)
    sealer = Sealer(dek, prefix)
    body = [_LEN.pack(len(header_bytes)), header_bytes, _LEN.pack(len(index_bytes)), index_bytes]
    body += [sealer.seal(i, p, binding + _BLOCK.pack(i)) for i, p in enumerate(prepared.plain)]
    keyslot = orjson.dumps({"tenant_key": tenant_key_id, "dek": wrap_key(tenant_key, dek).hex()})
    digest = hashlib.sha256()
    for part in body:
        digest.update(part)
    data = b"".join([MAGIC, _LEN.pack(len(keyslot)), keyslot, *body])
    return BuiltSegment(data, header, prepared.index, digest.digest(), tenant_key_id, runs)


def build_segment(lines: LineBlock, *, tenant: str, number: int, prev: bytes, sealed: int,
                  wal_files: list[str], tenant_key_id: str, tenant_key: bytes,
                  runs: list[tuple[str, str, int, int]], level: int = 3,
                  block_bytes: int = 1 << 20, block_format: int = BLOCK_FORMAT) -> BuiltSegment:
    """`prepare_blocks` then `seal_blocks`, in one step."""
    return seal_blocks(prepare_blocks(lines, level, block_bytes, block_format), tenant=tenant,
                       number=number, prev=prev, sealed=sealed, wal_files=wal_files,
                       tenant_key_id=tenant_key_id, tenant_key=tenant_key, runs=runs)


def records_root(index: list[dict[str, Any]]) -> bytes:
    """The records root of a (v2) segment from its index's block roots
    (`chronolog.evidence.tree`)."""
    return tree.records_root([(int(b["lines"]), bytes.fromhex(b["root"])) for b in index])


class SegmentHead:
    """The key slot, header and index of a segment file, read from its start."""

    def __init__(self, keyslot: dict[str, Any], header_bytes: bytes, index_bytes: bytes,
                 body_start: int, blocks_start: int) -> None:
        self.keyslot = keyslot
        try:
            self.header: dict[str, Any] = orjson.loads(header_bytes)
            self.index: list[dict[str, Any]] = orjson.loads(index_bytes)
        except orjson.JSONDecodeError:
            raise Unreadable("segment header or index is not JSON") from None
        self.binding = sha256(header_bytes, index_bytes)
        self.body_start = body_start  # where the digest starts
        self.blocks_start = blocks_start

    @classmethod
    def read(cls, f: IO[bytes]) -> SegmentHead:
        """Raises `Unreadable` for a file that is not a whole segment head."""
        f.seek(0)
        if f.read(4) != MAGIC:
            raise Unreadable("not a chronolog segment file")
        keyslot_bytes = _part(f)
        body_start = f.tell()
        header_bytes = _part(f)
        index_bytes = _part(f)
        try:
            keyslot = orjson.loads(keyslot_bytes)
        except orjson.JSONDecodeError:
            raise Unreadable("segment key slot is not JSON") from None
        return cls(keyslot, header_bytes, index_bytes, body_start, f.tell())

    def sealer(self, tenant_key: bytes) -> Sealer:
        dek = unwrap_key(tenant_key, bytes.fromhex(self.keyslot["dek"]))
        return Sealer(dek, bytes.fromhex(self.header["nonce_prefix"]))

    def read_sealed(self, f: IO[bytes], block: int) -> bytes:
        entry = self.index[block]
        f.seek(self.blocks_start + entry["offset"])
        data = f.read(entry["length"])
        if len(data) != entry["length"]:
            raise Unreadable(f"block {block} is cut short")
        return data

    def open_block(self, sealer: Sealer, block: int, sealed: bytes) -> bytes:
        """The block's compressed plaintext; raises `Unreadable` if its tag fails."""
        return sealer.open(block, sealed, self.binding + _BLOCK.pack(block))

    def load_block(self, fd: int, sealer: Sealer, block: int,
                   contains: str | None = None) -> LineBlock | None:
        """The block's lines, read with ``pread`` (threads may share ``fd``). ``contains`` is a
        hint: a block of format 1 (JSON) without it is skipped (None) before it is parsed.
        Raises `Unreadable`."""
        entry = self.index[block]
        sealed = os.pread(fd, entry["length"], self.blocks_start + entry["offset"])
        if len(sealed) != entry["length"]:
            raise Unreadable(f"block {block} is cut short")
        plain = self.open_block(sealer, block, sealed)
        if self.header.get("block_format", 1) == 2:
            try:
                return LineBlock.decode(plain)
            except (ValueError, zstandard.ZstdError) as e:
                raise Unreadable(f"block {block} does not decode: {e}") from None
        plain = zstandard.ZstdDecompressor().decompress(plain)
        # Format 1 is JSON: the text as it appears inside a JSON string.
        if contains and orjson.dumps(contains)[1:-1] not in plain:
            return None
        return LineBlock.from_json(plain)


def _part(f: IO[bytes]) -> bytes:
    raw = f.read(4)
    if len(raw) != 4:
        raise Unreadable("segment head is cut short")
    (n,) = _LEN.unpack(raw)
    if n > _MAX_PART:
        raise Unreadable("segment head is damaged")
    data = f.read(n)
    if len(data) != n:
        raise Unreadable("segment head is cut short")
    return data


def file_digest(f: IO[bytes], start: int) -> bytes:
    """SHA-256 of the file from ``start`` (a segment's body) to its end."""
    h = hashlib.sha256()
    f.seek(start)
    while chunk := f.read(1 << 20):
        h.update(chunk)
    return h.digest()
