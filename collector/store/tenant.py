"""One tenant's store: the encrypted WAL with group commit, sealing it into segments, the
catalog and chain records that follow, recovery after a crash, and reads.

Layout under ``tenants/<tenant>/``: ``wal/wal-NNNNNNNN.log`` (wal.py), ``segments/seg-NNNNNNNN.cls``
(segment.py), ``catalog.sqlite`` (catalog.py), ``checkpoints.log`` (chain.py).

**Write path.** `append` keeps the lines of a batch not already held (de-duplication by
``(agent, stream, seq)``), and queues one record; concurrent appends share one
``write`` + ``fsync`` in a worker thread, and none returns before its record is durable.

**Sealing** (`seal_pending`, in a worker thread): closed WAL files are decrypted, their lines
sorted by event time and sealed as the chain's next segment: written to a temporary name,
fsync'd, renamed; then one catalog transaction records the segment and the WAL files it
replaces; then a signed checkpoint is appended; then the WAL files are deleted. A crash
between any two steps is finished or undone by `open` (see `_recover`).

**Reads** take a snapshot under a lock (the catalog's blocks, and open descriptors of the WAL
files not yet sealed), so that a seal running at the same time neither hides nor doubles a line.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import functools
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

from chronolog.fsutil import fsync_dir, write_all
from chronolog.timefmt import now_us
from chronolog.wire import Batch
from collector.store import (
    AppendResult,
    DamagedPart,
    Part,
    StoreEvents,
    StoreUnavailable,
    StreamReport,
    proofs,
)
from collector.store.catalog import Catalog, SegmentRow
from collector.store.chain import CheckpointLog, chain_seal, seal_record, signature_ok, signed
from collector.store.crypto import Sealer, Unreadable
from collector.store.feed import Feed
from collector.store.keys import Signer, TenantKeys
from collector.store.lines import LineBlock
from collector.store.sealed import BlockAt, ChainExtract, SegmentSeal
from collector.store.sealing import InProcess, Prepared, SealJob, SealRunner
from collector.store.segment import (
    ZSTD_LEVEL,
    BuiltSegment,
    SegmentHead,
    file_digest,
    seal_blocks,
    segment_name,
)
from collector.store.seqset import HeldLines
from collector.store.wal import (
    WalHead,
    WalWriter,
    decode_record,
    encode_record,
    head_path,
    lost_records,
    parse_header,
    read_head,
    read_wal,
)
from collector.store.wal_ledger import WalLedger, closed_record, dropped_record, expected, opened_record

__all__ = ["SealSettings", "SegmentSource", "TenantReader", "TenantStore"]

log = logging.getLogger("collector.store")

_WAL = re.compile(r"wal-(\d{8})\.log")
_SEGMENT = re.compile(r"seg-(\d{8})\.cls")


@dataclass(frozen=True, slots=True)
class SealSettings:
    fsync: bool = True
    segment_max_bytes: int = 64 << 20
    segment_max_age: float = 300.0
    block_bytes: int = 1 << 20
    zstd_level: int = ZSTD_LEVEL
    wal_max_bytes: int = 64 << 20  # a WAL file this large is closed (several make a segment)


@dataclass(slots=True)
class WalSpan:
    """What one WAL file holds, as a hint for readers: event-time range, hosts, streams; and
    when the file was opened (its header's ``created``, µs), for the sealing backlog."""

    min_ts: int = 2**63
    max_ts: int = -1
    hosts: set[str] = field(default_factory=set)
    streams: set[str] = field(default_factory=set)
    created: int = 0

    def add(self, batch: Batch) -> None:
        for chunk in batch.chunks:
            self.min_ts = min(self.min_ts, min(chunk.ts))
            self.max_ts = max(self.max_ts, max(chunk.ts))
            self.streams.add(chunk.stream)
        self.hosts.add(batch.host)

    def copy(self) -> WalSpan:
        return WalSpan(self.min_ts, self.max_ts, set(self.hosts), set(self.streams), self.created)

    def may_hold(self, since: int, until: int, hosts: frozenset[str], streams: frozenset[str]) -> bool:
        return (self.max_ts >= since and self.min_ts < until
                and (not hosts or not hosts.isdisjoint(self.hosts))
                and (not streams or not streams.isdisjoint(self.streams)))


class TenantStore:
    def __init__(self, name: str, directory: Path, keys: TenantKeys, signer: Signer,
                 settings: SealSettings, events: StoreEvents, runner: SealRunner | None = None) -> None:
        self.name = name
        self.runner = runner or InProcess()  # prepares segments: here, or in sealer processes
        self.directory = directory
        self.wal_dir = directory / "wal"
        self.segment_dir = directory / "segments"
        self.keys, self.signer, self.settings, self.events = keys, signer, settings, events
        self.catalog: Catalog
        self.checkpoints = CheckpointLog(directory / "checkpoints.log")
        self.held = HeldLines()
        self.refusing: str | None = None  # why appends are refused (an erase in progress)
        self.feed: Feed | None = None  # told of every new durable batch (followers)
        # The writer side, touched by one flush at a time.
        self._writer: WalWriter | None = None
        self._writer_signed = False  # its wal_opened record is in checkpoints.log
        self._next_wal = 1
        self._pending: list[tuple[bytes, Batch, asyncio.Future[None]]] = []
        self._last: asyncio.Future[None] | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._io_lock: asyncio.Lock | None = None
        # What readers see; guarded by _view.
        self._view = threading.Lock()
        self._closed: list[Path] = []  # WAL files waiting to be sealed, oldest first
        self._spans: dict[Path, WalSpan] = {}  # what each unsealed WAL file holds
        self._signed: dict[Path, WalHead] = {}  # what each closed WAL file must hold at least
        self._readers = 0
        self._seal_lock = threading.Lock()
        self._highest_file = 0  # an unrecorded segment file: never overwritten

    # ---- opening and recovery -------------------------------------------------------------

    @classmethod
    def open(cls, name: str, directory: Path, keys: TenantKeys, signer: Signer,
             settings: SealSettings, events: StoreEvents, runner: SealRunner | None = None) -> TenantStore:
        self = cls(name, directory, keys, signer, settings, events, runner)
        for d in (directory, self.wal_dir, self.segment_dir):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.catalog = Catalog(directory / "catalog.sqlite")
        self._recover()
        return self

    def _recover(self) -> None:
        for agent, stream, start, end in self.catalog.seq_runs():
            self.held.add(agent, stream, start, end)
        rows = {r.number: r for r in self.catalog.segments()}
        sealed = self.catalog.sealed_wal()
        wal_files = sorted((int(m.group(1)), p) for p in self.wal_dir.iterdir()
                           if (m := _WAL.fullmatch(p.name)))
        wal_ids = {i for _, p in wal_files if (i := self._wal_id(p)) is not None}
        last = max(rows, default=0)
        signed_expired = self._signed_expiries()
        for path in sorted(self.segment_dir.iterdir()):
            m = _SEGMENT.fullmatch(path.name)
            number = int(m.group(1)) if m else None
            if path.name.startswith("."):  # a seal that crashed before its rename
                path.unlink()
            elif number is None:
                continue
            elif number not in rows:
                self._unrecorded_segment(path, number, last, wal_ids - sealed)
            elif rows[number].state == "expired" and number in signed_expired:
                path.unlink()  # expired while a reader still had it open
        self._sign_last(list(rows.values()))
        ledger = self._ledger()
        for _, path in wal_files:
            self._recover_wal(path, sealed, ledger)
        self._orphan_heads(sealed)
        self._unaccounted(ledger, sealed, wal_ids)
        self._next_wal = wal_files[-1][0] + 1 if wal_files else 1
        fsync_dir(self.segment_dir)
        fsync_dir(self.wal_dir)

    @staticmethod
    def _wal_id(path: Path) -> str | None:
        try:
            with open(path, "rb") as f:
                header, _ = parse_header(f.read(1 << 16))
        except Unreadable:
            return None
        return str(header.get("file"))

    def _unrecorded_segment(self, path: Path, number: int, last: int, unsealed: set[str]) -> None:
        """A crash between a seal's rename and its catalog commit leaves the next segment on
        disk, unrecorded, with its WAL files still present: remove it, the WAL is sealed again.
        Anything else unrecorded is kept, untouched, for verify to report."""
        try:
            with open(path, "rb") as f:
                head = SegmentHead.read(f)
            redo = number == last + 1 and set(head.header["wal"]) <= unsealed
        except Unreadable:
            redo = False
        if redo:
            log.warning("unrecorded segment removed; its WAL is sealed again",
                        extra={"tenant": self.name, "file": path.name})
            path.unlink()
        else:
            self._highest_file = max(self._highest_file, number)
            self.events.damage_found(self.name, path.name, "segment file is not in the catalog")

    def _signed_expiries(self) -> set[int]:
        """Segments this collector signed off as expired (a catalog row alone is not enough)."""
        records, _ = self.checkpoints.read()
        return {int(n) for r in records if r.get("kind") == "expire" and signature_ok(r, self.signer.public)
                for n in r.get("numbers", [])}

    def _sign_last(self, rows: list[SegmentRow]) -> None:
        """A crash between a seal's catalog commit and its checkpoint leaves the newest segment
        unsigned: sign it if its file still matches its row. Only that one: an older unsigned
        segment is not a crash's doing, and signing it could launder a rewrite."""
        records, _ = self.checkpoints.read(repair=True)
        signed_up_to = max((r.get("number", 0) for r in records if r.get("kind") == "seal"), default=0)
        if not rows or rows[-1].number != signed_up_to + 1 or rows[-1].state != "live":
            return
        row = rows[-1]
        try:
            with open(self.segment_dir / row.file, "rb") as f:
                matches = file_digest(f, SegmentHead.read(f).body_start).hex() == row.digest
        except (OSError, Unreadable):
            matches = False
        if matches:
            self.checkpoints.append(signed(seal_record(self.name, row.number, row.link, row.digest,
                                                       row.records_root, row.sealed), self.signer))

    def _ledger(self) -> WalLedger:
        """What this collector signed of its WAL files (wal_ledger.py); verify checks the
        signatures, recovery only that the records are this collector's."""
        ledger = WalLedger()
        for record in self.checkpoints.read()[0]:
            if record.get("signer") == self.signer.id:
                ledger.add(record)
        return ledger

    def _recover_wal(self, path: Path, sealed: set[str], ledger: WalLedger) -> None:
        data = path.read_bytes()
        head = read_head(head_path(path))
        try:
            header, _ = parse_header(data)
        except Unreadable:
            if head is not None:  # records were acknowledged from it: not a torn creation
                self._lost(path.name, head.file, "its header is gone or damaged")
                return
            # Torn while being created: no record was ever acknowledged from it.
            log.warning("WAL file with a torn header removed", extra={"tenant": self.name, "file": path.name})
            _remove_wal(path)
            return
        if header.get("file") in sealed:
            _remove_wal(path)  # sealed just before a crash kept it from being deleted
            return
        head = expected(head, ledger, header.get("file"))
        try:
            contents = read_wal(data, self.keys)
        except Unreadable as e:
            self.events.damage_found(self.name, path.name, str(e))
            return  # kept as it is for verify to report; never sealed, never deleted
        for what in contents.damaged:
            self.events.damage_found(self.name, path.name, what)
        lost = lost_records(header.get("file"), len(contents.records) + len(contents.damaged),
                            contents.valid_end, head)
        if lost is not None:
            self._lost(path.name, str(header.get("file")), lost)
        if contents.valid_end < len(data):
            log.warning("torn write cut away", extra={"tenant": self.name, "file": path.name,
                                                      "bytes": len(data) - contents.valid_end})
            with open(path, "r+b") as f:
                f.truncate(contents.valid_end)
                os.fsync(f.fileno())
        span = WalSpan(created=int(header.get("created", 0)))
        for record in contents.records:
            _, batch = decode_record(record)
            span.add(batch)
            for chunk in batch.chunks:
                self.held.add(batch.agent, chunk.stream, chunk.seq, chunk.seq + len(chunk))
        if contents.records:
            self._closed.append(path)
            self._spans[path] = span
            if head is not None:
                self._signed[path] = head
        else:
            _remove_wal(path)

    def _orphan_heads(self, sealed: set[str]) -> None:
        """A head whose WAL file is gone: harmless if the file was sealed (a crash between the
        two deletions), else the file's acknowledged records are lost."""
        for path in sorted(self.wal_dir.glob("wal-*.head")):
            if path.with_suffix(".log").exists():
                continue
            head = read_head(path)
            if head is not None and head.file not in sealed and head.frames:
                self._lost(path.with_suffix(".log").name, head.file,
                           f"the WAL file is gone with its {head.frames} acknowledged record(s)", "missing")
            path.unlink()

    def _unaccounted(self, ledger: WalLedger, sealed: set[str], present: set[str]) -> None:
        """WAL files signed for that are gone, head and all, neither sealed nor dropped. The
        segments' own headers are asked too (only then: it reads every segment's head), so an
        edit of the catalog's sealed_wal is named by verify as that, not recorded as a loss."""
        lost = {str(r.get("file")) for r in self.checkpoints.read()[0] if r.get("kind") == "wal_loss"}
        gone = ledger.unaccounted(sealed, lost, present)
        if gone:
            in_segments = self._wal_in_segments()
            gone = [(name, head) for name, head in gone if head.file not in in_segments]
        for name, head in gone:
            self._lost(name, head.file, f"the WAL file and its head are gone with at least {head.frames} "
                       "acknowledged record(s) signed for in checkpoints.log", "missing")

    def _wal_in_segments(self) -> set[str]:
        """The WAL files the segment files on disk say they replaced."""
        found: set[str] = set()
        for path in self.segment_dir.glob("seg-*.cls"):
            try:
                with open(path, "rb") as f:
                    found.update(str(w) for w in SegmentHead.read(f).header.get("wal", []))
            except (OSError, Unreadable):
                continue  # verify names a damaged segment
        return found

    def _lost(self, name: str, file_id: str, detail: str, finding: str = "truncated") -> None:
        """Acknowledged records of a WAL file are gone: say so now (an alert) and for good, in a
        signed record verify reports, since sealing what is left removes the file (issue 16)."""
        self.events.damage_found(self.name, name, detail)
        records, _ = self.checkpoints.read()
        if any(r.get("kind") == "wal_loss" and r.get("file") == file_id for r in records):
            return  # found at an earlier open already
        self.checkpoints.append(signed({
            "kind": "wal_loss", "tenant": self.name, "file": file_id, "name": name, "finding": finding,
            "detail": detail, "at": now_us()}, self.signer))

    # ---- appending -------------------------------------------------------------------------

    async def append(self, batch: Batch, received: int) -> AppendResult:
        if self.refusing:
            raise StoreUnavailable(self.refusing)
        new_chunks, added, duplicates = self.held.take_new(batch)
        if not new_chunks:
            # Nothing new, but the lines it duplicates may still be on their way to disk:
            # acknowledge only once they are durable.
            if self._last is not None and not self._last.done():
                await asyncio.shield(self._last)
            return AppendResult(0, duplicates)
        stored = Batch(batch.agent, batch.host, batch.tz, batch.sent, new_chunks)
        try:
            await self._write(encode_record(received, stored), stored)
        except BaseException:
            self.held.forget(added)
            raise
        if self.feed is not None:
            self.feed.publish(self.name, received, stored)
        return AppendResult(sum(len(c) for c in new_chunks), duplicates)

    def _lock(self) -> asyncio.Lock:
        if self._io_lock is None:
            self._io_lock = asyncio.Lock()
        return self._io_lock

    async def _write(self, record: bytes, batch: Batch) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((record, batch, future))
        self._last = future
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await future

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            group, self._pending = self._pending, []
            try:
                async with self._lock():
                    await loop.run_in_executor(None, self._write_sync, [r for r, _, _ in group],
                                               [b for _, b, _ in group])
            except Exception as e:
                log.error("store write failed", extra={"tenant": self.name, "error": str(e)})
                for _, _, future in group:
                    if not future.done():
                        future.set_exception(StoreUnavailable(f"write failed: {e}"))
                continue
            for _, _, future in group:
                if not future.done():
                    future.set_result(None)

    def _write_sync(self, records: list[bytes], batches: list[Batch]) -> None:
        writer = self._writer
        if writer is None or writer.size >= self.settings.wal_max_bytes:
            writer = self._next_writer()
        # The span grows before the file does: a reader's snapshot may see the span cover a
        # record not yet written (a hint too wide), never a record outside its span.
        with self._view:
            span = self._spans.setdefault(writer.path, WalSpan(created=int(writer.header["created"])))
            for batch in batches:
                span.add(batch)
        writer.append(records)
        if not self._writer_signed:
            self._writer_signed = self._sign_extent(opened_record, writer)

    def _sign_extent(self, record: Callable[[str, str, WalHead, int], dict[str, Any]],
                     writer: WalWriter) -> bool:
        """Append ``record`` (wal_ledger.py) of what ``writer``'s file holds now, signed. A
        failure only weakens what verify can tell of this file: the records are durable, so it
        is said and counted, not refused (the next group commit tries the opened record again)."""
        head = WalHead(str(writer.header["file"]), writer.frames, writer.size)
        try:
            self.checkpoints.append(signed(record(self.name, writer.path.name, head, now_us()), self.signer))
        except OSError as e:
            log.error("signing a WAL file's extent failed",
                      extra={"tenant": self.name, "file": writer.path.name, "error": str(e)})
            return False
        return True

    def _next_writer(self) -> WalWriter:
        self._close_writer()
        writer = WalWriter.create(self.wal_dir, self._next_wal, self.name, self.keys, self.settings.fsync)
        self._next_wal += 1
        with self._view:
            self._writer = writer
            self._writer_signed = False
        return writer

    def _close_writer(self) -> None:
        writer = self._writer
        if writer is None:
            return
        writer.close()
        if writer.frames:
            self._sign_extent(closed_record, writer)
            self._signed[writer.path] = WalHead(str(writer.header["file"]), writer.frames, writer.size)
        with self._view:
            self._writer = None
            if writer.frames:
                self._closed.append(writer.path)
        if not writer.frames:
            self._spans.pop(writer.path, None)
            _remove_wal(writer.path)

    def wal_age(self) -> float:
        """Seconds since the current WAL file took its first record (0 when there is none)."""
        w = self._writer
        return time.monotonic() - w.opened if w is not None and w.frames else 0.0

    def has_unsealed(self) -> bool:
        return bool(self._closed)

    def backlog(self) -> tuple[int, int | None]:
        """Bytes of WAL not sealed yet, and when the oldest of those files was opened (µs;
        None when there is none): how far sealing trails ingest."""
        with self._view:
            spans = list(self._spans.items())
        size = 0
        for path, _ in spans:
            with contextlib.suppress(FileNotFoundError):  # sealed since
                size += path.stat().st_size
        return size, min((span.created for _, span in spans if span.created), default=None)

    async def cut(self) -> None:
        """Close the current WAL file (if it holds anything) so that it can be sealed."""
        async with self._lock():
            if self._writer is not None and self._writer.frames:
                await asyncio.get_running_loop().run_in_executor(None, self._close_writer)

    # ---- sealing ---------------------------------------------------------------------------

    def seal_pending(self) -> int:
        """Seal every closed WAL file into segments (blocking); returns how many segments.
        Groups of files are prepared ``runner.width`` at a time; each is then sealed as the
        chain's next segment, in WAL order. A sealer that finishes takes the next group at
        once, while the oldest is still prepared or committed: rounds that waited for their
        slowest prepare left a core idle (issue 14)."""
        made = 0
        window: collections.deque[tuple[list[Path], concurrent.futures.Future[Prepared]]]
        window = collections.deque()
        with self._seal_lock:
            try:
                while True:
                    running = sum(not f.done() for _, f in window)
                    # Finished but not yet committed segments wait in memory: at most `width`.
                    free = min(self.runner.width - running, 2 * self.runner.width - len(window))
                    taken = {p for paths, _ in window for p in paths}
                    for paths in self._seal_groups(free, taken):
                        window.append((paths, self.runner.prepare(self._seal_job(paths))))
                    if not window:
                        return made
                    paths, oldest = window[0]
                    if not oldest.done():
                        busy = [f for _, f in window if not f.done()]
                        concurrent.futures.wait(busy, return_when=concurrent.futures.FIRST_COMPLETED)
                        continue
                    window.popleft()
                    made += self._seal(paths, oldest.result())
            finally:
                for _, future in window:
                    future.cancel()  # groups after one that failed: prepared again next time
                concurrent.futures.wait([f for _, f in window])

    def _seal_groups(self, most: int, taken: set[Path]) -> list[list[Path]]:
        """Up to ``most`` groups of closed WAL files not in ``taken``, oldest first, each about
        one segment; one file per group when there are no more files than ``most`` (so that
        every sealer takes part in a short backlog, at the cost of smaller segments)."""
        if most <= 0:
            return []
        with self._view:
            closed = [p for p in self._closed if p not in taken]
        if len(closed) <= most:
            return [[path] for path in closed]
        groups: list[list[Path]] = [[]]
        size = 0
        for path in closed:
            if size >= self.settings.segment_max_bytes:
                if len(groups) == most:
                    break
                groups.append([])
                size = 0
            groups[-1].append(path)
            size += path.stat().st_size
        return groups

    def _seal_job(self, paths: list[Path]) -> SealJob:
        for path in paths:
            self._check_signed_extent(path)
        needed = {self._wal_key(p) for p in paths}
        return SealJob(self.name, [str(p) for p in paths], {k: self.keys.key(self.name, k) for k in needed},
                       self.settings.zstd_level, self.settings.block_bytes)

    def _seal(self, paths: list[Path], prepared: Prepared) -> int:
        """Make ``prepared`` (from ``paths``) the chain's next segment: sealed to a temporary
        file, fsync'd, renamed, recorded, signed; then the WAL files go."""
        for file, what in prepared.damaged:
            self.events.damage_found(self.name, file, what)
        made = 0
        if prepared.blocks is not None:
            number, prev = self.catalog.last()
            number = max(number, self._highest_file) + 1
            key_id, key = self.keys.active(self.name)
            built = seal_blocks(prepared.blocks, tenant=self.name, number=number, prev=prev, sealed=now_us(),
                                wal_files=prepared.file_ids, tenant_key_id=key_id, tenant_key=key,
                                runs=prepared.runs)
            name = segment_name(number)
            tmp = self.segment_dir / f".{name}.tmp"
            try:
                _write_new(tmp, built.data, self.settings.fsync)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            chained, checkpoint = chain_seal(self.name, number, prev, built.digest, built.header, self.signer)
            self._commit_segment(tmp, name, built, chained, len(built.data), paths)
            self.checkpoints.append(checkpoint)
            self.events.segment_sealed(self.name, prepared.lines, built.header["raw"], len(built.data))
            made = 1
        else:
            # The files' signed wal_opened records must not pass for a loss once they are gone.
            dropped = dropped_record(self.name, prepared.file_ids, now_us())
            self.checkpoints.append(signed(dropped, self.signer))
            with self._view:
                self._closed = [p for p in self._closed if p not in paths]
                for p in paths:
                    self._spans.pop(p, None)
        for path in paths:
            self._signed.pop(path, None)
            _remove_wal(path)
        fsync_dir(self.wal_dir)
        return made

    def _commit_segment(self, tmp: Path, name: str, built: BuiltSegment, chained: bytes, size: int,
                        paths: list[Path]) -> None:
        """Rename the built segment into place and record it; if the catalog refuses it, the
        file goes too (issue 16): a seal commits whole or leaves nothing behind, so a retry
        takes the same number and no unrecorded file is left to pass for damage."""
        final = self.segment_dir / name
        os.replace(tmp, final)
        fsync_dir(self.segment_dir)
        try:
            with self._view:
                self.catalog.add_segment(built, name, chained, size)
                self._closed = [p for p in self._closed if p not in paths]
                for p in paths:
                    self._spans.pop(p, None)
        except BaseException:
            final.unlink(missing_ok=True)
            fsync_dir(self.segment_dir)
            raise

    def _check_signed_extent(self, path: Path) -> None:
        """A closed file cut (head and all) while it waited to be sealed: sealing it would make
        the loss look like a file that never held more, so it is recorded first."""
        head = self._signed.get(path)
        if head is None:
            return
        size = path.stat().st_size
        if size < head.end:
            self._lost(path.name, head.file, f"it ends at byte {size} but {head.end} bytes, {head.frames} "
                       "records, were signed for when it was closed: acknowledged records are gone")

    @staticmethod
    def _wal_key(path: Path) -> str:
        with open(path, "rb") as f:
            header, _ = parse_header(f.read(1 << 16))
        return str(header["tenant_key"])

    # ---- reading ---------------------------------------------------------------------------

    def scan(self, since: int, until: int, hosts: frozenset[str] = frozenset(),
             contains: str | None = None) -> Iterator[LineBlock]:
        """Blocks that may hold lines with ``since <= ts < until`` from ``hosts`` whose message
        holds ``contains`` (blocking IO; see `collector.store.Store.scan`)."""
        with self.reader() as reader:
            for part in reader.parts(since, until, hosts):
                with contextlib.suppress(DamagedPart):  # reported by the part
                    found = part.load(contains)
                    if found is not None:
                        yield found

    @contextlib.contextmanager
    def reader(self) -> Iterator[TenantReader]:
        """A snapshot for reading (`collector.store.StoreReader`): the segments recorded now
        and descriptors of the WAL files not yet sealed, taken together under the view lock
        so that a seal running meanwhile neither hides nor doubles a line."""
        with self._view:
            up_to = self.catalog.last()[0]
            wal: list[_WalSnapshot] = []
            for path in self._closed:
                wal.append(_WalSnapshot(path.name, os.open(path, os.O_RDONLY), None,
                                        self._spans.get(path, WalSpan(-(2**63), 2**63)).copy()))
            w = self._writer
            if w is not None and w.frames:
                wal.append(_WalSnapshot(w.path.name, os.open(w.path, os.O_RDONLY), w.size,
                                        self._spans.get(w.path, WalSpan(-(2**63), 2**63)).copy()))
            self._readers += 1
        reader = TenantReader(self, up_to, wal)
        try:
            yield reader
        finally:
            reader.close()
            with self._view:
                self._readers -= 1

    @contextlib.contextmanager
    def still(self) -> Iterator[None]:
        """While held, nothing is sealed and no segment file is removed: the catalog, the
        segment files and the checkpoints agree (for verify and backup)."""
        with self._seal_lock, self.reading():
            yield

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """While held, retention leaves segment files in place (it removes them later)."""
        with self._view:
            self._readers += 1
        try:
            yield
        finally:
            with self._view:
                self._readers -= 1

    def holds(self, agent: str, stream: str, seq: int) -> bool:
        return self.held.holds(agent, stream, seq)

    def segment_seals(self, numbers: list[int]) -> dict[int, SegmentSeal]:
        """The block roots and seal checkpoint of each live segment of ``numbers`` (one that
        is gone is left out)."""
        with self.reading():
            return proofs.segment_seals(self.catalog, self.checkpoints,
                                        lambda _, file: self.segment_dir / file, numbers)

    def chain_extract(self, first: int | None) -> ChainExtract:
        """The chain from segment ``first`` (None: the newest alone) to the newest, with the
        newest seal checkpoint."""
        return proofs.chain_extract(self.catalog, self.checkpoints, first)

    def streams(self) -> list[StreamReport]:
        return self.held.reports()

    # ---- retention ------------------------------------------------------------------------

    def expire(self, numbers: list[int], reason: str) -> None:
        """Remove whole segments: a signed record first, then the catalog, then the files."""
        if not numbers:
            return
        at = now_us()
        with self._seal_lock:
            self.checkpoints.append(signed({"kind": "expire", "tenant": self.name, "numbers": numbers,
                                            "at": at, "reason": reason}, self.signer))
            with self._view:
                self.catalog.mark_expired(numbers, at)
                if self._readers == 0:  # else open() removes them later
                    for n in numbers:
                        (self.segment_dir / segment_name(n)).unlink(missing_ok=True)
            fsync_dir(self.segment_dir)

    # ---- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        with contextlib.suppress(Exception):
            self.catalog.close()


@dataclass(frozen=True, slots=True)
class _WalSnapshot:
    name: str
    fd: int
    size: int | None  # bytes to read (the file being written); None: the whole file
    span: WalSpan


class SegmentSource(Protocol):
    """What `TenantReader` reads segments through (a `TenantStore`, or a cluster tenant's copy)."""

    name: str
    catalog: Catalog
    segment_dir: Path
    events: StoreEvents

    @property
    def keys(self) -> TenantKeys: ...

    def holds(self, agent: str, stream: str, seq: int) -> bool: ...


class TenantReader:
    """`collector.store.StoreReader` over one snapshot of a tenant (see `TenantStore.reader`).
    Segment files are opened once per reader and read with ``pread``, so several threads
    may load parts at once."""

    def __init__(self, tenant: SegmentSource, up_to: int, wal: list[_WalSnapshot]) -> None:
        self._tenant = tenant
        self._up_to = up_to
        self._wal = wal
        self._open: dict[int, tuple[int, SegmentHead, Sealer]] = {}
        self._lock = threading.Lock()

    def parts(self, since: int, until: int, hosts: frozenset[str] = frozenset(),
              streams: frozenset[str] = frozenset()) -> list[Part]:
        t = self._tenant
        found = [Part(f"{segment_name(b.segment)} block {b.block}", b.min_ts, b.max_ts, True,
                      functools.partial(self._block, b.segment, b.block), BlockAt(b.segment, b.block))
                 for b in t.catalog.block_spans(since, until, hosts, streams, self._up_to)]
        found += [Part(w.name, w.span.min_ts, w.span.max_ts, False, functools.partial(self._wal_lines, w))
                  for w in self._wal if w.span.may_hold(since, until, hosts, streams)]
        found.sort(key=lambda p: p.min_ts)
        return found

    def holds(self, agent: str, stream: str, seq: int) -> bool:
        return self._tenant.holds(agent, stream, seq)

    def _segment(self, number: int) -> tuple[int, SegmentHead, Sealer]:
        with self._lock:
            found = self._open.get(number)
            if found is None:
                t = self._tenant
                name = segment_name(number)
                try:
                    fd = os.open(t.segment_dir / name, os.O_RDONLY)
                except OSError as e:
                    raise self._damaged(name, e.strerror or str(e)) from None
                try:
                    with open(fd, "rb", closefd=False) as f:
                        head = SegmentHead.read(f)
                    sealer = head.sealer(t.keys.key(t.name, head.keyslot["tenant_key"]))
                except (OSError, Unreadable, KeyError) as e:
                    os.close(fd)
                    raise self._damaged(name, str(e)) from None
                found = self._open[number] = (fd, head, sealer)
            return found

    def _block(self, number: int, block: int, contains: str | None) -> LineBlock | None:
        fd, head, sealer = self._segment(number)
        try:
            return head.load_block(fd, sealer, block, contains)
        except (OSError, Unreadable) as e:
            raise self._damaged(f"{segment_name(number)} block {block}", str(e)) from None

    def _wal_lines(self, w: _WalSnapshot, contains: str | None) -> LineBlock | None:
        size = w.size if w.size is not None else os.fstat(w.fd).st_size
        data = os.pread(w.fd, size, 0)
        try:
            contents = read_wal(data, self._tenant.keys)
        except Unreadable as e:
            raise DamagedPart(w.name, str(e)) from None  # reported once, at open
        # Records are JSON: the text as it appears inside a JSON string.
        needle = orjson.dumps(contains)[1:-1] if contains else None
        return LineBlock.from_batches(decode_record(r) for r in contents.records
                                      if needle is None or needle in r)

    def _damaged(self, where: str, detail: str) -> DamagedPart:
        self._tenant.events.damage_found(self._tenant.name, where, detail)
        return DamagedPart(where, detail)

    def close(self) -> None:
        for fd, _, _ in self._open.values():
            os.close(fd)
        self._open.clear()
        for w in self._wal:
            os.close(w.fd)


def _remove_wal(path: Path) -> None:
    """A WAL file and its head: the head last, so that a crash between leaves no file whose
    acknowledged records look lost."""
    path.unlink(missing_ok=True)
    head_path(path).unlink(missing_ok=True)


def _write_new(path: Path, data: bytes, fsync: bool) -> None:
    """A new file holding ``data`` (fsync'd if ``fsync``), mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        write_all(fd, data)
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)
