"""Sealing, the costly part: decrypting closed WAL files, sorting their lines by event time,
compressing and indexing them as segment blocks (`prepare_from_wal`). It needs nothing of the
running store but the keys it is handed, and neither the segment's number nor the chain, so
the collector runs it in a pool of child processes (`process_pool`): several WAL files, of
one tenant or of several, are prepared at once on other cores than ingest and queries. The
caller then seals each prepared segment as the chain's next one, in order (cheap: a header,
AES-256-GCM, a digest; tenant.py).

A sealer runs at a lower CPU priority than the collector (`SEALER_NICENESS`): a seal can wait,
an agent waiting for its acknowledgement cannot. Where sealers and ingest share a core, a seal
at the same priority took two thirds of it and ingest slowed to a third (issue 13).

The tenant keys cross to a child through its stdin, a pipe between two processes of the
same program and user; the child writes them nowhere.
"""

from __future__ import annotations

import concurrent.futures
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Protocol

from chronolog.wire import Batch, Chunk, beyond_limits
from collector.store.crypto import Unreadable
from collector.store.lines import LineBlock, seq_runs
from collector.store.segment import ZSTD_LEVEL, PreparedBlocks, prepare_blocks
from collector.store.seqset import HeldLines
from collector.store.wal import decode_record, read_wal

__all__ = ["SEALER_NICENESS", "InProcess", "Prepared", "SealJob", "SealRunner", "prepare_from_wal",
           "process_pool"]

SEALER_NICENESS = 10  # added to the collector's: about a tenth of ingest's share of a busy core


@dataclass(frozen=True)
class SealJob:
    tenant: str
    wal_paths: list[str]
    keys: dict[str, bytes]  # the tenant key versions the WAL files name, by id
    zstd_level: int = ZSTD_LEVEL
    block_bytes: int = 1 << 20
    # WAL records kept elsewhere than in files (stream messages), as (name, one-record WAL file).
    wal_messages: list[tuple[str, bytes]] = field(default_factory=list)
    # Lines already sealed, by (agent, stream): given, these and repeats are left out (the
    # local store de-duplicates before writing its WAL; a stream can hold a line twice).
    held: dict[tuple[str, str], list[tuple[int, int]]] | None = None


@dataclass(frozen=True)
class Prepared:
    """A prepared segment (`PreparedBlocks`), or None when the WAL files held no line."""

    blocks: PreparedBlocks | None
    lines: int
    file_ids: list[str]
    runs: list[tuple[str, str, int, int]]
    damaged: list[tuple[str, str]] = field(default_factory=list)  # (file, what)


class SealRunner(Protocol):
    """Runs `prepare_from_wal` somewhere; ``width`` jobs at once."""

    width: int

    def prepare(self, job: SealJob) -> concurrent.futures.Future[Prepared]: ...


class _Keys:
    def __init__(self, tenant: str, keys: dict[str, bytes]) -> None:
        self.tenant, self.keys = tenant, keys

    def key(self, tenant: str, key_id: str) -> bytes:
        if tenant != self.tenant or key_id not in self.keys:
            raise Unreadable(f"tenant key {key_id} of {tenant} was not handed to the sealer")
        return self.keys[key_id]


def prepare_from_wal(job: SealJob) -> Prepared:
    keys = _Keys(job.tenant, job.keys)
    batches: list[tuple[int, Batch]] = []
    file_ids: list[str] = []
    damaged: list[tuple[str, str]] = []
    sources = [(Path(p).name, Path(p).read_bytes()) for p in job.wal_paths] + job.wal_messages
    for name, data in sources:
        contents = read_wal(data, keys)
        damaged += [(name, what) for what in contents.damaged]
        if contents.header["file"] not in file_ids:
            file_ids.append(contents.header["file"])
        for number, record in enumerate(contents.records):
            received, batch = decode_record(record)
            batch.chunks = [c for c in batch.chunks if _storable(c, name, number, damaged)]
            batches.append((received, batch))
    if job.held is not None:
        batches = _new_only(batches, job.held)
    lines = LineBlock.from_batches(batches)
    if not len(lines):
        return Prepared(None, 0, file_ids, [], damaged)
    lines = lines.take(lines.timeline_order(), ordered=True)
    runs = seq_runs((b.agent, c.stream, c.seq, c.seq + len(c)) for _, b in batches for c in b.chunks)
    blocks = prepare_blocks(lines, job.zstd_level, job.block_bytes)
    return Prepared(blocks, len(lines), file_ids, runs, damaged)


def _new_only(batches: list[tuple[int, Batch]],
              held: dict[tuple[str, str], list[tuple[int, int]]]) -> list[tuple[int, Batch]]:
    known = HeldLines()
    for (agent, stream), runs in held.items():
        for start, end in runs:
            known.add(agent, stream, start, end)
    out = []
    for received, batch in batches:
        chunks, _, _ = known.take_new(batch)
        if chunks:
            out.append((received, replace(batch, chunks=chunks)))
    return out


class InProcess:
    """`SealRunner` in the calling thread (tools and tests)."""

    width = 1

    def prepare(self, job: SealJob) -> concurrent.futures.Future[Prepared]:
        future: concurrent.futures.Future[Prepared] = concurrent.futures.Future()
        try:
            future.set_result(prepare_from_wal(job))
        except Exception as e:
            future.set_exception(e)
        return future


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

    def start(self) -> None:
        """Start the child now, so that the first seal does not wait for its imports."""
        with self._lock:
            self._child()

    def _child(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen([sys.executable, "-m", "collector.store.sealing"],
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        return self._proc

    def run(self, job: SealJob) -> Prepared:
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
            assert isinstance(reply, Prepared)
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


class _Pool:
    """`SealRunner` over ``width`` child processes: each job takes an idle child."""

    def __init__(self, width: int) -> None:
        self.width = width
        self._children = [_SealerProcess() for _ in range(width)]
        self._idle: queue.SimpleQueue[_SealerProcess] = queue.SimpleQueue()
        for child in self._children:
            self._idle.put(child)
        self._threads = concurrent.futures.ThreadPoolExecutor(width, thread_name_prefix="sealer")
        for child in self._children:
            child.start()

    def prepare(self, job: SealJob) -> concurrent.futures.Future[Prepared]:
        return self._threads.submit(self._run, job)

    def _run(self, job: SealJob) -> Prepared:
        child = self._idle.get()
        try:
            return child.run(job)
        finally:
            self._idle.put(child)

    def stop(self) -> None:
        self._threads.shutdown(wait=True)
        for child in self._children:
            child.stop()


def process_pool(width: int) -> tuple[SealRunner, Callable[[], None]]:
    """A runner that prepares up to ``width`` segments at once, each in its own child process
    (started now), and how to stop them."""
    pool = _Pool(width)
    return pool, pool.stop


def _serve() -> None:
    """The child: build one segment per job read from stdin, until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group
    os.nice(SEALER_NICENESS)  # ingest first (see the module's docstring); lowering needs no privilege
    jobs, replies = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            job = _receive(jobs)
        except EOFError:
            return
        try:
            assert isinstance(job, SealJob)
            reply: object = prepare_from_wal(job)
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
