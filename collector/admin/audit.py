"""The audit trail: who did what, as a hash chain of signed entries in ``data_dir/audit.log``.

Every administrator request (dry runs and refusals included), every administrator login
attempt, every investigator read (``/v1/query``, ``/v1/streams``, ``/v1/audit``) and every
local operation on the data directory (restore, master key rotation, admin accounts,
credentials) is one JSON line::

    {"n": 7, "at": ..., "action": "erase", "tenant": "city", "outcome": "dry_run",
     "credential": ..., "name": ..., "role": ..., "details": {...},
     "prev": "<SHA-256 of line 6, hex>", "signer": "sk-...", "sig": "<Ed25519, base64>"}

``prev`` chains each entry to the exact bytes of the one before (the first to 32 zero bytes),
and each entry is signed with the store's Ed25519 key (the checkpoint signer, wrapped by the
master key), so an entry cannot be rewritten, removed or moved without `verify_trail`
(audit_verify.py) naming it, and cannot be re-signed without the master key. An entry is
written and fsync'd before the answer it records leaves.

Writers in several processes (the collector, and ``chronolog-collector`` commands beside it)
append under an exclusive ``flock`` of the file and take the head from the file itself, so
the chain never forks. A line torn by a crash is cut away by the next writer: its answer
never left.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import orjson
from aiohttp import web

from chronolog.fsutil import keep_owner, write_all
from chronolog.timefmt import now_us, to_rfc3339
from collector.auth.credentials import Principal
from collector.store.chain import signed

__all__ = ["AUDIT", "GENESIS_HEX", "AuditTrail", "Signs", "entry_digest", "parsed"]

GENESIS_HEX = "0" * 64
_TAIL_READ = 1 << 16
MAX_NAME = 64  # a name given at login is the caller's text: kept short


class Signs(Protocol):
    """What signs entries: the store's `collector.store.keys.Signer`."""

    id: str

    def sign(self, data: bytes) -> bytes: ...


def entry_digest(line: bytes) -> str:
    """The SHA-256 (hex) of an entry's line, without its newline: the next entry's ``prev``."""
    return hashlib.sha256(line).hexdigest()


class AuditTrail:
    """Appends signed, chained entries; ``on_entry`` sees every entry appended (by this
    process or, when noticed, by another) in order, e.g. to count guarded operations."""

    def __init__(self, path: Path, signer: Signs,
                 on_entry: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.path = path
        self._signer = signer
        self._on_entry = on_entry
        self._lock = threading.Lock()
        self._size = 0  # where this process last saw the file end
        self._head = (0, GENESIS_HEX)  # (n, digest) of the last entry

    def open(self) -> AuditTrail:
        """Read the trail once (feeding ``on_entry``) and cut a torn last line (blocking)."""
        with self._lock, self._locked_fd() as fd:
            self._catch_up(fd)
        return self

    def append(self, principal: Principal | None, action: str, tenant: str | None, outcome: str,
               details: dict[str, Any] | None = None, *, name: str | None = None) -> dict[str, Any]:
        """Write one entry durably and return it. ``name`` stands in for who, when there is
        no principal (a failed login names the account it tried)."""
        entry: dict[str, Any] = {
            "at": to_rfc3339(now_us(), "UTC"), "action": action, "tenant": tenant, "outcome": outcome,
            "credential": principal.credential_id if principal else None,
            "name": principal.name if principal else (name[:MAX_NAME] if name else None),
            "role": principal.role if principal else None,
            "details": details or {},
        }
        with self._lock, self._locked_fd() as fd:
            self._catch_up(fd)
            n, prev = self._head
            entry = signed({"n": n + 1, **entry, "prev": prev}, self._signer)
            line = orjson.dumps(entry)
            os.lseek(fd, self._size, os.SEEK_SET)
            write_all(fd, line + b"\n")
            os.fsync(fd)
            self._size += len(line) + 1
            self._head = (n + 1, entry_digest(line))
        if self._on_entry is not None:
            self._on_entry(entry)
        return entry

    async def record(self, principal: Principal | None, action: str, tenant: str | None, outcome: str,
                     details: dict[str, Any] | None = None, *, name: str | None = None) -> dict[str, Any]:
        """`append` off the event loop (it waits for an fsync)."""
        return await asyncio.to_thread(self.append, principal, action, tenant, outcome, details, name=name)

    def lines(self) -> list[bytes]:
        """Every complete line of the trail as stored (for verification and reading)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        return data.split(b"\n")[:-1]  # the part after the last newline is torn or empty

    def entries(self) -> Iterator[dict[str, Any]]:
        """The entries that parse, in file order (verification is `audit_verify.verify_trail`)."""
        yield from parsed(self.lines())

    @property
    def head(self) -> tuple[int, str]:
        """(number, digest) of the newest entry this process knows of."""
        return self._head

    # ---- under the lock ------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked_fd(self) -> Iterator[int]:
        """The trail's file, open and exclusively locked against every other writer."""
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            keep_owner(fd, self.path)
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)  # also releases the flock

    def _catch_up(self, fd: int) -> None:
        """Bring the head up to the file's end: read what others appended since we last
        looked (all of it the first time), and cut a torn last line."""
        end = os.fstat(fd).st_size
        if end == self._size:
            return
        start = self._size if end > self._size else 0  # shorter than we knew: start over
        if start == 0:
            self._head = (0, GENESIS_HEX)
        data = os.pread(fd, end - start, start)
        cut = data.rfind(b"\n") + 1
        if cut < len(data):  # a torn last line: its writer died before answering
            os.ftruncate(fd, start + cut)
            os.fsync(fd)
        for line in data[:cut].split(b"\n")[:-1]:
            self._advance(line)
        self._size = start + cut

    def _advance(self, line: bytes) -> None:
        # New entries chain to the file as it is and number past the highest number seen;
        # a damaged or misplaced line is verify's to name, not the writer's to hide.
        try:
            entry = orjson.loads(line)
            n = int(entry["n"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            self._head = (self._head[0] + 1, entry_digest(line))
            return
        self._head = (max(n, self._head[0]), entry_digest(line))
        if self._on_entry is not None:
            self._on_entry(entry)


def parsed(lines: list[bytes]) -> Iterator[dict[str, Any]]:
    """The entries among a trail's lines that parse, in order."""
    for line in lines:
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(entry, dict):
            yield entry


AUDIT = web.AppKey("audit", AuditTrail)
