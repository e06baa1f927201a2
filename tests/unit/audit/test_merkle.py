"""Known answers and the compact tree's frontier, serialisation and completed nodes."""

from __future__ import annotations

from hashlib import sha256

import pytest

from domain.audit.merkle import EMPTY_ROOT, CompactTree, Subtree, leaf_hash, merkle_root, node_hash
from domain.audit.proofs import consistency_proof, inclusion_proof, subtrees_from_leaves
from domain.audit.verify import verify_consistency, verify_inclusion
from tests.unit.audit.reference import Reference

# The Certificate Transparency test vectors (RFC 6962 reference implementation's tests).
CT_LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243",
    "5051525354555657", "606162636465666768696a6b6c6d6e6f")]  # fmt: skip
CT_ROOTS = [bytes.fromhex(h) for h in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]  # fmt: skip
CT_INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
CT_CONSISTENCY = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip
CT_LEAF_HASHES = [leaf_hash(d) for d in CT_LEAVES]


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    """The empty tree's root is SHA-256 of the empty string."""
    assert CompactTree().root() == EMPTY_ROOT
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_leaf_and_node_hashes_use_the_domain_prefixes() -> None:
    """A leaf hashes 0x00 ‖ data and a node 0x01 ‖ left ‖ right."""
    assert leaf_hash(b"abc") == sha256(b"\x00abc").digest()
    assert node_hash(b"L" * 32, b"R" * 32) == sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()


def test_roots_match_the_certificate_transparency_vectors() -> None:
    """Roots of the first 1..8 CT test leaves are the published ones."""
    tree = CompactTree()
    for leaf, expected in zip(CT_LEAF_HASHES, CT_ROOTS, strict=True):
        tree.append(leaf)
        assert tree.root() == expected


def test_a_three_leaf_root_computed_by_hand() -> None:
    """Three leaves: H(1 ‖ H(1 ‖ a ‖ b) ‖ c), as RFC 6962 splits at 2."""
    a, b, c = (leaf_hash(x) for x in (b"a", b"b", b"c"))
    assert merkle_root([a, b, c]) == node_hash(node_hash(a, b), c)


@pytest.mark.parametrize(("index", "size", "path"), CT_INCLUSION)
def test_inclusion_proofs_match_the_ct_vectors(index: int, size: int, path: list[str]) -> None:
    """Audit paths equal the published CT vectors and verify."""
    proof = inclusion_proof(index, size, subtrees_from_leaves(CT_LEAF_HASHES))
    assert [p.hex() for p in proof] == path
    assert verify_inclusion(CT_LEAF_HASHES[index], index, size, proof, CT_ROOTS[size - 1])


@pytest.mark.parametrize(("size1", "size2", "path"), CT_CONSISTENCY)
def test_consistency_proofs_match_the_ct_vectors(size1: int, size2: int, path: list[str]) -> None:
    """Consistency proofs equal the published CT vectors and verify."""
    proof = consistency_proof(size1, size2, subtrees_from_leaves(CT_LEAF_HASHES))
    assert [p.hex() for p in proof] == path
    assert verify_consistency(size1, size2, CT_ROOTS[size1 - 1], CT_ROOTS[size2 - 1], proof)


def test_compact_tree_round_trips_through_bytes_at_every_size() -> None:
    """Saving and restoring the frontier gives a tree that keeps growing identically."""
    leaves = [leaf_hash(bytes([i])) for i in range(70)]
    ref = Reference([bytes([i]) for i in range(70)])
    tree = CompactTree()
    for i, leaf in enumerate(leaves):
        tree = CompactTree.from_bytes(tree.to_bytes())
        assert len(tree.to_bytes()) == 8 + 32 * i.bit_count()
        tree.append(leaf)
        assert tree.size == i + 1
        assert tree.root() == ref.root(i + 1)


def test_from_bytes_rejects_a_wrong_length() -> None:
    """A frontier whose length does not match its size is refused."""
    tree = CompactTree()
    tree.extend(CT_LEAF_HASHES[:3])
    data = tree.to_bytes()
    for bad in (data[:-1], data + b"\x00", b"\x00" * 7):
        with pytest.raises(ValueError, match="compact tree"):
            CompactTree.from_bytes(bad)


def test_append_nodes_returns_every_completed_perfect_subtree() -> None:
    """The nodes an append completes are exactly the reference's perfect subtrees ending there."""
    data = [bytes([i]) for i in range(40)]
    ref = Reference(data)
    tree = CompactTree()
    for i, item in enumerate(data):
        nodes = tree.append_nodes(leaf_hash(item))
        expected = []
        level = 0
        while (i + 1) % (1 << level) == 0:
            index = i >> level
            expected.append(Subtree(level, index, ref.mth(index << level, (index + 1) << level)))
            level += 1
        assert nodes == expected


def test_frontier_names_the_right_border_subtrees() -> None:
    """The frontier of 13 leaves is the subtrees [0,8), [8,12), [12,13)."""
    data = [bytes([i]) for i in range(13)]
    ref = Reference(data)
    tree = CompactTree()
    tree.extend(leaf_hash(d) for d in data)
    assert tree.frontier() == [
        Subtree(3, 0, ref.mth(0, 8)),
        Subtree(2, 2, ref.mth(8, 12)),
        Subtree(0, 12, ref.mth(12, 13)),
    ]
    assert tree.copy().root() == tree.root() == ref.root(13)
