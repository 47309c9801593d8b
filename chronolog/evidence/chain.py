"""Each tenant's hash chain over its sealed segments, as a verifier recomputes it. Pure.

``link(n)`` commits to segment ``n`` and, through ``link(n-1)``, to every segment sealed before
it (``link(0)`` is 32 zero bytes). Two versions, told apart by whether the segment has a
records root (a Merkle tree head over its records' SHA-256, `chronolog.evidence.merkle`):

- v1, segments sealed before records roots:
  ``SHA-256("chronolog.chain.v1" 0x00 tenant 0x00 u64be(n) link(n-1) digest(n))``;
- v2: ``SHA-256("chronolog.chain.v2" 0x00 tenant 0x00 u64be(n) link(n-1) digest(n) records_root(n))``.

``digest(n)`` is the SHA-256 of the segment file after its key slot. The collector signs
``link(n)`` (and ``records_root(n)``) in a checkpoint at every seal.
"""

from __future__ import annotations

import hashlib
import struct

__all__ = ["GENESIS", "link"]

GENESIS = bytes(32)
_U64 = struct.Struct(">Q")


def link(tenant: str, number: int, prev: bytes, digest: bytes, records_root: bytes | None = None) -> bytes:
    h = hashlib.sha256(b"chronolog.chain.v1\0" if records_root is None else b"chronolog.chain.v2\0")
    for part in (tenant.encode(), b"\0", _U64.pack(number), prev, digest, records_root or b""):
        h.update(part)
    return h.digest()
