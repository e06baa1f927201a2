"""Merkle roots and proofs agree with the naive RFC 6962 reference for trees up to 300 leaves."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from domain.audit.merkle import CompactTree, leaf_hash
from domain.audit.proofs import consistency_proof, inclusion_proof, subtrees_from_leaves
from domain.audit.verify import verify_consistency, verify_inclusion
from tests.unit.audit.reference import Reference

MAX = 300
sizes = st.integers(min_value=1, max_value=MAX)
blobs = st.lists(st.binary(max_size=12), min_size=1, max_size=MAX)


@settings(max_examples=60, deadline=None)
@given(data=blobs)
def test_compact_root_equals_the_reference_at_every_prefix(data: list[bytes]) -> None:
    """After each append the compact tree's root is MTH of the prefix."""
    ref = Reference(data)
    tree = CompactTree()
    for i, item in enumerate(data):
        tree.append(leaf_hash(item))
        assert tree.root() == ref.root(i + 1)
    assert CompactTree.from_bytes(tree.to_bytes()).root() == ref.root(len(data))


@settings(max_examples=150, deadline=None)
@given(size=sizes, pick=st.integers(min_value=0), seed=st.binary(min_size=1, max_size=4))
def test_inclusion_proof_equals_path_and_verifies(size: int, pick: int, seed: bytes) -> None:
    """Any leaf of any tree up to 300 leaves: proof = PATH, it verifies, a flipped bit does not."""
    data = [seed + i.to_bytes(2, "big") for i in range(size)]
    leaves = [leaf_hash(d) for d in data]
    ref = Reference(data)
    index = pick % size
    proof = inclusion_proof(index, size, subtrees_from_leaves(leaves))
    assert proof == ref.path(index, 0, size)
    assert verify_inclusion(leaves[index], index, size, proof, ref.root(size))
    if proof:
        bad = [*proof]
        bad[pick % len(bad)] = bytes([bad[pick % len(bad)][0] ^ 1]) + bad[pick % len(bad)][1:]
        assert not verify_inclusion(leaves[index], index, size, bad, ref.root(size))


@settings(max_examples=150, deadline=None)
@given(a=sizes, b=sizes, seed=st.binary(min_size=1, max_size=4))
def test_consistency_proof_equals_proof_and_verifies(a: int, b: int, seed: bytes) -> None:
    """Any two sizes up to 300: proof = PROOF(m, D[n]), it verifies, swapped roots do not."""
    size1, size2 = min(a, b), max(a, b)
    data = [seed + i.to_bytes(2, "big") for i in range(size2)]
    ref = Reference(data)
    proof = consistency_proof(size1, size2, subtrees_from_leaves([leaf_hash(d) for d in data]))
    assert proof == ref.proof(size1, size2)
    r1, r2 = ref.root(size1), ref.root(size2)
    assert verify_consistency(size1, size2, r1, r2, proof)
    if size1 < size2:
        assert not verify_consistency(size1, size2, r2, r1, proof)
        assert not verify_consistency(size1, size2, r1, r2, proof[1:])


@settings(max_examples=200, deadline=None)
@given(
    size=sizes,
    index=st.integers(min_value=0, max_value=MAX),
    proof=st.lists(st.binary(min_size=32, max_size=32), max_size=10),
    leaf=st.binary(min_size=32, max_size=32),
    root=st.binary(min_size=32, max_size=32),
)
def test_random_proofs_never_verify(
    size: int, index: int, proof: list[bytes], leaf: bytes, root: bytes
) -> None:
    """Arbitrary hashes are not a proof (and the verifier never raises)."""
    assume(leaf != root)
    assert not verify_inclusion(leaf, index, size, proof, root)
    assert not verify_consistency(index, size, leaf, root, proof)
