"""Proofs against the naive reference, exhaustively for small trees, and the verifiers' refusals."""

from __future__ import annotations

import pytest

from domain.audit.errors import ProofError
from domain.audit.merkle import EMPTY_ROOT, CompactTree, leaf_hash
from domain.audit.proofs import (
    consistency_proof,
    consistency_subtrees,
    inclusion_proof,
    inclusion_subtrees,
    range_hash,
    range_subtrees,
    subtrees_from_leaves,
)
from domain.audit.verify import (
    root_from_inclusion,
    verify_consistency,
    verify_inclusion,
)
from domain.shared.errors import InvalidError
from tests.unit.audit.reference import Reference

SMALL = 40
DATA = [i.to_bytes(2, "big") for i in range(SMALL)]
LEAVES = [leaf_hash(d) for d in DATA]
REF = Reference(DATA)
SUBTREE = subtrees_from_leaves(LEAVES)
OTHER = b"\xab" * 32


def test_every_inclusion_proof_of_small_trees_matches_the_reference() -> None:
    """For every size ≤ 40 and every index the audit path is RFC 6962's PATH and verifies."""
    for size in range(1, SMALL + 1):
        root = REF.root(size)
        for index in range(size):
            proof = inclusion_proof(index, size, SUBTREE)
            assert proof == REF.path(index, 0, size)
            assert verify_inclusion(LEAVES[index], index, size, proof, root)
            assert root_from_inclusion(LEAVES[index], index, size, proof) == root


def test_every_consistency_proof_of_small_trees_matches_the_reference() -> None:
    """For every pair of sizes ≤ 40 the proof is RFC 6962's PROOF and verifies."""
    for size2 in range(1, SMALL + 1):
        for size1 in range(1, size2 + 1):
            proof = consistency_proof(size1, size2, SUBTREE)
            assert proof == REF.proof(size1, size2)
            assert verify_consistency(size1, size2, REF.root(size1), REF.root(size2), proof)


def test_inclusion_rejects_each_corruption_for_every_small_index() -> None:
    """Wrong index, size, leaf, root, or a changed, dropped or added hash all fail."""
    for size in range(1, 17):
        root = REF.root(size)
        for index in range(size):
            proof = inclusion_proof(index, size, SUBTREE)
            leaf = LEAVES[index]
            assert not verify_inclusion(leaf, index + 1, size, proof, root)
            assert not verify_inclusion(leaf, index ^ 2, size, proof, root) or index ^ 2 == index
            assert not verify_inclusion(leaf, index, size * 2, proof, root)
            assert not verify_inclusion(OTHER, index, size, proof, root)
            assert not verify_inclusion(leaf, index, size, proof, OTHER)
            assert not verify_inclusion(leaf, index, size, [*proof, root], root)
            assert not verify_inclusion(leaf, index, size, [root, *proof], root)
            for i in range(len(proof)):
                bad = [*proof]
                bad[i] = bytes([bad[i][0] ^ 8]) + bad[i][1:]
                assert not verify_inclusion(leaf, index, size, bad, root)
            if proof:
                assert not verify_inclusion(leaf, index, size, proof[:-1], root)


def test_consistency_rejects_each_corruption() -> None:
    """Swapped or wrong roots, a changed, dropped or added hash, or other sizes all fail."""
    for size2 in range(2, 17):
        for size1 in range(1, size2):
            proof = consistency_proof(size1, size2, SUBTREE)
            r1, r2 = REF.root(size1), REF.root(size2)
            assert not verify_consistency(size1, size2, r2, r1, proof)
            assert not verify_consistency(size1, size2, OTHER, r2, proof)
            assert not verify_consistency(size1, size2, r1, OTHER, proof)
            assert not verify_consistency(size1, size2, r1, r2, [])
            assert not verify_consistency(size1, size2, r1, r2, [*proof, r1])
            assert not verify_consistency(size1, size2, r1, r2, [r2, *proof])
            assert not verify_consistency(size1, size2, r1, r2, proof[:-1])
            assert not verify_consistency(size2, size1, r2, r1, proof)
            for i in range(len(proof)):
                bad = [*proof]
                bad[i] = bytes([bad[i][0] ^ 16]) + bad[i][1:]
                assert not verify_consistency(size1, size2, r1, r2, bad)


def test_consistency_edge_cases() -> None:
    """Equal sizes need equal roots and no proof; the empty tree is a prefix of every tree."""
    r3 = REF.root(3)
    assert verify_consistency(3, 3, r3, r3, [])
    assert not verify_consistency(3, 3, r3, REF.root(4), [])
    assert not verify_consistency(3, 3, r3, r3, [r3])
    assert verify_consistency(0, 5, EMPTY_ROOT, REF.root(5), [])
    assert not verify_consistency(0, 5, r3, REF.root(5), [])
    assert not verify_consistency(0, 5, EMPTY_ROOT, REF.root(5), [r3])
    assert not verify_consistency(-1, 5, EMPTY_ROOT, REF.root(5), [])
    assert not verify_consistency(2, 5, b"short", REF.root(5), [r3])


def test_inclusion_edge_cases() -> None:
    """A one-leaf tree's root is its leaf; indices outside the tree and short hashes fail."""
    assert verify_inclusion(LEAVES[0], 0, 1, [], LEAVES[0])
    assert not verify_inclusion(LEAVES[0], 0, 0, [], EMPTY_ROOT)
    assert not verify_inclusion(LEAVES[0], 1, 1, [], LEAVES[0])
    assert not verify_inclusion(LEAVES[0], -1, 1, [], LEAVES[0])
    assert not verify_inclusion(b"x", 0, 1, [], b"x")
    with pytest.raises(ProofError, match="outside"):
        root_from_inclusion(LEAVES[0], 3, 3, [])


def test_proofs_refuse_impossible_requests() -> None:
    """Indices outside the tree, sizes out of order and unaligned ranges are invalid input."""
    for call in (
        lambda: inclusion_proof(5, 5, SUBTREE),
        lambda: consistency_proof(0, 5, SUBTREE),
        lambda: consistency_proof(6, 5, SUBTREE),
        lambda: range_subtrees(1, 3),
        lambda: range_subtrees(4, 4),
    ):
        with pytest.raises(ProofError) as caught:
            call()
        assert isinstance(caught.value, InvalidError)


def test_range_hash_folds_perfect_subtrees() -> None:
    """[8, 13) is [8,12) ‖ [12,13) and its hash is the reference's."""
    assert range_subtrees(8, 13) == [(2, 2), (0, 12)]
    assert range_hash(8, 13, SUBTREE) == REF.mth(8, 13)
    assert range_hash(0, 40, SUBTREE) == REF.root(40)


def test_a_node_store_of_completed_subtrees_answers_proofs() -> None:
    """Proofs read only stored nodes from `append_nodes`, and the listed ones suffice."""
    store: dict[tuple[int, int], bytes] = {}
    tree = CompactTree()
    for leaf in LEAVES:
        store.update(((n.level, n.index), n.hash) for n in tree.append_nodes(leaf))
    for size in (1, 7, 16, 29, 40):
        for index in range(size):
            needed = inclusion_subtrees(index, size)
            only = {key: store[key] for key in needed}
            proof = inclusion_proof(index, size, lambda level, i, only=only: only[(level, i)])
            assert proof == REF.path(index, 0, size)
    needed = consistency_subtrees(13, 40)
    only = {key: store[key] for key in needed}
    proof = consistency_proof(13, 40, lambda level, i: only[(level, i)])
    assert proof == REF.proof(13, 40)


def test_subtrees_from_a_leaf_callable() -> None:
    """A callable leaf source gives the same proofs as a sequence."""
    from_callable = subtrees_from_leaves(lambda i: LEAVES[i])
    assert inclusion_proof(9, 23, from_callable) == inclusion_proof(9, 23, SUBTREE)


def test_a_proof_reads_fewer_than_two_log_n_stored_nodes() -> None:
    """The documented bound: inclusion and consistency proofs read < 2·log2(n) + 1 subtrees."""
    for size in range(1, 300):
        bound = 2 * size.bit_length()
        assert all(len(inclusion_subtrees(i, size)) <= bound for i in range(size))
        assert all(len(consistency_subtrees(m, size)) <= bound for m in range(1, size + 1))
