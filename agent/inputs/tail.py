"""Following one file path, as a mechanism that knows nothing of configuration or delivery.

`FileTail.poll` returns the complete lines written since the last poll and the `FilePosition`
after them. It follows rename rotation (the old file is read to its end before the new one
is opened) and truncation (reading restarts at 0). A line longer than ``max_line_bytes`` is
cut to that size and the rest of it skipped, and the cut is reported.

A position names its file by device, inode and a SHA-256 of the file's first bytes, so a
resume never seeks into a different file that happens to reuse the inode.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FilePosition", "FileTail", "TailRead"]

HEAD_BYTES = 1024


@dataclass(frozen=True, slots=True)
class FilePosition:
    dev: int
    ino: int
    head_len: int
    head: str  # SHA-256 (hex) of the first head_len bytes
    offset: int

    def to_json(self) -> dict[str, Any]:
        return {"dev": self.dev, "ino": self.ino, "head_len": self.head_len, "head": self.head,
                "offset": self.offset}

    @classmethod
    def from_json(cls, doc: dict[str, Any] | None) -> FilePosition | None:
        if not doc:
            return None
        try:
            return cls(int(doc["dev"]), int(doc["ino"]), int(doc["head_len"]), str(doc["head"]),
                       int(doc["offset"]))
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(slots=True)
class TailRead:
    lines: list[bytes]
    position: FilePosition
    truncated: set[int] = field(default_factory=set)  # indexes of lines cut to max_line_bytes
    events: list[str] = field(default_factory=list)  # "opened", "rotated", "truncated", ...


def _head(fd: int, size: int) -> tuple[int, str]:
    n = min(size, HEAD_BYTES)
    return n, hashlib.sha256(os.pread(fd, n, 0)).hexdigest()


class FileTail:
    def __init__(self, path: str, resume: FilePosition | None, max_line_bytes: int) -> None:
        self.path = path
        self.max_line_bytes = max_line_bytes
        self._resume = resume
        self._fd: int | None = None
        self._dev = self._ino = 0
        self._head_len = 0
        self._head = ""
        self.offset = 0
        self._skipping = False  # inside an over-long line, discarding until its newline

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def position(self) -> FilePosition:
        return FilePosition(self._dev, self._ino, self._head_len, self._head, self.offset)

    def _open(self, events: list[str]) -> bool:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        st = os.fstat(fd)
        self._fd, self._dev, self._ino = fd, st.st_dev, st.st_ino
        self._head_len, self._head = _head(fd, st.st_size)
        self.offset, self._skipping = 0, False
        resume, self._resume = self._resume, None
        if resume is not None and self._same_file(resume, st.st_size):
            self.offset = resume.offset
            events.append("resumed")
        else:
            events.append("opened")
        return True

    def _same_file(self, pos: FilePosition, size: int) -> bool:
        if (pos.dev, pos.ino) != (self._dev, self._ino) or pos.offset > size:
            return False
        assert self._fd is not None
        if pos.head_len > size:
            return False
        return hashlib.sha256(os.pread(self._fd, pos.head_len, 0)).hexdigest() == pos.head

    def _replaced(self) -> bool:
        """True when the path now names another file (or none): we were rotated away."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return True
        return (st.st_dev, st.st_ino) != (self._dev, self._ino)

    def poll(self, max_bytes: int) -> TailRead | None:
        """Complete lines since the last poll (at most about ``max_bytes``), or None if none."""
        events: list[str] = []
        if self._fd is None and not self._open(events):
            return None
        assert self._fd is not None
        size = os.fstat(self._fd).st_size
        if size < self.offset:
            events.append("truncated")
            self.offset, self._skipping = 0, False
        read = self._read_lines(max_bytes, size)
        if read is None and self._replaced():
            # Our file is read to its end and the path names another one now: move over.
            self.close()
            events.append("rotated")
            if not self._open(events):
                return TailRead([], self.position(), events=events) if events else None
            read = self._read_lines(max_bytes, os.fstat(self._fd).st_size)
        if read is None:
            return TailRead([], self.position(), events=events) if events else None
        read.events[:0] = events
        return read

    def _read_lines(self, max_bytes: int, size: int) -> TailRead | None:
        assert self._fd is not None
        if self.offset >= size:
            return None
        want = min(max(max_bytes, 1), size - self.offset)
        data = os.pread(self._fd, want, self.offset)
        lines: list[bytes] = []
        truncated: set[int] = set()
        start = 0
        if self._skipping:
            nl = data.find(b"\n")
            if nl < 0:
                self.offset += len(data)
                return TailRead([], self.position())
            self._skipping = False
            start = nl + 1
        last_nl = data.rfind(b"\n")
        if last_nl >= start:
            for line in data[start:last_nl].split(b"\n"):
                if len(line) > self.max_line_bytes:
                    truncated.add(len(lines))
                    line = line[: self.max_line_bytes]
                lines.append(line[:-1] if line.endswith(b"\r") else line)
            consumed = last_nl + 1
        else:
            consumed = start
        tail = len(data) - consumed
        if tail >= self.max_line_bytes:
            # An unfinished line already over the limit: keep its start, skip the rest.
            truncated.add(len(lines))
            lines.append(data[consumed : consumed + self.max_line_bytes])
            self._skipping = True
            consumed = len(data)
        elif not lines and consumed == 0 and want == max_bytes < size - self.offset:
            # A partial line longer than one read: read far enough to find its end next time.
            return self._read_lines(max(max_bytes * 2, 1), size)
        self.offset += consumed
        if not lines and consumed == 0:
            return None
        return TailRead(lines, self.position(), truncated)
