"""A collector's local copy of one tenant's catalog in the cluster, in the local store's
layout (``catalog.sqlite``, ``segments/``, ``checkpoints.log``), so that queries select blocks
and `verify` checks the chain exactly as on a local store.

The truth is in the cluster: one entry per segment, ``seg.<tenant>.<number>`` in the catalog
bucket (zstd JSON: the segment's header, block index, seq runs, object name, digest, link,
the stream sequence it seals through, and its signed checkpoint), and the segment itself in
the tenant's object bucket. The copy only ever adds entries in chain order; segment files are
fetched when a query first needs them (ciphertext, like every cached byte). Retention's signed
expiry records (policy.py) are applied in their order as the local store applies its own: the
record into the checkpoint log, the rows marked expired, the cached files removed.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import orjson
import zstandard

from chronolog.fsutil import atomic_write
from collector.store.catalog import Catalog
from collector.store.chain import GENESIS, CheckpointLog
from collector.store.segment import BuiltSegment, segment_name
from collector.store.seqset import HeldLines

__all__ = ["Mirror", "decode_entry", "encode_entry", "entry_key"]


def entry_key(tenant: str, number: int) -> str:
    return f"seg.{tenant}.{number:08d}"


def encode_entry(entry: dict[str, Any]) -> bytes:
    return zstandard.ZstdCompressor(level=3).compress(orjson.dumps(entry))


def decode_entry(data: bytes) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(zstandard.ZstdDecompressor().decompress(data))
    return doc


class Mirror:
    """The local copy of one tenant. A seal and a reader's sync may both bring the same entry,
    from two threads: an entry is added whole under a lock, once, and `head` and `held_runs`
    see it whole (a head with the new number but the old ``through``, or the old seq runs,
    would have the next seal read those lines again and seal them twice)."""

    def __init__(self, directory: Path, tenant: str) -> None:
        self.name = tenant
        self.directory = directory
        self.segment_dir = directory / "segments"
        self.segment_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.catalog = Catalog(directory / "catalog.sqlite")
        self.checkpoints = CheckpointLog(directory / "checkpoints.log")
        self._lock = threading.Lock()
        self._held = HeldLines()
        for agent, stream, start, end in self.catalog.seq_runs():
            self._held.add(agent, stream, start, end)

    def head(self) -> tuple[int, bytes, int]:
        """The newest segment's number and link, and the stream sequence sealed through."""
        with self._lock:
            number, prev = self.catalog.last()
            through = self.catalog.setting("through")
        return number, prev if number else GENESIS, int(through) if through is not None else 0

    def held_runs(self) -> dict[tuple[str, str], list[tuple[int, int]]]:
        """The lines the segments hold, per (agent, stream), as [start, end) runs (a copy)."""
        with self._lock:
            return {key: seqs.intervals() for key, seqs in self._held.seqs.items()}

    def held(self) -> HeldLines:
        """The lines the segments hold (a copy)."""
        out = HeldLines()
        for (agent, stream), runs in self.held_runs().items():
            for start, end in runs:
                out.add(agent, stream, start, end)
        return out

    def object_name(self, number: int) -> str | None:
        return self.catalog.setting(f"object.{number}")

    def add(self, entry: dict[str, Any], data: bytes | None = None) -> bool:
        """Record the next segment's entry (and keep its file when it is at hand); False when
        it is recorded already."""
        with self._lock:
            if int(entry["header"]["number"]) <= self.catalog.last()[0]:
                return False
            self._add(entry, data)
            return True

    def _add(self, entry: dict[str, Any], data: bytes | None) -> None:
        number = int(entry["header"]["number"])
        runs = [tuple(r) for r in entry["runs"]]
        built = BuiltSegment(b"", entry["header"], entry["index"], bytes.fromhex(entry["digest"]),
                             entry["tenant_key"], runs)
        if data is not None:
            atomic_write(self.segment_dir / segment_name(number), data)
        self.catalog.add_segment(built, segment_name(number), bytes.fromhex(entry["link"]),
                                 int(entry["stored_bytes"]))
        self.catalog.set_setting(f"object.{number}", str(entry["object"]))
        self.catalog.set_setting("through", str(int(entry["through"])))
        self.checkpoints.append(entry["checkpoint"])
        for agent, stream, start, end in runs:
            self._held.add(str(agent), str(stream), int(start), int(end))

    def expiries(self) -> int:
        """How many expiry records this copy has applied."""
        return int(self.catalog.setting("expiries") or 0)

    def expire(self, k: int, record: dict[str, Any]) -> bool:
        """Apply the ``k``-th expiry record; False while it names a segment this copy does not
        hold yet. Applied as it is: verify judges its signature, as on a local store."""
        try:
            numbers = sorted({int(n) for n in record.get("numbers", [])})
        except (TypeError, ValueError):
            numbers = []
        with self._lock:
            if k != self.expiries() + 1:
                return k <= self.expiries()
            if numbers and numbers[-1] > self.catalog.last()[0]:
                return False
            at = record.get("at")
            self.checkpoints.append(record)
            self.catalog.mark_expired(numbers, at if isinstance(at, int) else 0)
            self.catalog.set_setting("expiries", str(k))
            for n in numbers:
                (self.segment_dir / segment_name(n)).unlink(missing_ok=True)
            return True

    def close(self) -> None:
        self.catalog.close()

    def remove(self) -> None:
        self.close()
        shutil.rmtree(self.directory, ignore_errors=True)
