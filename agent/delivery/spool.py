"""The on-disk spool: compressed batches waiting for the collector, one file each.

A batch is spooled when the collector cannot take it (or at once, for a generated stream
whose lines exist nowhere else). Once a batch file is written, fsync'd and renamed into
place, its lines are *committed*: the inputs' positions may move past them, and the spool
sends them (oldest first) until the collector acknowledges, then deletes the file.

The spool is bounded by ``max_bytes`` (and by the file system it lives on). When it is full,
``when_full`` decides: ``block`` makes the shipper wait (the in-memory queue fills and the
inputs stop reading: nothing is lost, a file input catches up later), ``drop_oldest``
deletes the oldest batches to make room and reports their lines as dropped with the reason
``spool_full``. A full disk (``ENOSPC``) is treated the same way as reaching ``max_bytes``.

File format: ``CLSP1\\n``, one line of JSON (encoding, creation time, the chunks as
``[stream, seq, lines]``, CRC-32 of the body), then the body exactly as it is POSTed.
Names are ``<16-digit number>.batch``; a file is written under a dot-name first, so a crash
leaves either the whole file or a temporary one, which `open` deletes.
"""

from __future__ import annotations

import collections
import errno
import os
import threading
import zlib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import orjson
from pydantic import Field

from chronolog.config_loading import StrictModel
from chronolog.fsutil import fsync_dir, write_all

__all__ = ["Spool", "SpoolConfig", "SpoolCorrupt", "SpoolEntry", "SpoolFull", "SpoolReport"]

MAGIC = b"CLSP1\n"
SUFFIX = ".batch"

WhenFull = Literal["block", "drop_oldest"]


class SpoolConfig(StrictModel):
    """The ``[agent.spool]`` table."""

    directory: Path | None = Field(
        None, description="Where batches wait while the collector is unreachable; unset: state_dir/spool."
    )
    max_bytes: int = Field(
        256 << 20, ge=0, le=1 << 40,
        description="Largest size of the spool on disk (compressed batches); 0 turns the spool off.",
    )
    when_full: WhenFull = Field(
        "block",
        description="'block': stop reading inputs until there is room (nothing lost); "
        "'drop_oldest': delete the oldest batches, counting their lines as dropped (spool_full).",
    )


@dataclass(frozen=True, slots=True)
class SpoolEntry:
    """One spooled batch: its file, size, creation time (µs) and chunks ``(stream, seq, lines)``."""

    number: int
    size: int
    created: int
    encoding: str
    chunks: tuple[tuple[str, int, int], ...]

    @property
    def name(self) -> str:
        return f"{self.number:016d}{SUFFIX}"


@dataclass(frozen=True, slots=True)
class SpoolReport:
    batches: int
    bytes: int
    max_bytes: int
    when_full: str
    oldest_created: int | None  # µs since the epoch, None when empty


class SpoolFull(Exception):
    """No room for a batch (``max_bytes`` reached or the disk is full) under ``block``."""


class SpoolCorrupt(Exception):
    """A spool file whose body does not match its checksum."""


class Spool:
    """Thread-safe: the shipper appends and the spool sender removes, each in a worker thread."""

    def __init__(self, directory: Path, max_bytes: int, when_full: WhenFull) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.when_full = when_full
        self._entries: collections.deque[SpoolEntry] = collections.deque()
        self._bytes = 0
        self._next = 0
        self._lock = threading.Lock()

    def open(self) -> tuple[Spool, list[str]]:
        """Load what an earlier run left (blocking). Returns the spool and the names of files
        that could not be read (moved aside as ``*.bad``, never deleted)."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        bad: list[str] = []
        for path in sorted(self.directory.iterdir()):
            if path.name.startswith(".") and path.name.endswith(".tmp"):
                path.unlink()  # a write that never finished: its batch was never committed
                continue
            if not path.name.endswith(SUFFIX):
                continue
            try:
                entry = _read_header(path)
            except (OSError, ValueError) as e:
                path.rename(path.with_name(path.name + ".bad"))
                bad.append(f"{path.name}: {e}")
                continue
            self._entries.append(entry)
            self._bytes += entry.size
            self._next = max(self._next, entry.number + 1)
        return self, bad

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """Bytes on disk."""
        return self._bytes

    def report(self) -> SpoolReport:
        with self._lock:
            oldest = self._entries[0].created if self._entries else None
            return SpoolReport(len(self._entries), self._bytes, self.max_bytes, self.when_full, oldest)

    def holds_other_than(self, streams: Collection[str]) -> bool:
        """Whether a spooled batch holds lines of a stream not in ``streams``."""
        with self._lock:
            return any(stream not in streams for entry in self._entries for stream, _, _ in entry.chunks)

    def oldest(self) -> SpoolEntry | None:
        with self._lock:
            return self._entries[0] if self._entries else None

    def append(self, body: bytes, encoding: str, chunks: list[tuple[str, int, int]],
               created: int) -> list[SpoolEntry]:
        """Write one batch durably (blocking). Returns the entries deleted to make room
        (only under ``drop_oldest``); raises `SpoolFull` under ``block``."""
        header = orjson.dumps({"encoding": encoding, "created": created, "chunks": chunks,
                               "crc": zlib.crc32(body)})
        data = MAGIC + header + b"\n" + body
        dropped: list[SpoolEntry] = []
        while True:
            with self._lock:
                while self._bytes + len(data) > self.max_bytes:
                    if self.when_full != "drop_oldest" or not self._entries:
                        raise SpoolFull(f"spool full ({self._bytes} of {self.max_bytes} bytes)")
                    dropped.append(self._pop_oldest())
                number = self._next
                self._next += 1
            entry = SpoolEntry(number, len(data), created, encoding,
                               tuple((s, q, n) for s, q, n in chunks))
            try:
                self._write(entry.name, data)
            except OSError as e:
                if e.errno not in (errno.ENOSPC, errno.EDQUOT):
                    raise
                with self._lock:
                    if self.when_full != "drop_oldest" or not self._entries:
                        raise SpoolFull(f"no space left on the spool's file system ({e.strerror})") from None
                    dropped.append(self._pop_oldest())
                continue
            with self._lock:
                self._entries.append(entry)
                self._bytes += entry.size
            return dropped

    def read(self, entry: SpoolEntry) -> bytes:
        """The body of a spooled batch, checked (blocking)."""
        data = (self.directory / entry.name).read_bytes()
        _, header, body = _split(data)
        if zlib.crc32(body) != orjson.loads(header)["crc"]:
            raise SpoolCorrupt(f"{entry.name}: checksum mismatch")
        return body

    def remove(self, entry: SpoolEntry) -> None:
        """Forget a batch the collector took (or that was given up on)."""
        with self._lock:
            if self._entries and self._entries[0] == entry:
                self._entries.popleft()
            elif entry in self._entries:
                self._entries.remove(entry)
            else:
                return
            self._bytes -= entry.size
        (self.directory / entry.name).unlink(missing_ok=True)

    def _pop_oldest(self) -> SpoolEntry:
        entry = self._entries.popleft()
        self._bytes -= entry.size
        (self.directory / entry.name).unlink(missing_ok=True)
        return entry

    def _write(self, name: str, data: bytes) -> None:
        tmp = self.directory / f".{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            write_all(fd, data)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.replace(tmp, self.directory / name)
        fsync_dir(self.directory)


def _split(data: bytes) -> tuple[bytes, bytes, bytes]:
    if not data.startswith(MAGIC):
        raise ValueError("not a spool file")
    end = data.find(b"\n", len(MAGIC))
    if end < 0:
        raise ValueError("no header")
    return MAGIC, data[len(MAGIC):end], data[end + 1:]


def _read_header(path: Path) -> SpoolEntry:
    number = int(path.name[: -len(SUFFIX)])
    with path.open("rb") as f:
        head = f.read(1 << 20)
        size = os.fstat(f.fileno()).st_size
    _, header, _ = _split(head)
    try:
        doc = orjson.loads(header)
        chunks = tuple((str(s), int(q), int(n)) for s, q, n in doc["chunks"])
        return SpoolEntry(number, size, int(doc["created"]), str(doc["encoding"]), chunks)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise ValueError(f"bad header: {e}") from None
