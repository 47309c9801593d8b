"""Building a segment from closed WAL files: the CPU-heavy part of a seal, apart from the
steps that commit it.

`build_from_wal` decrypts the WAL files, sorts their lines by event time, and writes the
segment (zstd blocks under AES-256-GCM) to a temporary file, fsync'd. It needs nothing of the
running store but the keys it is handed, so the collector runs it in a child process
(`process_runner`): sealing then uses another core than ingest and queries. The caller
renames the file into place and records it (tenant.py).

The tenant keys cross to the child through its stdin, a pipe between two processes of the
same program and user; the child writes them nowhere.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

from chronolog.wire import Batch, Chunk, beyond_limits
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
        for number, record in enumerate(contents.records):
            received, batch = decode_record(record)
            batch.chunks = [c for c in batch.chunks if _storable(c, Path(path).name, number, damaged)]
            batches.append((received, batch))
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


def _storable(chunk: Chunk, file: str, record: int, damaged: list[tuple[str, str]]) -> bool:
    """A chunk the store can hold: a record written before the wire's limits (issue 16) may
    hold one the catalog cannot (a seq past SQLite's integers), which would stop every seal of
    the tenant. It is left out of the segment, and said: it is never silently dropped."""
    why = beyond_limits(chunk)
    if why is not None:
        damaged.append((file, f"record {record}: {len(chunk)} line(s) of stream {chunk.stream!r} left out "
                        f"of the segment: {why}"))
    return why is None


class _SealerProcess:
    """One ``python -m collector.store.sealing`` child, fed jobs through its stdin.

    Jobs and results cross the pipe pickled, length-prefixed: both ends are this program. The
    child leaves by itself when its stdin closes, which is also what happens when the
    collector dies, however it dies. If the child dies, the job fails (the seal is retried
    later) and the next job starts a new child.
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def _child(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen([sys.executable, "-m", "collector.store.sealing"],
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        return self._proc

    def run(self, job: SealJob) -> SealResult:
        """Run ``job`` in the child. A child found dead mid-job (killed, crashed, or killed
        but not yet reaped when it was picked) is replaced and the job run once more: a job
        only writes its own temporary file, so running it again is safe."""
        with self._lock:
            for attempt in (1, 2):
                proc = self._child()
                assert proc.stdin is not None and proc.stdout is not None
                try:
                    _send(proc.stdin, job)
                    reply = _receive(proc.stdout)
                    break
                except (OSError, EOFError):
                    proc.kill()
                    proc.wait()
                    if attempt == 2:
                        raise RuntimeError(f"the sealer process died (status {proc.returncode})") from None
            if isinstance(reply, BaseException):
                raise reply
            assert isinstance(reply, SealResult)
            return reply

    def stop(self) -> None:
        with self._lock:
            if self._proc is not None and self._proc.stdin is not None:
                self._proc.stdin.close()
                try:
                    self._proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()


_SIZE = struct.Struct(">Q")


def _send(pipe: IO[bytes], obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    pipe.write(_SIZE.pack(len(data)) + data)
    pipe.flush()


def _receive(pipe: IO[bytes]) -> object:
    head = pipe.read(_SIZE.size)
    if len(head) < _SIZE.size:
        raise EOFError
    (size,) = _SIZE.unpack(head)
    data = pipe.read(size)
    if len(data) < size:
        raise EOFError
    # Only ever what the other end of this private pipe, this same program, pickled.
    return pickle.loads(data)  # noqa: S301


def process_runner() -> tuple[SealRunner, Callable[[], None]]:
    """A runner that builds segments in one separate process, and how to stop it."""
    child = _SealerProcess()
    return child.run, child.stop


def _serve() -> None:
    """The child: build one segment per job read from stdin, until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group
    jobs, replies = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            job = _receive(jobs)
        except EOFError:
            return
        try:
            assert isinstance(job, SealJob)
            reply: object = build_from_wal(job)
        except Exception as e:
            reply = RuntimeError(f"{type(e).__name__}: {e}")
        try:
            _send(replies, reply)
        except OSError:  # the collector is gone
            return


if __name__ == "__main__":
    # Run the imported module's loop, not this __main__ copy's: pickled jobs name the classes
    # of collector.store.sealing.
    from collector.store import sealing

    sealing._serve()
