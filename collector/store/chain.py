"""Each tenant's hash chain over its segments, and the signed records that anchor it.

The link of segment ``n`` commits to it and to every segment sealed before it
(`chronolog.evidence.chain.link`, shared with offline verifiers). At every seal the collector
appends a **checkpoint** ``{kind: seal, tenant, number, link, digest, records_root, sealed}``
signed with its Ed25519 key to the tenant's ``checkpoints.log`` (``records_root``, the Merkle
tree head over the segment's records, is absent for segments sealed before it existed); when
retention removes segments it appends a signed ``{kind: expire, numbers}``. An exported
checkpoint lets a third party check later that the chain still passes through it: that the
store was only appended to.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any, Protocol

import orjson

from chronolog.evidence.chain import GENESIS, link
from chronolog.evidence.signatures import canonical, signature_ok

__all__ = ["GENESIS", "CheckpointLog", "canonical", "chain_seal", "link", "seal_record", "signature_ok",
           "signed"]


class _Signs(Protocol):
    id: str

    def sign(self, data: bytes) -> bytes: ...


def signed(record: dict[str, Any], signer: _Signs) -> dict[str, Any]:
    out = {**record, "signer": signer.id}
    out["sig"] = base64.b64encode(signer.sign(canonical(out))).decode()
    return out


def seal_record(tenant: str, number: int, link_hex: str, digest_hex: str, records_root: str | None,
                sealed: int) -> dict[str, Any]:
    """The checkpoint of a seal, before signing (no ``records_root`` for a v1 segment)."""
    record: dict[str, Any] = {"kind": "seal", "tenant": tenant, "number": number, "link": link_hex,
                              "digest": digest_hex, "sealed": sealed}
    if records_root is not None:
        record["records_root"] = records_root
    return record


def chain_seal(tenant: str, number: int, prev: bytes, digest: bytes, header: dict[str, Any],
               signer: _Signs) -> tuple[bytes, dict[str, Any]]:
    """A new (v2) segment's link, from its sealed ``header``, and the signed checkpoint of its
    seal (both backends)."""
    root = header["records_root"]
    chained = link(tenant, number, prev, digest, bytes.fromhex(root))
    return chained, signed(seal_record(tenant, number, chained.hex(), digest.hex(), root, header["sealed"]),
                           signer)


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

    def export(self, public_key: str) -> dict[str, Any] | None:
        """The newest seal checkpoint with the public key that verifies it (None: none yet)."""
        seals = [r for r in self.read()[0] if r.get("kind") == "seal"]
        return {**seals[-1], "algorithm": "Ed25519", "public_key": public_key} if seals else None

    def _cut(self, size: int) -> None:
        try:
            with open(self.path, "r+b") as f:
                f.truncate(size)
                os.fsync(f.fileno())
        except OSError:
            pass  # read-only (a backup being checked): leaving the torn line is harmless
