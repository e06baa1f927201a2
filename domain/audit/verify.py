"""Proof verification exactly as RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency) say.

Edge cases the RFC leaves to the caller: an inclusion proof needs 0 ≤ index < size; a consistency
proof between equal sizes is empty and holds when the roots are equal; the empty tree (size 0,
root SHA-256("")) is consistent with every tree through an empty proof. Every hash must be
32 bytes. Verifiers answer a bool; `root_from_inclusion` raises `ProofError` instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from hmac import compare_digest

from domain.audit.errors import ProofError
from domain.audit.merkle import EMPTY_ROOT, HASH_SIZE, node_hash


def _is_hash(value: bytes) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def root_from_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root an inclusion proof implies for `leaf` at `index` (RFC 9162 §2.1.3.2 steps 1-4)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    if not _is_hash(leaf) or not all(_is_hash(p) for p in proof):
        raise ProofError("every hash must be 32 bytes")
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            raise ProofError("the proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the proof is shorter than the path to the root")
    return r


def verify_inclusion(
    leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether `proof` shows leaf hash `leaf` at `index` in the tree of `tree_size` with `root`."""
    try:
        computed = root_from_inclusion(leaf, index, tree_size, proof)
    except ProofError:
        return False
    return _is_hash(root) and compare_digest(computed, root)


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether `proof` shows the tree (size1, root1) is a prefix of the tree (size2, root2)."""
    if not (_is_hash(root1) and _is_hash(root2) and all(_is_hash(p) for p in proof)):
        return False
    if not 0 <= size1 <= size2:
        return False
    if size1 == size2:
        return not proof and compare_digest(root1, root2)
    if size1 == 0:
        return not proof and compare_digest(root1, EMPTY_ROOT)
    if not proof:
        return False
    return _consistency_path(size1, size2, root1, root2, list(proof))


def _consistency_path(
    size1: int, size2: int, root1: bytes, root2: bytes, path: list[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2 steps 2-7 for 0 < size1 < size2 and a non-empty path."""
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and compare_digest(fr, root1) and compare_digest(sr, root2)
