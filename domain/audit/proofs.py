"""RFC 6962 §2.1.1 inclusion proofs (audit paths) and §2.1.2 consistency proofs.

Every hash in a proof is the tree hash of a range [start, end) of leaves that RFC 6962's split
produces, and such a range (start a multiple of the next power of two ≥ its length) is the
right-to-left fold of at most log2(n) *perfect* subtrees. So proofs are computed from one
provider, `subtree(level, index) -> hash` of the perfect subtree over leaves
[index·2^level, (index+1)·2^level):

- a node store filled from `CompactTree.append_nodes` answers each call with one lookup. A
  proof reads fewer than 2·log2(n) nodes (at most one of its hashes is not itself a perfect
  subtree: the one on the right border); `inclusion_subtrees` and `consistency_subtrees` list
  them up front so a database fetches them in one query;
- `subtrees_from_leaves(leaves)` computes them from leaf hashes (a sequence, or a callable
  `leaf_hash(i)`), memoised: the first proof reads O(n) leaves, later ones reuse the cache.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from domain.audit.errors import ProofError
from domain.audit.merkle import node_hash

SubtreeHash = Callable[[int, int], bytes]
Range = tuple[int, int]


def _split(size: int) -> int:
    """The largest power of two strictly below `size` (size ≥ 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def range_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """The perfect subtrees `(level, index)` whose fold is the hash of leaves [start, end)."""
    if not 0 <= start < end:
        raise ProofError(f"empty or negative leaf range [{start}, {end})")
    if start % (1 << (end - start - 1).bit_length()):
        raise ProofError(f"leaf range [{start}, {end}) is not a subtree of an RFC 6962 tree")
    pieces: list[tuple[int, int]] = []
    while start < end:
        level = (end - start).bit_length() - 1
        pieces.append((level, start >> level))
        start += 1 << level
    return pieces


def range_hash(start: int, end: int, subtree: SubtreeHash) -> bytes:
    """The Merkle tree hash of leaves [start, end), a subtree of some RFC 6962 tree."""
    pieces = range_subtrees(start, end)
    h = subtree(*pieces[-1])
    for level, index in reversed(pieces[:-1]):
        h = node_hash(subtree(level, index), h)
    return h


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The leaf ranges whose hashes form PATH(index, D[size]), leaf level first."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    path: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        mid = start + _split(end - start)
        if index < mid:
            path.append((mid, end))
            end = mid
        else:
            path.append((start, mid))
            start = mid
    path.reverse()
    return path


def consistency_ranges(size1: int, size2: int) -> list[Range]:
    """The leaf ranges whose hashes form PROOF(size1, D[size2]) (empty when size1 = size2)."""
    if not 0 < size1 <= size2:
        raise ProofError(f"no consistency proof from size {size1} to size {size2}")
    proof: list[Range] = []
    start, end, m, whole = 0, size2, size1, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            proof.append((start + k, end))
            end = start + k
        else:
            proof.append((start, start + k))
            start, m, whole = start + k, m - k, False
    if not whole:
        proof.append((start, end))
    proof.reverse()
    return proof


def needed_subtrees(ranges: Sequence[Range]) -> set[tuple[int, int]]:
    """Every perfect subtree `(level, index)` the ranges' hashes are folded from."""
    return {piece for start, end in ranges for piece in range_subtrees(start, end)}


def inclusion_subtrees(index: int, size: int) -> set[tuple[int, int]]:
    """The perfect subtrees an inclusion proof reads (for one batched lookup)."""
    return needed_subtrees(inclusion_ranges(index, size))


def consistency_subtrees(size1: int, size2: int) -> set[tuple[int, int]]:
    """The perfect subtrees a consistency proof reads (for one batched lookup)."""
    return needed_subtrees(consistency_ranges(size1, size2))


def inclusion_proof(index: int, size: int, subtree: SubtreeHash) -> list[bytes]:
    """The RFC 6962 audit path of leaf `index` in the tree of the first `size` leaves."""
    return [range_hash(start, end, subtree) for start, end in inclusion_ranges(index, size)]


def consistency_proof(size1: int, size2: int, subtree: SubtreeHash) -> list[bytes]:
    """The RFC 6962 proof that the first `size1` leaves are a prefix of the first `size2`."""
    return [range_hash(start, end, subtree) for start, end in consistency_ranges(size1, size2)]


def subtrees_from_leaves(leaves: Sequence[bytes] | Callable[[int], bytes]) -> SubtreeHash:
    """A memoised `subtree(level, index)` computed from leaf hashes."""
    leaf = leaves if callable(leaves) else leaves.__getitem__
    cache: dict[tuple[int, int], bytes] = {}

    def subtree(level: int, index: int) -> bytes:
        if level == 0:
            return leaf(index)
        key = (level, index)
        h = cache.get(key)
        if h is None:
            h = node_hash(subtree(level - 1, 2 * index), subtree(level - 1, 2 * index + 1))
            cache[key] = h
        return h

    return subtree
