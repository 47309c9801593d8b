"""The store in a local directory: one append-only, framed log per tenant.

Layout: ``<root>/tenants/<tenant>/wal-00000001.log``, ... Each frame holds one batch, reduced to
the lines that were new when it arrived. Writes are group-committed: concurrent appends to a
tenant share one ``write`` + ``fsync``, done in a worker thread, and no append returns before
its bytes (and any earlier bytes it depends on) are on disk.

On open, each log is scanned; a torn frame at the very end of the newest file (a crash during
a write) is cut away, and the sequence sets used for de-duplication are rebuilt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

import orjson

from chronolog.fsutil import fsync_dir, write_all
from chronolog.wire import Batch, Chunk, batch_from_trusted, slice_chunk
from collector.store import AppendResult, StoredBatch, StoreUnavailable, StreamReport
from collector.store.frames import encode_frame, scan_frames
from collector.store.seqset import SeqSet

__all__ = ["TENANT_NAME", "LocalStore"]

log = logging.getLogger("collector.store")

TENANT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
WAL_MAX_BYTES = 64 << 20
_WAL_NAME = re.compile(r"wal-(\d{8})\.log")

StreamKey = tuple[str, str]  # (agent, stream)


class LocalStore:
    """`collector.store.Store` on a local directory."""

    def __init__(self, root: Path, fsync: bool = True) -> None:
        self.root = Path(root)
        self._fsync = fsync
        self._tenants: dict[str, _TenantLog] = {}

    def open(self) -> LocalStore:
        """Create the layout if needed and recover every tenant's log (blocking)."""
        (self.root / "tenants").mkdir(parents=True, exist_ok=True, mode=0o700)
        for entry in sorted((self.root / "tenants").iterdir()):
            if entry.is_dir() and TENANT_NAME.fullmatch(entry.name):
                self._tenants[entry.name] = _TenantLog.recover(entry, self._fsync)
        return self

    def close(self) -> None:
        for tenant_log in self._tenants.values():
            tenant_log.close()

    def _tenant(self, tenant: str) -> _TenantLog:
        if not TENANT_NAME.fullmatch(tenant):
            raise ValueError(f"invalid tenant name {tenant!r}")
        found = self._tenants.get(tenant)
        if found is None:
            found = _TenantLog.recover(self.root / "tenants" / tenant, self._fsync)
            self._tenants[tenant] = found
        return found

    async def append(self, tenant: str, batch: Batch, received: int) -> AppendResult:
        return await self._tenant(tenant).append(batch, received)

    def batches(self, tenant: str, since: int, until: int) -> Iterator[StoredBatch]:
        found = self._tenants.get(tenant)
        return found.batches() if found is not None else iter(())

    def streams(self, tenant: str) -> list[StreamReport]:
        found = self._tenants.get(tenant)
        return found.streams() if found is not None else []


class _TenantLog:
    """One tenant's log files, their sequence sets and the group-commit writer."""

    def __init__(self, directory: Path, fsync: bool) -> None:
        self.directory = directory
        self._fsync = fsync
        self.seqs: dict[StreamKey, SeqSet] = {}
        self._file: int | None = None
        self._file_number = 0
        self._file_size = 0
        self._pending: list[tuple[bytes, asyncio.Future[None]]] = []
        self._last: asyncio.Future[None] | None = None
        self._flusher: asyncio.Task[None] | None = None

    @classmethod
    def recover(cls, directory: Path, fsync: bool) -> _TenantLog:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self = cls(directory, fsync)
        files = self._files()
        for number, path in files:
            newest = number == files[-1][0]
            for stored in self._read(path, repair=newest):
                self._remember(stored.batch)
        self._file_number = files[-1][0] if files else 0
        return self

    def _files(self) -> list[tuple[int, Path]]:
        found = []
        for path in self.directory.iterdir():
            m = _WAL_NAME.fullmatch(path.name)
            if m:
                found.append((int(m.group(1)), path))
        return sorted(found)

    def _read(self, path: Path, repair: bool = False) -> Iterator[StoredBatch]:
        data = path.read_bytes()
        frames, valid_end, damaged = scan_frames(data)
        for offset in damaged:
            log.error("damaged frame skipped", extra={"file": str(path), "offset": offset})
        if repair and valid_end < len(data):
            log.warning("torn write cut away", extra={"file": str(path),
                                                      "bytes": len(data) - valid_end})
            with open(path, "r+b") as f:
                f.truncate(valid_end)
                os.fsync(f.fileno())
        for frame in frames:
            doc = orjson.loads(frame.payload)
            yield StoredBatch(doc["received"], batch_from_trusted(doc["batch"]))

    def _remember(self, batch: Batch) -> None:
        for chunk in batch.chunks:
            self._seqset(batch.agent, chunk.stream).add(chunk.seq, chunk.seq + len(chunk))

    def _seqset(self, agent: str, stream: str) -> SeqSet:
        key = (agent, stream)
        found = self.seqs.get(key)
        if found is None:
            found = self.seqs[key] = SeqSet()
        return found

    def batches(self) -> Iterator[StoredBatch]:
        for _, path in self._files():
            yield from self._read(path)

    def streams(self) -> list[StreamReport]:
        return [
            StreamReport(agent, stream, len(seqs), seqs.intervals()[-1][1] - 1, seqs.gaps())
            for (agent, stream), seqs in sorted(self.seqs.items())
            if seqs.intervals()
        ]

    async def append(self, batch: Batch, received: int) -> AppendResult:
        new_chunks, added, duplicates = self._new_lines(batch)
        if not new_chunks:
            # Nothing new, but the lines it duplicates may still be on their way to disk:
            # acknowledge only once they are durable.
            if self._last is not None and not self._last.done():
                await asyncio.shield(self._last)
            return AppendResult(0, duplicates)
        stored = Batch(batch.agent, batch.host, batch.tz, batch.sent, new_chunks)
        payload = orjson.dumps({"received": received, "batch": stored})
        try:
            await self._write(encode_frame(payload))
        except BaseException:
            for key, start, end in added:
                self.seqs[key].remove(start, end)
            raise
        return AppendResult(sum(len(c) for c in new_chunks), duplicates)

    def _new_lines(self, batch: Batch) -> tuple[list[Chunk], list[tuple[StreamKey, int, int]], int]:
        """Split the batch's chunks into the runs of lines not yet held; mark them held."""
        new_chunks: list[Chunk] = []
        added: list[tuple[StreamKey, int, int]] = []
        duplicates = 0
        for chunk in batch.chunks:
            seqs = self._seqset(batch.agent, chunk.stream)
            end = chunk.seq + len(chunk)
            runs = seqs.missing(chunk.seq, end)
            duplicates += len(chunk) - sum(e - s for s, e in runs)
            for s, e in runs:
                new_chunks.append(slice_chunk(chunk, s - chunk.seq, e - chunk.seq))
                seqs.add(s, e)
                added.append(((batch.agent, chunk.stream), s, e))
        return new_chunks, added, duplicates

    async def _write(self, frame: bytes) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((frame, future))
        self._last = future
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await future

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            group, self._pending = self._pending, []
            try:
                await loop.run_in_executor(None, self._write_sync, b"".join(f for f, _ in group))
            except Exception as e:
                log.error("store write failed", extra={"tenant": self.directory.name,
                                                       "error": str(e)})
                for _, future in group:
                    if not future.done():
                        future.set_exception(StoreUnavailable(f"write failed: {e}"))
                continue
            for _, future in group:
                if not future.done():
                    future.set_result(None)

    def _write_sync(self, data: bytes) -> None:
        if self._file is None or self._file_size >= WAL_MAX_BYTES:
            self._open_next()
        assert self._file is not None
        before = self._file_size
        try:
            write_all(self._file, data)
            if self._fsync:
                os.fsync(self._file)
        except OSError:
            # Leave no partial frame behind, so later frames stay readable.
            with contextlib.suppress(OSError):
                os.ftruncate(self._file, before)
            raise
        self._file_size = before + len(data)

    def _open_next(self) -> None:
        if self._file is not None:
            os.close(self._file)
        if self._file_number == 0 or self._file_size >= WAL_MAX_BYTES:
            self._file_number += 1
        path = self.directory / f"wal-{self._file_number:08d}.log"
        self._file = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._file_size = os.fstat(self._file).st_size
        fsync_dir(self.directory)  # the new name must survive a crash too

    def close(self) -> None:
        if self._file is not None:
            os.close(self._file)
            self._file = None
