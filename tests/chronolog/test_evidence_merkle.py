"""Merkle trees as RFC 9162 defines them, and multiproofs: every set of leaves proves against
the head, and any change to a leaf, an index or the proof does not."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chronolog.evidence import merkle


def rfc9162_mth(leaves: list[bytes]) -> bytes:
    """MTH exactly as RFC 9162 section 2.1.1 words it (recursive split at the largest power
    of two smaller than n), to check the iterative one against."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + rfc9162_mth(leaves[:k]) + rfc9162_mth(leaves[k:])).digest()


def data(n: int) -> list[bytes]:
    return [hashlib.sha256(str(i).encode()).digest() for i in range(n)]


def test_known_heads_of_small_trees() -> None:
    # Computed by hand from the definition: one leaf, two leaves, three leaves.
    a, b, c = b"a", b"b", b"c"
    la, lb, lc = (hashlib.sha256(b"\x00" + x).digest() for x in (a, b, c))
    assert merkle.root([a]) == la
    assert merkle.root([a, b]) == hashlib.sha256(b"\x01" + la + lb).digest()
    ab = hashlib.sha256(b"\x01" + la + lb).digest()
    assert merkle.root([a, b, c]) == hashlib.sha256(b"\x01" + ab + lc).digest()
    assert merkle.root([]) == hashlib.sha256(b"").digest()


@settings(deadline=None)  # no timing assertions: the machine is shared
@given(st.integers(min_value=1, max_value=300))
def test_the_iterative_head_is_rfc_9162s(n: int) -> None:
    assert merkle.root(data(n)) == rfc9162_mth(data(n))


@settings(deadline=None)
@given(st.data())
def test_any_set_of_leaves_proves_against_the_head(draw: st.DataObject) -> None:
    n = draw.draw(st.integers(min_value=1, max_value=200))
    indices = draw.draw(st.sets(st.integers(min_value=0, max_value=n - 1), min_size=1))
    hashes = merkle.leaf_hashes(data(n))
    proof = merkle.prove(hashes, sorted(indices))
    assert merkle.root_from_proof(n, {i: hashes[i] for i in indices}, proof) == merkle.root(data(n))


def test_a_single_leaf_needs_the_rfc_inclusion_path_length() -> None:
    # Leaf 5 of 13: the RFC 9162 audit path has 4 hashes (ceil(log2 13)).
    assert len(merkle.prove(merkle.leaf_hashes(data(13)), [5])) == 4
    # A run of neighbours costs about two paths, not one per leaf.
    assert len(merkle.prove(merkle.leaf_hashes(data(4096)), list(range(1000, 3000)))) <= 2 * 12


def test_a_changed_leaf_moved_index_or_altered_proof_gives_another_head() -> None:
    leaves = merkle.leaf_hashes(data(37))
    head = merkle.head(leaves)
    proof = merkle.prove(leaves, [3, 4, 20])
    known = {3: leaves[3], 4: leaves[4], 20: leaves[20]}
    assert merkle.root_from_proof(37, known, proof) == head
    assert merkle.root_from_proof(37, {**known, 4: b"x" * 32}, proof) != head
    assert merkle.root_from_proof(37, {3: leaves[3], 5: leaves[4], 20: leaves[20]}, proof) != head
    assert merkle.root_from_proof(37, {3: leaves[4], 4: leaves[3], 20: leaves[20]}, proof) != head
    bent = list(proof)
    bent[1] = bytes(32)
    assert merkle.root_from_proof(37, known, bent) != head
    # The head alone does not bind the tree's size (38 leaves can end in the same head here):
    # what signs a head must sign the size with it, as RFC 9162's tree head does.
    assert merkle.root_from_proof(38, known, proof) == head


def test_a_proof_of_the_wrong_length_or_range_is_refused() -> None:
    leaves = merkle.leaf_hashes(data(10))
    proof = merkle.prove(leaves, [2])
    with pytest.raises(merkle.ProofError, match="too short"):
        merkle.root_from_proof(10, {2: leaves[2]}, proof[:-1])
    with pytest.raises(merkle.ProofError, match="more hashes"):
        merkle.root_from_proof(10, {2: leaves[2]}, [*proof, bytes(32)])
    with pytest.raises(merkle.ProofError, match="within"):
        merkle.root_from_proof(10, {10: leaves[2]}, proof)
    with pytest.raises(merkle.ProofError, match="within"):
        merkle.prove(leaves, [])
