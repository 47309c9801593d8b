"""The encrypted write-ahead log: one file per tenant per run of the collector, until sealed.

File: ``MAGIC | u32 header length | header (JSON) | frames``. The header names the tenant, the
file id, the tenant key version and the file's data key wrapped by it (AES key wrap), and the
nonce prefix. Each frame (frames.py: magic, length, CRC-32) carries ``u64 counter |
AES-256-GCM(record)`` with the nonce ``prefix || counter`` and the associated data
``SHA-256(header) || counter``: a record cannot be moved to another file or position unseen.

A file is appended to only by the process that created it; a restarted collector starts a new
file (and a new data key), so a counter is never used twice under one key even when a crash
lost the tail of a file. The CRC tells a torn tail (cut away) from a whole frame; the GCM tag
tells a whole frame from a forged or damaged one (skipped and reported, never taken for data).

**The head** (issue 16). A torn tail and a cut one look alike from inside the file: after
every group commit is fsync'd, and before it is acknowledged, the writer appends what the
file then holds (frames, bytes) to ``wal-NNNNNNNN.head`` beside it, fsync'd too. A file
that ends before its head is a loss of acknowledged records (`lost_records`), never a torn
write: a crash can only leave the file longer than its head, by a group not yet acknowledged.
"""

from __future__ import annotations

import contextlib
import os
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

from chronolog.fsutil import fsync_dir, write_all
from chronolog.timefmt import now_us
from chronolog.wire import Batch, batch_from_trusted
from collector.store.crypto import (
    Sealer,
    Unreadable,
    new_id,
    new_key,
    new_nonce_prefix,
    sha256,
    unwrap_key,
    wrap_key,
)
from collector.store.frames import encode_frame, scan_frames
from collector.store.keys import TenantKeys

__all__ = ["MAGIC", "KeySource", "WalContents", "WalEncoder", "WalHead", "WalWriter", "decode_record",
           "encode_record", "frame_extent", "head_path", "lost_records", "new_header", "parse_header",
           "read_head", "read_wal", "wal_name"]

MAGIC = b"CLW1"
_LEN = struct.Struct(">I")
_COUNTER = struct.Struct(">Q")
_MAX_HEADER = 1 << 16


def wal_name(number: int) -> str:
    return f"wal-{number:08d}.log"


def head_path(wal: Path) -> Path:
    """Where the head of the WAL file ``wal`` is kept (``wal-NNNNNNNN.head``)."""
    return wal.with_suffix(".head")


@dataclass(frozen=True, slots=True)
class WalHead:
    """What a WAL file held after its last acknowledged group commit."""

    file: str  # the WAL file's id (its header's "file")
    frames: int
    end: int  # bytes, header included


def read_head(path: Path) -> WalHead | None:
    """The last whole record of a head file; None if there is none (a file written before
    heads existed, or torn before its first record)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    frames, _, _ = scan_frames(data)
    for frame in reversed(frames):
        try:
            doc = orjson.loads(frame.payload)
            return WalHead(str(doc["file"]), int(doc["frames"]), int(doc["end"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            continue
    return None


def lost_records(file_id: object, frames: int, valid_end: int, head: WalHead | None) -> str | None:
    """What of its acknowledged records a WAL file no longer holds, in words (None: nothing),
    from its id, how many whole frames it holds and where they end."""
    if head is None:
        return None
    if head.file != file_id:
        return f"its head belongs to another WAL file ({head.file})"
    if valid_end >= head.end and frames >= head.frames:
        return None
    missing = max(head.frames - frames, 0)
    return (f"it ends at byte {valid_end} but {head.end} bytes, {head.frames} records, were acknowledged: "
            f"{missing or 'some'} acknowledged record(s) are gone (a cut, not a torn write)")


def frame_extent(data: bytes) -> tuple[dict[str, Any], int, int]:
    """A WAL file's header, how many whole frames it holds and where they end, without its key
    (raises `Unreadable` for a foreign or torn file)."""
    header, start = parse_header(data)
    frames, valid_end, damaged = scan_frames(data[start:])
    return header, len(frames) + len(damaged), start + valid_end


def encode_record(received: int, batch: Batch) -> bytes:
    """One WAL record: a batch (only its new lines) and when it arrived."""
    return orjson.dumps({"received": received, "batch": batch})


def decode_record(record: bytes) -> tuple[int, Batch]:
    doc = orjson.loads(record)
    return doc["received"], batch_from_trusted(doc["batch"])


class KeySource(Protocol):
    def key(self, tenant: str, key_id: str) -> bytes: ...


def new_header(tenant: str, keys: TenantKeys) -> tuple[dict[str, Any], bytes, Sealer]:
    """A new WAL file's header (a fresh data key, wrapped by the tenant's active key), its
    bytes, and the sealer of its records."""
    key_id, tenant_key = keys.active(tenant)
    dek, prefix = new_key(), new_nonce_prefix()
    header = {"v": 1, "tenant": tenant, "file": new_id("w"), "tenant_key": key_id,
              "dek": wrap_key(tenant_key, dek).hex(), "nonce_prefix": prefix.hex(), "created": now_us()}
    return header, orjson.dumps(header), Sealer(dek, prefix)


class WalEncoder:
    """WAL records as self-contained one-record WAL files (`read_wal` reads each), for a log
    kept elsewhere than a local file: a stream message per record (the JetStream store). One
    header and data key per encoder; the counter never repeats under it."""

    def __init__(self, tenant: str, keys: TenantKeys) -> None:
        self.header, header_bytes, self._sealer = new_header(tenant, keys)
        self._head = MAGIC + _LEN.pack(len(header_bytes)) + header_bytes
        self._aad_prefix = sha256(MAGIC, header_bytes)
        self._counter = 0
        self.opened = time.monotonic()

    def encode(self, record: bytes) -> bytes:
        counter = self._counter
        self._counter += 1
        sealed = self._sealer.seal(counter, record, self._aad_prefix + _COUNTER.pack(counter))
        return self._head + encode_frame(_COUNTER.pack(counter) + sealed)


class WalWriter:
    """The WAL file this process appends to. Not thread-safe: one flush at a time."""

    def __init__(self, path: Path, header: dict[str, Any], header_bytes: bytes, sealer: Sealer,
                 fsync: bool) -> None:
        self.path = path
        self.header = header
        self._aad_prefix = sha256(MAGIC, header_bytes)
        self._sealer = sealer
        self._fsync = fsync
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        self._head_fd = os.open(head_path(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.size = os.fstat(self._fd).st_size
        self._head_size = os.fstat(self._head_fd).st_size
        self.frames = 0
        self.counter = 0
        self.opened = time.monotonic()

    @classmethod
    def create(cls, directory: Path, number: int, tenant: str, keys: TenantKeys,
               fsync: bool = True) -> WalWriter:
        header, header_bytes, sealer = new_header(tenant, keys)
        path = directory / wal_name(number)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            write_all(fd, MAGIC + _LEN.pack(len(header_bytes)) + header_bytes)
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        writer = cls(path, header, header_bytes, sealer, fsync)
        fsync_dir(directory)  # the new names (file and head) must survive a crash too
        return writer

    def append(self, records: list[bytes]) -> None:
        """Encrypt, frame, write and (if configured) fsync ``records``, then the head that
        counts them: durable on return. On a failure nothing partial stays in either file."""
        parts = []
        for record in records:
            counter = self.counter
            self.counter += 1  # never reused, even if this write fails
            sealed = self._sealer.seal(counter, record, self._aad_prefix + _COUNTER.pack(counter))
            parts.append(encode_frame(_COUNTER.pack(counter) + sealed))
        data = b"".join(parts)
        before, head_before = self.size, self._head_size
        head = encode_frame(orjson.dumps({"file": self.header["file"], "frames": self.frames + len(records),
                                          "end": before + len(data)}))
        try:
            write_all(self._fd, data)
            if self._fsync:
                os.fsync(self._fd)
            # Only once the records are durable: a head never claims more than the file holds.
            write_all(self._head_fd, head)
            if self._fsync:
                os.fsync(self._head_fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._head_fd, head_before)
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, before)
            raise
        self.size = before + len(data)
        self._head_size = head_before + len(head)
        self.frames += len(records)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            os.close(self._head_fd)
            self._fd = self._head_fd = -1


@dataclass
class WalContents:
    """What a WAL file holds: its header, the records that authenticate, and what did not."""

    header: dict[str, Any]
    records: list[bytes] = field(default_factory=list)
    valid_end: int = 0  # where a torn tail starts (== file size when there is none)
    damaged: list[str] = field(default_factory=list)  # whole frames that failed authentication


def parse_header(data: bytes) -> tuple[dict[str, Any], int]:
    """The header and where the frames start; raises `Unreadable` for a foreign or torn file."""
    if len(data) < 8 or data[:4] != MAGIC:
        raise Unreadable("not a chronolog WAL file")
    (length,) = _LEN.unpack_from(data, 4)
    if length > _MAX_HEADER or 8 + length > len(data):
        raise Unreadable("WAL header is torn")
    header_bytes = data[8 : 8 + length]
    try:
        header: dict[str, Any] = orjson.loads(header_bytes)
    except orjson.JSONDecodeError:
        raise Unreadable("WAL header is not JSON") from None
    return header, 8 + length


def read_wal(data: bytes, keys: KeySource) -> WalContents:
    """Decrypt every whole frame of a WAL file's bytes (raises `Unreadable` if the file's data
    key cannot be recovered)."""
    header, start = parse_header(data)
    tenant_key = keys.key(header["tenant"], header["tenant_key"])
    dek = unwrap_key(tenant_key, bytes.fromhex(header["dek"]))
    sealer = Sealer(dek, bytes.fromhex(header["nonce_prefix"]))
    aad_prefix = sha256(MAGIC, data[8:start])
    frames, valid_end, damaged_at = scan_frames(data[start:])
    out = WalContents(header, valid_end=start + valid_end,
                      damaged=[f"offset {start + o}: frame damaged" for o in damaged_at])
    last = -1
    for frame in frames:
        payload = frame.payload
        if len(payload) < _COUNTER.size:
            out.damaged.append(f"offset {start + frame.offset}: frame too short")
            continue
        (counter,) = _COUNTER.unpack_from(payload)
        if counter <= last:
            out.damaged.append(f"offset {start + frame.offset}: record {counter} out of order")
            continue
        try:
            out.records.append(sealer.open(counter, payload[_COUNTER.size:],
                                           aad_prefix + payload[: _COUNTER.size]))
        except Unreadable:
            out.damaged.append(f"offset {start + frame.offset}: record {counter} fails authentication")
            continue
        last = counter
    return out
