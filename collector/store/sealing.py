"""Building a segment from closed WAL files: the CPU-heavy part of a seal, apart from the
steps that commit it.

`build_from_wal` decrypts the WAL files, sorts their lines by event time, and writes the
segment (zstd blocks under AES-256-GCM) to a temporary file, fsync'd. It needs nothing of the
running store but the keys it is handed, so the collector runs it in a separate process
(`process_runner`): sealing then uses another core than ingest and queries. The caller
renames the file into place and records it (tenant.py).

The tenant keys cross to that process through a pipe between two processes of the same
user; they are never written anywhere by it.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from chronolog.wire import Batch
from collector.store.crypto import Unreadable
from collector.store.lines import LineBlock, seq_runs
from collector.store.segment import BuiltSegment, build_segment
from collector.store.wal import decode_record, read_wal

__all__ = ["SealJob", "SealResult", "SealRunner", "build_from_wal", "process_runner"]


@dataclass(frozen=True)
class SealJob:
    tenant: str
    wal_paths: list[str]
    keys: dict[str, bytes]  # the tenant key versions the WAL files name, by id
    key_id: str  # the active version: it wraps the new segment's data key
    number: int
    prev: bytes
    sealed: int
    tmp_path: str
    zstd_level: int = 3
    block_bytes: int = 1 << 20
    fsync: bool = True


@dataclass(frozen=True)
class SealResult:
    built: BuiltSegment | None  # None: the WAL files held no line; ``data`` is left empty
    size: int
    lines: int
    file_ids: list[str]
    damaged: list[tuple[str, str]] = field(default_factory=list)  # (file, what)


SealRunner = Callable[[SealJob], SealResult]


class _Keys:
    def __init__(self, tenant: str, keys: dict[str, bytes]) -> None:
        self.tenant, self.keys = tenant, keys

    def key(self, tenant: str, key_id: str) -> bytes:
        if tenant != self.tenant or key_id not in self.keys:
            raise Unreadable(f"tenant key {key_id} of {tenant} was not handed to the sealer")
        return self.keys[key_id]


def build_from_wal(job: SealJob) -> SealResult:
    keys = _Keys(job.tenant, job.keys)
    batches: list[tuple[int, Batch]] = []
    file_ids: list[str] = []
    damaged: list[tuple[str, str]] = []
    for path in job.wal_paths:
        contents = read_wal(Path(path).read_bytes(), keys)
        damaged += [(Path(path).name, what) for what in contents.damaged]
        file_ids.append(contents.header["file"])
        batches.extend(decode_record(r) for r in contents.records)
    lines = LineBlock.from_batches(batches)
    if not len(lines):
        return SealResult(None, 0, 0, file_ids, damaged)
    lines = lines.take(lines.timeline_order(), ordered=True)
    runs = seq_runs((b.agent, c.stream, c.seq, c.seq + len(c)) for _, b in batches for c in b.chunks)
    built = build_segment(lines, tenant=job.tenant, number=job.number, prev=job.prev, sealed=job.sealed,
                          wal_files=file_ids, tenant_key_id=job.key_id, tenant_key=job.keys[job.key_id],
                          runs=runs, level=job.zstd_level, block_bytes=job.block_bytes)
    with open(job.tmp_path, "wb") as f:
        f.write(built.data)
        f.flush()
        if job.fsync:
            os.fsync(f.fileno())
    return SealResult(replace(built, data=b""), len(built.data), len(lines), file_ids, damaged)


def _child_setup(parent: int) -> None:
    # Ctrl-C reaches the whole process group; the collector decides when its sealer stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A collector killed outright (SIGKILL, OOM) cannot stop its sealer: the sealer notices
    # that its parent is gone and leaves (a half-built segment is a temporary file that the
    # next open removes).
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def process_runner() -> tuple[SealRunner, Callable[[], None]]:
    """A runner that builds segments in one separate process, and how to stop it."""
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_child_setup, initargs=(os.getpid(),))

    def run(job: SealJob) -> SealResult:
        return pool.submit(build_from_wal, job).result()

    return run, lambda: pool.shutdown(wait=True, cancel_futures=True)
