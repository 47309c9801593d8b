"""Merkle trees as RFC 9162 section 2.1 defines them, over SHA-256, and proofs that some of
their leaves are in them. Pure.

``MTH`` of leaf data ``d[0:n]``: for one leaf its **leaf hash** ``SHA-256(0x00 || d)``; for more,
``SHA-256(0x01 || MTH(d[0:k]) || MTH(d[k:n]))`` with ``k`` the largest power of two below
``n``. The 0x00/0x01 prefixes keep a leaf from passing for an inner node (domain separation).

A **multiproof** shows that several leaves, at known indices, are in a tree of known size: it
is the list of hashes of the largest subtrees holding none of them, in the order a
depth-first, left-to-right walk of the tree meets them (`root_from_proof`). For one leaf it
holds the same hashes as RFC 9162's inclusion proof, top-down instead of bottom-up; for a run
of neighbouring leaves it holds about ``2 log2(n)`` hashes, however long the run.

A head does not bind the number of leaves on its own (a proof may fit trees of several
sizes): whatever signs a head must sign the size with it, as RFC 9162's tree head does.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterator, Mapping, Sequence

__all__ = ["ProofError", "head", "leaf_hash", "leaf_hashes", "node_hash", "prove", "root", "root_from_proof"]

_LEAF, _NODE = b"\x00", b"\x01"
_sha256 = hashlib.sha256
# Sealing hashes every line twice (its leaf, about one inner node). Copying a hash that has
# already taken the prefix is 10 % cheaper than a new one per call (OpenSSL's set-up).
_leaf_copy, _node_copy = _sha256(_LEAF).copy, _sha256(_NODE).copy


class ProofError(ValueError):
    """A proof that does not fit the tree it is said to be for."""


def leaf_hash(data: bytes) -> bytes:
    return _sha256(_LEAF + data).digest()


def leaf_hashes(leaves: Sequence[bytes]) -> list[bytes]:
    """The leaf hash of each leaf's data."""
    out = []
    for d in leaves:
        h = _leaf_copy()
        h.update(d)
        out.append(h.digest())
    return out


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(_NODE + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def head(hashes: Sequence[bytes]) -> bytes:
    """The tree head (MTH) over leaves given by their leaf hashes, in order."""
    if not hashes:
        return _sha256(b"").digest()
    # Pairing level by level and carrying an unpaired last node up unchanged builds the same
    # tree as RFC 9162's split at the largest power of two, without recursion.
    level = list(hashes)
    while len(level) > 1:
        paired = []
        for i in range(0, len(level) - 1, 2):
            h = _node_copy()
            h.update(level[i] + level[i + 1])
            paired.append(h.digest())
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def root(leaves: Sequence[bytes]) -> bytes:
    """The tree head (MTH) over ``leaves`` (leaf data, in order)."""
    return head(leaf_hashes(leaves))


def prove(hashes: Sequence[bytes], indices: Sequence[int]) -> list[bytes]:
    """The multiproof that the leaves at ``indices`` are in the tree whose leaf hashes are
    ``hashes``."""
    wanted = sorted(set(indices))
    if not wanted or wanted[0] < 0 or wanted[-1] >= len(hashes):
        raise ProofError(f"indices must be within 0..{len(hashes) - 1}")
    proof: list[bytes] = []

    def walk(lo: int, hi: int, idx: list[int]) -> None:
        if not idx:
            proof.append(head(hashes[lo:hi]))
        elif hi - lo > 1:
            mid = lo + _split(hi - lo)
            cut = bisect.bisect_left(idx, mid)
            walk(lo, mid, idx[:cut])
            walk(mid, hi, idx[cut:])

    walk(0, len(hashes), wanted)
    return proof


def root_from_proof(size: int, known: Mapping[int, bytes], proof: Sequence[bytes]) -> bytes:
    """The tree head that the ``known`` leaf hashes (by index) and ``proof`` add up to, for a
    tree of ``size`` leaves. Compare it with the head you trust. Raises `ProofError` when the
    proof has too few or too many hashes, or an index is outside the tree."""
    wanted = sorted(known)
    if size < 1 or not wanted or wanted[0] < 0 or wanted[-1] >= size:
        raise ProofError(f"leaf indices must be within 0..{size - 1}")
    hashes: Iterator[bytes] = iter(proof)

    def walk(lo: int, hi: int, idx: list[int]) -> bytes:
        if not idx:
            found = next(hashes, None)
            if found is None or len(found) != 32:
                raise ProofError("the proof is too short or holds a hash that is not 32 bytes")
            return found
        if hi - lo == 1:
            return known[lo]
        mid = lo + _split(hi - lo)
        cut = bisect.bisect_left(idx, mid)
        return node_hash(walk(lo, mid, idx[:cut]), walk(mid, hi, idx[cut:]))

    top = walk(0, size, wanted)
    if next(hashes, None) is not None:
        raise ProofError("the proof holds more hashes than the tree needs")
    return top
