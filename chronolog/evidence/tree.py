"""A segment's records root: how it is made from the SHA-256 of its records. Pure.

A segment's lines are sealed in blocks. Two levels of RFC 9162 Merkle trees (`merkle`):

- a **block root** is ``MTH`` over the block's records (each record's leaf hash is
  ``SHA-256(0x00 || record)``), in block order;
- the **records root** is ``SHA-256("chronolog.records.v1" 0x00 u64be(B) MTH(L))`` where ``L``
  holds one leaf per block, ``u64be(lines in the block) || block root``, and ``B`` is the
  number of blocks.

The sizes are inside what is signed (the records root is in the checkpoint and the chain
link), as RFC 9162 signs a tree's size with its head: a proof cannot be replayed against a
tree of another size. Proving a few lines takes their block's multiproof and the segment's
multiproof over the blocks they sit in; no other line is handed over.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence

from chronolog.evidence import merkle

__all__ = ["block_leaf", "records_root", "records_root_of"]

_U64 = struct.Struct(">Q")
_DOMAIN = b"chronolog.records.v1\0"


def block_leaf(lines: int, block_root: bytes) -> bytes:
    """A block's leaf in the segment's tree: its line count and its root."""
    return _U64.pack(lines) + block_root


def records_root_of(blocks: int, upper_head: bytes) -> bytes:
    """The records root from the number of blocks and the head of the tree over their leaves."""
    return hashlib.sha256(_DOMAIN + _U64.pack(blocks) + upper_head).digest()


def records_root(blocks: Sequence[tuple[int, bytes]]) -> bytes:
    """The records root of a segment whose blocks have these ``(lines, block root)``."""
    return records_root_of(len(blocks), merkle.root([block_leaf(n, r) for n, r in blocks]))
