"""Each tenant's hash chain over its segments, and the signed records that anchor it.

``link(n) = SHA-256("chronolog.chain.v1" 0 tenant 0 n link(n-1) digest(n))`` with ``link(0)`` 32
zero bytes: a segment's link commits to every segment sealed before it. At every seal the
collector appends a **checkpoint** ``{kind: seal, tenant, number, link, digest, sealed}`` signed
with its Ed25519 key to the tenant's ``checkpoints.log``; when retention removes segments it
appends a signed ``{kind: expire, numbers}``. An exported checkpoint lets a third party check
later that the chain still passes through it: that the store was only appended to.
"""

from __future__ import annotations

import base64
import os
import struct
from pathlib import Path
from typing import Any, Protocol

import orjson

from collector.store.crypto import sha256, signature_valid

__all__ = ["GENESIS", "CheckpointLog", "canonical", "link", "signature_ok", "signed"]

GENESIS = bytes(32)
_U64 = struct.Struct(">Q")


def link(tenant: str, number: int, prev: bytes, digest: bytes) -> bytes:
    return sha256(b"chronolog.chain.v1\0", tenant.encode(), b"\0", _U64.pack(number), prev, digest)


class _Signs(Protocol):
    id: str

    def sign(self, data: bytes) -> bytes: ...


def canonical(record: dict[str, Any]) -> bytes:
    """The bytes a signature covers: the record without ``sig``, keys sorted."""
    return orjson.dumps({k: v for k, v in record.items() if k != "sig"}, option=orjson.OPT_SORT_KEYS)


def signed(record: dict[str, Any], signer: _Signs) -> dict[str, Any]:
    out = {**record, "signer": signer.id}
    out["sig"] = base64.b64encode(signer.sign(canonical(out))).decode()
    return out


def signature_ok(record: dict[str, Any], public_key: bytes) -> bool:
    try:
        sig = base64.b64decode(str(record.get("sig", "")), validate=True)
    except ValueError:
        return False
    return signature_valid(public_key, sig, canonical(record))


class CheckpointLog:
    """A tenant's signed chain records, one JSON object per line, appended with fsync."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, record: dict[str, Any]) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, orjson.dumps(record) + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(self, repair: bool = False) -> tuple[list[dict[str, Any]], list[str]]:
        """The records, and a description of every line that is not one. A torn last line
        is left out without complaint (the crash that tore it also kept it from counting);
        ``repair`` cuts it away, which only the store's owner may do, at open."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return [], []
        lines = data.split(b"\n")
        torn = lines.pop()  # b"" when the file ends with a newline
        records, bad = [], []
        for number, line in enumerate(lines, 1):
            try:
                record = orjson.loads(line)
                if not isinstance(record, dict):
                    raise ValueError
                records.append(record)
            except (orjson.JSONDecodeError, ValueError):
                bad.append(f"{self.path.name} line {number} is not a record")
        if torn and repair:
            self._cut(len(data) - len(torn))
        return records, bad

    def _cut(self, size: int) -> None:
        try:
            with open(self.path, "r+b") as f:
                f.truncate(size)
                os.fsync(f.fileno())
        except OSError:
            pass  # read-only (a backup being checked): leaving the torn line is harmless
