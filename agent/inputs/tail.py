"""Following one file path, as a mechanism that knows nothing of configuration or delivery.

`FileTail.poll` returns the complete lines written since the last poll and the `FilePosition`
after them. What it handles:

- **Identity.** A position names its file by device, inode, a SHA-256 of the first bytes
  (``head``) and a SHA-256 of the bytes just before the offset (``mark``). A resume seeks only
  into a file whose head and mark match, so neither a reused inode nor a file that starts
  with the same header as the old one is mistaken for it.
- **Rename rotation.** When the path names another file, the old one is read to its end
  first (it stays open however long that takes), then the new one from its start. A file
  that held the path only between two polls (two rotations in a row on a loaded host) is
  found among the siblings written since the last poll and read in between.
- **Rotation while stopped.** If the saved position's file is no longer at the path, its
  rotated siblings (``app.log.1``, ``app.log-20261127``, ``app.log.1.gz``: names that start
  with the file's name) are searched by content; the one found is read from the saved offset
  to its end (decompressed if gzip'd), then the path from its start.
- **copytruncate.** A truncation (the file shrank, or the bytes before the offset changed)
  is recovered from the copy: a sibling with the same head and mark, read from the offset to
  its end, before the truncated file is read from its start.
- **gzip.** A path ending in ``.gz`` is read decompressed; offsets count decompressed bytes.
- **Long lines.** A line longer than ``max_line_bytes`` is cut to that size, the rest skipped,
  and the cut reported.
- **Multiline.** With a start pattern, a record runs from a line that matches to the next
  one; the last record is held (the offset stays before it) until the next start line
  arrives or ``multiline_timeout`` passes without one.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, overload

__all__ = ["FilePosition", "FileTail", "Multiline", "ReadBlock", "TailRead", "split_lines"]

HEAD_BYTES = 1024
MARK_BYTES = 128
MAX_SIBLINGS = 16  # rotated siblings examined when a position is looked for
KNOWN_FILES = 64  # finished files remembered, so that no copy of one is read again
# After the path names a new file, the old one is still read until it has been quiet this
# long: an application may write a few more lines to it before it reopens its log.
ROTATE_GRACE = 0.5
GZIP_WAIT = 5.0  # how long an unfinished gzip copy may stay the same size before it is let go


@dataclass(frozen=True, slots=True)
class FilePosition:
    dev: int
    ino: int
    head_len: int
    head: str  # SHA-256 (hex) of the first head_len bytes
    offset: int
    mark: str = ""  # SHA-256 (hex) of the up to MARK_BYTES bytes before offset; "" for none

    def to_json(self) -> dict[str, Any]:
        return {"dev": self.dev, "ino": self.ino, "head_len": self.head_len, "head": self.head,
                "offset": self.offset, "mark": self.mark}

    @classmethod
    def from_json(cls, doc: dict[str, Any] | None) -> FilePosition | None:
        if not doc:
            return None
        try:
            return cls(int(doc["dev"]), int(doc["ino"]), int(doc["head_len"]), str(doc["head"]),
                       int(doc["offset"]), str(doc.get("mark", "")))
        except (KeyError, TypeError, ValueError):
            return None


class ReadBlock(Sequence[bytes]):
    """Complete lines as the file holds them: ``data`` is the lines separated by ``newline``
    (none of them holds one, none was cut or changed), without a newline after the last: at
    least one line. The lines are cut out of it, or even counted, only when asked for
    (stamping reads the block whole; counting a block's newlines costs as much again)."""

    __slots__ = ("_lines", "data", "newline")

    def __init__(self, data: bytes, newline: bytes = b"\n") -> None:
        self.data = data
        self.newline = newline
        self._lines: list[bytes] | None = None

    def lines(self) -> list[bytes]:
        if self._lines is None:
            self._lines = self.data.split(self.newline)
        return self._lines

    def __bool__(self) -> bool:
        return True

    def __len__(self) -> int:
        return len(self.lines())

    @overload
    def __getitem__(self, index: int) -> bytes: ...
    @overload
    def __getitem__(self, index: slice) -> list[bytes]: ...
    def __getitem__(self, index: int | slice) -> bytes | list[bytes]:
        return self.lines()[index]

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.lines())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ReadBlock):
            return self.lines() == other.lines()
        return isinstance(other, list) and self.lines() == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ReadBlock({len(self.data)} bytes)"


@dataclass(slots=True)
class TailRead:
    lines: list[bytes] | ReadBlock
    position: FilePosition
    truncated: set[int] = field(default_factory=set)  # indexes of lines cut to max_line_bytes
    events: list[str] = field(default_factory=list)  # "opened", "rotated", "truncated", ...


@dataclass(frozen=True, slots=True)
class Multiline:
    """Join lines into records: a record starts at a line matching ``start``."""

    start: re.Pattern[bytes]
    timeout: float
    max_lines: int = 500


@dataclass(slots=True)
class Split:
    lines: list[bytes] | ReadBlock
    truncated: set[int]
    consumed: int
    skipping: bool
    starts: list[int] | None = None  # offset (in data) where each line starts, when asked


def split_lines(data: bytes, max_line: int, skipping: bool, at_end: bool,
                newline: bytes = b"\n", with_starts: bool = False) -> Split:
    """The complete lines in ``data`` (pure).

    ``skipping``: the data starts inside an over-long line whose head was already returned.
    ``at_end``: ``data`` runs to the end of what is readable now, so an unfinished line at its
    end that is already over ``max_line`` is cut now rather than waited for.
    """
    lines: list[bytes] = []
    truncated: set[int] = set()
    starts: list[int] | None = [] if with_starts else None
    nl_len = len(newline)
    start = 0
    if skipping:
        nl = data.find(newline)
        if nl < 0:
            return Split([], set(), len(data), True, starts)
        start = nl + nl_len
        skipping = False
    last_nl = data.rfind(newline)
    rest = len(data) - last_nl - nl_len  # the unfinished line after the last newline
    if (starts is None and last_nl >= start and last_nl - start <= max_line
            and not (rest >= max_line and (at_end or rest > max_line))
            and (newline != b"\n" or data.find(b"\r", start, last_nl) < 0)):
        # No line to cut, no CR to drop: the lines stay in one block, as read.
        return Split(ReadBlock(data[start:last_nl], newline), truncated, last_nl + nl_len, False, None)
    if last_nl >= start:
        if starts is None:
            pieces = data[start:last_nl].split(newline)
        else:
            pieces = []
            pos = start
            while pos <= last_nl:
                nl = data.find(newline, pos)
                pieces.append(data[pos:nl])
                starts.append(pos)
                pos = nl + nl_len
        for line in pieces:
            if len(line) > max_line:
                truncated.add(len(lines))
                line = line[:max_line]
            lines.append(line[:-1] if newline == b"\n" and line.endswith(b"\r") else line)
        consumed = last_nl + nl_len
    else:
        consumed = start
    if len(data) - consumed >= max_line and (at_end or len(data) - consumed > max_line):
        # An unfinished line already over the limit: keep its start, skip the rest.
        truncated.add(len(lines))
        if starts is not None:
            starts.append(consumed)
        lines.append(data[consumed: consumed + max_line])
        skipping = True
        consumed = len(data)
    return Split(lines, truncated, consumed, skipping, starts)


class _Reader(Protocol):
    def read(self, offset: int, n: int) -> bytes: ...
    def size(self) -> int | None: ...  # None: unknown (gzip)
    def close(self) -> None: ...


class _PlainReader:
    def __init__(self, fd: int) -> None:
        self.fd = fd

    def read(self, offset: int, n: int) -> bytes:
        return os.pread(self.fd, n, offset)

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def close(self) -> None:
        os.close(self.fd)


class _GzipReader:
    """Sequential reads of a gzip file's decompressed bytes (seeking back restarts)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._restart()

    def _restart(self) -> None:
        self._z = zlib.decompressobj(wbits=47)
        self._in = 0  # compressed bytes consumed
        self._pos = 0  # decompressed offset of _buf[0]
        self._buf = b""

    def read(self, offset: int, n: int) -> bytes:
        if offset < self._pos:
            self._restart()
        while self._pos + len(self._buf) < offset + n:
            if self._z.eof:
                if not self._z.unused_data:
                    break
                rest = self._z.unused_data  # a file of several gzip members
                self._z = zlib.decompressobj(wbits=47)
                more = self._z.decompress(rest, 1 << 20)
            else:
                pending = self._z.unconsumed_tail
                if not pending:
                    pending = os.pread(self.fd, 1 << 16, self._in)
                    self._in += len(pending)
                    if not pending:
                        break
                try:
                    more = self._z.decompress(pending, 1 << 20)
                except zlib.error:
                    break  # a damaged or unfinished archive: what was readable is returned
            if self._pos + len(self._buf) < offset:  # skipping forward: keep little in memory
                drop = min(len(self._buf), offset - self._pos)
                self._buf, self._pos = self._buf[drop:], self._pos + drop
            self._buf += more
        start = offset - self._pos
        return self._buf[start: start + n] if start >= 0 else b""

    def size(self) -> int | None:
        return None

    def complete(self) -> bool:
        """True once the end of the (last) gzip member was read."""
        return self._z.eof and not self._z.unused_data

    def close(self) -> None:
        os.close(self.fd)


def _is_gzip(path: str) -> bool:
    return path.endswith(".gz")


def _open_reader(path: str) -> tuple[_Reader, os.stat_result] | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except (FileNotFoundError, IsADirectoryError):
        return None
    st = os.fstat(fd)
    return (_GzipReader(fd) if _is_gzip(path) else _PlainReader(fd)), st


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _matches(reader: _Reader, pos: FilePosition) -> bool:
    """Does this file hold the content a position was saved in (head, and mark at offset)?"""
    size = reader.size()
    if size is not None and (pos.offset > size or pos.head_len > size):
        return False
    if _sha(reader.read(0, pos.head_len)) != pos.head:
        return False
    if not pos.mark:
        return True
    start = max(0, pos.offset - MARK_BYTES)
    before = reader.read(start, pos.offset - start)
    return len(before) == pos.offset - start and _sha(before) == pos.mark


class _Open:
    """One open file being read: its reader, identity and where we are in it."""

    def __init__(self, reader: _Reader, st: os.stat_result, name: str) -> None:
        self.reader = reader
        self.dev, self.ino = st.st_dev, st.st_ino
        self.name = name
        self.head_len = 0
        self.head = ""
        self.offset = 0
        self.skipping = False
        self.last = b""  # up to MARK_BYTES bytes before offset, to notice a rewrite
        self.grown, self.grown_at = -1, 0.0  # a gzip copy's size, and when it last changed

    def take_head(self, pos: FilePosition | None = None) -> None:
        if pos is not None:
            self.head_len, self.head = pos.head_len, pos.head
        else:
            data = self.reader.read(0, HEAD_BYTES)
            self.head_len, self.head = len(data), _sha(data)

    def seek(self, offset: int) -> None:
        self.offset = offset
        start = max(0, offset - MARK_BYTES)
        self.last = self.reader.read(start, offset - start) if offset else b""

    def position(self) -> FilePosition:
        return FilePosition(self.dev, self.ino, self.head_len, self.head, self.offset,
                            _sha(self.last) if self.last else "")


class FileTail:
    def __init__(self, path: str, resume: FilePosition | None, max_line_bytes: int,
                 newline: bytes = b"\n", multiline: Multiline | None = None) -> None:
        self.path = path
        self.max_line_bytes = max_line_bytes
        self.newline = newline
        self.multiline = multiline
        self._resume = resume
        self._cur: _Open | None = None
        self._backlog: list[_Open] = []  # older content to read to its end before _cur
        self._held: tuple[int, float] | None = None  # multiline: (offset, since) of a held record
        self._quiet_since: float | None = None  # when the replaced file last gave nothing
        self._next: list[_Open] = []  # files that took the path after _cur, opened when seen
        self.recovered: list[str] = []  # names of siblings whose content was recovered
        # Files read and let go: identity and first bytes, so a sibling is never read twice.
        self._done_ids: set[tuple[int, int]] = set()
        self._done_heads: list[bytes] = []
        self._path_seen_at = 0.0  # wall clock: the path last named a file we know

    @property
    def offset(self) -> int:
        return self._cur.offset if self._cur is not None else 0

    def holds(self, pos: FilePosition | None) -> bool:
        """Is the file at the path being read (not an older copy) the one ``pos`` was in?"""
        cur = self._cur
        if cur is None or pos is None or (cur.dev, cur.ino) != (pos.dev, pos.ino):
            return False
        return _matches(cur.reader, pos)

    def close(self) -> None:
        for f in [*self._backlog, self._cur, *self._next]:
            if f is not None:
                f.reader.close()
        self._backlog.clear()
        self._next.clear()
        self._cur = None

    def _retire(self, f: _Open) -> None:
        """Let go of a file read to its end, remembering what it was."""
        self._done_ids.add((f.dev, f.ino))
        self._done_heads = [*self._done_heads[-(KNOWN_FILES - 1):], f.reader.read(0, HEAD_BYTES)]
        f.reader.close()

    # -- opening and finding where to resume --

    def _open(self, events: list[str]) -> bool:
        opened = _open_reader(self.path)
        if opened is None:
            return False
        cur = _Open(*opened, name=self.path)
        resume, self._resume = self._resume, None
        same_inode = resume is not None and (cur.dev, cur.ino) == (resume.dev, resume.ino)
        if resume is not None and same_inode and _matches(cur.reader, resume):
            cur.take_head(resume)
            cur.seek(resume.offset)
            events.append("resumed")
        elif resume is not None and (old := self._find_sibling(resume, exclude={(cur.dev, cur.ino)})):
            # Rotated while we were stopped: finish the old file first, then this one.
            self._backlog.append(old)
            cur.take_head()
            events.append(f"resumed from rotated {old.name}")
        else:
            cur.take_head()
            events.append("opened")
        self._cur = cur
        return True

    def _siblings(self) -> list[str]:
        directory, base = os.path.split(self.path)
        try:
            names = [n for n in os.listdir(directory or ".") if n.startswith(base) and n != base]
        except OSError:
            return []
        paths = [os.path.join(directory, n) for n in names]

        def mtime(p: str) -> float:
            try:
                return os.stat(p).st_mtime
            except OSError:
                return 0.0

        # Plain files first: while logrotate compresses a copy, the .gz is still being
        # written, and the plain copy (complete) is deleted only once the .gz is finished.
        newest = sorted(paths, key=mtime, reverse=True)[:MAX_SIBLINGS]
        return sorted(newest, key=_is_gzip)

    def _find_sibling(self, pos: FilePosition, exclude: set[tuple[int, int]]) -> _Open | None:
        """A rotated sibling holding ``pos``'s content, opened at its offset (or None)."""
        for path in self._siblings():
            opened = _open_reader(path)
            if opened is None:
                continue
            reader, st = opened
            if (st.st_dev, st.st_ino) not in exclude and _matches(reader, pos):
                found = _Open(reader, st, path)
                found.take_head(pos)
                found.seek(pos.offset)
                self.recovered.append(path)
                return found
            reader.close()
        return None

    def _watch_path(self, events: list[str]) -> bool:
        """Open any new file that took the path since the last look (every poll, so a file
        rotated away quickly is still read); True when the path names another file than the
        current one, or none."""
        assert self._cur is not None
        known = [(f.dev, f.ino) for f in (self._cur, *self._next)]
        looked_at = time.time()
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return True
        if (st.st_dev, st.st_ino) not in known and (opened := _open_reader(self.path)) is not None:
            new = _Open(*opened, name=self.path)
            if (new.dev, new.ino) in known:
                new.reader.close()
            else:
                # Files that held the path only between two looks come before this one.
                for missed in self._in_between({*known, (new.dev, new.ino)}):
                    events.append(f"recovered from {missed.name}")
                    self._next.append(missed)
                new.take_head()
                self._next.append(new)
        self._path_seen_at = looked_at
        return (st.st_dev, st.st_ino) != (self._cur.dev, self._cur.ino)

    def _in_between(self, known: set[tuple[int, int]], plain_copies: bool = False) -> list[_Open]:
        """Siblings holding content that passed between two looks: files that took the path
        and left it again (two rotations within one poll, as on a loaded host), or the copy
        made by a copytruncate that came and went the same way. Written since the last look
        and not a file we know; a gzip sibling must also be complete (one in progress may be
        an old file being compressed; gzip gives the finished copy the original's time, which
        then keeps old files out) and not a compressed copy of a file we know (compared by
        first bytes). A plain sibling with a new inode is another file, even with the same
        header, except under copytruncate (``plain_copies``), where plain copies of the live
        file come and go and are compared by first bytes too. Oldest first."""
        ours = [f.reader.read(0, HEAD_BYTES) for f in (self._cur, *self._next, *self._backlog) if f]
        heads = [h for h in (*self._done_heads, *ours) if h]
        found: list[tuple[float, _Open]] = []
        for path in self._siblings():
            opened = _open_reader(path)
            if opened is None:
                continue
            reader, st = opened
            head = reader.read(0, HEAD_BYTES)
            identity = (st.st_dev, st.st_ino)
            fresh = st.st_mtime > self._path_seen_at and identity not in known | self._done_ids
            compressed = isinstance(reader, _GzipReader)
            copy = (compressed or plain_copies) and any(
                head[:len(h)] == h or h[:len(head)] == head for h in heads)
            unfinished = isinstance(reader, _GzipReader) and not reader.complete()
            if not fresh or copy or unfinished or not head:
                reader.close()
                continue
            f = _Open(reader, st, path)
            f.take_head()
            heads.append(head)
            found.append((st.st_mtime, f))
            self.recovered.append(path)
        return [f for _, f in sorted(found, key=lambda pair: pair[0])]

    def _rewritten(self, cur: _Open) -> bool:
        """Truncated (copytruncate) since the last look: smaller, or other bytes at its head
        or just before our offset (a truncated file may have grown past us again)."""
        size = cur.reader.size()
        if size is None:
            return False
        if size < cur.offset:
            return True
        if cur.head_len and _sha(cur.reader.read(0, cur.head_len)) != cur.head:
            return True
        if cur.last:
            return cur.reader.read(cur.offset - len(cur.last), len(cur.last)) != cur.last
        return False

    def _check_truncation(self, cur: _Open, events: list[str]) -> bool:
        """After a truncation, queue the copy holding what we had not read yet (searched by
        content among the siblings) and restart at 0. Checked on every poll, also while an
        older copy is being read, so several quick truncations queue their copies in order."""
        if not self._rewritten(cur):
            return False
        events.append("truncated")
        if cur.head_len:  # with nothing read from it, nothing identifies what it held
            used = {(f.dev, f.ino) for f in (cur, *self._backlog)}
            copy = self._find_sibling(cur.position(), exclude=used)
            if copy is not None:
                events.append(f"recovered from {copy.name}")
                self._backlog.append(copy)
                used.add((copy.dev, copy.ino))
            # Copies made by further truncations since the last look come after it.
            for missed in self._in_between(used, plain_copies=True):
                events.append(f"recovered from {missed.name}")
                self._backlog.append(missed)
        cur.take_head()
        cur.seek(0)
        cur.skipping = False
        self._held = None
        return True

    # -- reading --

    def poll(self, max_bytes: int, now: float | None = None) -> TailRead | None:
        """Complete lines since the last poll (at most about ``max_bytes``), or None if none.
        ``now`` (monotonic seconds; default the current time) drives the time-outs."""
        if now is None:
            now = time.monotonic()
        events: list[str] = []
        if self._cur is None and not self._open(events):
            return None
        cur = self._cur
        assert cur is not None
        if self._check_truncation(cur, events) and self._backlog:
            return TailRead([], self.position(), events=events)
        if self._backlog:
            old = self._backlog[0]
            read = self._read(old, max_bytes, now, final=True)
            if read is not None:
                read.events[:0] = events
                return read
            if self._unfinished_archive(old, now):
                return TailRead([], self.position(), events=events) if events else None
            self._retire(old)
            self._backlog.pop(0)
            events.append("rotated")
            if self._backlog:
                return TailRead([], self.position(), events=events)
        replaced = self._watch_path(events)
        read = self._read(cur, max_bytes, now, final=False)
        if read is None and replaced:
            # Read to its end, and the path names another file. Unless the new one has data
            # already, give the application a moment to write its last lines to the old one.
            if self._quiet_since is None:
                self._quiet_since = now
            new_has_data = bool(self._next) and (self._next[0].reader.size() or 0) > 0
            if not new_has_data and now - self._quiet_since < ROTATE_GRACE:
                return TailRead([], self.position(), events=events) if events else None
            flushed = self._read(cur, max_bytes, now, final=True)
            if flushed is not None:
                flushed.events[:0] = events
                return flushed
            self._retire(cur)
            self._cur = self._next.pop(0) if self._next else None
            self._held = None
            self._quiet_since = None
            events.append("rotated")
            if self._cur is None:
                return TailRead([], self.position(), events=events)
            read = self._read(self._cur, max_bytes, now, final=False)
        self._quiet_since = None if read is not None else self._quiet_since
        if read is None:
            return TailRead([], self.position(), events=events) if events else None
        read.events[:0] = events
        return read

    def _unfinished_archive(self, f: _Open, now: float) -> bool:
        """A gzip copy whose end was not reached yet: wait while it may still be being
        written (it grew within GZIP_WAIT seconds), rather than take it as complete."""
        if not isinstance(f.reader, _GzipReader) or f.reader.complete():
            return False
        size = os.fstat(f.reader.fd).st_size
        if f.grown != size:
            f.grown, f.grown_at = size, now
        return now - f.grown_at < GZIP_WAIT

    def position(self) -> FilePosition:
        f = self._backlog[0] if self._backlog else self._cur
        if f is None:
            return FilePosition(0, 0, 0, "", 0)
        return f.position()

    def _read(self, f: _Open, max_bytes: int, now: float, final: bool) -> TailRead | None:
        """Lines from ``f`` at its offset. ``final``: the file will not grow (rotated away), so
        a held multiline record is released at its end."""
        want = max(max_bytes, 1)
        while True:
            data = f.reader.read(f.offset, want)
            if not data:
                return None
            at_end = len(data) < want
            finished = not isinstance(f.reader, _GzipReader) or f.reader.complete()
            if final and at_end and finished and not data.endswith(self.newline):
                data += self.newline  # the file is finished: its last line is complete too
            split = split_lines(data, self.max_line_bytes, f.skipping, at_end, self.newline,
                                with_starts=self.multiline is not None)
            if split.lines or split.consumed or at_end:
                break
            want *= 2  # a partial line longer than one read: read far enough to find its end
        if self.multiline is not None:
            return self._join(f, data, split, now, final)
        self._advance(f, data, split.consumed)
        f.skipping = split.skipping
        if not split.lines:
            return None if not split.consumed else TailRead([], f.position())
        return TailRead(split.lines, f.position(), split.truncated)

    def _advance(self, f: _Open, data: bytes, consumed: int) -> None:
        if not consumed:
            return
        f.offset += consumed
        tail = data[max(0, consumed - MARK_BYTES):consumed]
        f.last = (f.last + tail)[-MARK_BYTES:] if len(tail) < MARK_BYTES else tail
        if f.head_len < HEAD_BYTES and f.offset > f.head_len:
            f.take_head()  # the file has grown past its short head: name it by more bytes

    # -- multiline --

    def _join(self, f: _Open, data: bytes, split: Split, now: float, final: bool) -> TailRead | None:
        ml = self.multiline
        assert ml is not None and split.starts is not None
        records: list[bytes] = []
        truncated: set[int] = set()
        record_starts: list[int] = []
        current: list[bytes] = []
        cut = False
        for i, line in enumerate(split.lines):
            if current and (ml.start.match(line) or len(current) >= ml.max_lines):
                records.append(b"\n".join(current))
                if cut:
                    truncated.add(len(records) - 1)
                current, cut = [], False
            if not current:
                record_starts.append(split.starts[i])
            current.append(line)
            cut = cut or i in split.truncated
        consumed = split.consumed
        if current:
            # The last record may go on: hold it (the offset stays at its start) unless the
            # time-out passed since it was first held, or the file is final.
            held_at = f.offset + record_starts[-1]
            since = self._held[1] if self._held is not None and self._held[0] == held_at else now
            too_big = sum(len(x) + 1 for x in current) > self.max_line_bytes
            if final or too_big or now - since >= ml.timeout:
                records.append(b"\n".join(current))
                if cut:
                    truncated.add(len(records) - 1)
                self._held = None
            else:
                consumed = record_starts[-1]
                self._held = (held_at, since)
        if split.skipping and consumed != split.consumed:
            consumed = split.consumed  # inside an over-long line: never hold it back
        self._advance(f, data, consumed)
        f.skipping = split.skipping if consumed == split.consumed else False
        joined = [r[: self.max_line_bytes] for r in records]
        truncated |= {i for i, r in enumerate(records) if len(r) > self.max_line_bytes}
        if not joined:
            return None
        return TailRead(joined, f.position(), truncated)
