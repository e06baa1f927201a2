"""Reads on the tree model: its size and root, inclusion and consistency proofs, checkpoints."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from application.audit.ports import ConsistencyProof, InclusionProof, StoredCheckpoint, TreeHead
from domain.audit.errors import ProofError
from domain.audit.merkle import EMPTY_ROOT, CompactTree, node_hash
from domain.audit.proofs import (
    consistency_ranges,
    inclusion_ranges,
    needed_subtrees,
    range_hash,
)
from domain.shared.errors import InvalidError, NotFoundError
from projections.merkle import NODE_STRIDE, MerkleTables
from projections.schema import live_schema

Key = tuple[int, int]


def stored_pieces(needed: Iterable[Key]) -> tuple[set[int], set[Key]]:
    """The leaves and stored nodes whose hashes fold into every needed perfect subtree."""
    leaves: set[int] = set()
    nodes: set[Key] = set()
    for level, index in needed:
        base = level - level % NODE_STRIDE
        span = level - base
        for i in range(index << span, (index + 1) << span):
            if base == 0:
                leaves.add(i)
            else:
                nodes.add((base, i))
    return leaves, nodes


class SubtreeFolder:
    """`subtree(level, index)` from fetched leaves and stored nodes, folding missing levels."""

    def __init__(self, hashes: dict[Key, bytes]) -> None:
        self._hashes = hashes

    def __call__(self, level: int, index: int) -> bytes:
        key = (level, index)
        h = self._hashes.get(key)
        if h is None:
            if level == 0:
                raise ProofError(f"leaf {index} is not in the tree")
            h = node_hash(self(level - 1, 2 * index), self(level - 1, 2 * index + 1))
            self._hashes[key] = h
        return h


class TreeQueries:
    """The live tree model's reads."""

    def __init__(self, pool: AsyncConnectionPool[Any], schema: str | None = None) -> None:
        self._pool = pool
        self.tables = MerkleTables(schema or live_schema("merkle"))

    async def head(self) -> TreeHead:
        """The tree's size and root now, and the size after its last non-checkpoint event."""
        async with self._pool.connection() as conn:
            return await self._head(conn)

    async def _head(self, conn: AsyncConnection[Any]) -> TreeHead:
        t = self.tables
        cur = await conn.execute(
            f"SELECT s.tree, s.content_size, (SELECT position FROM {t.leaves}"
            f" ORDER BY leaf_index DESC LIMIT 1) FROM {t.state} s WHERE s.id = 1"
        )
        row = await cur.fetchone()
        if row is None:
            return TreeHead(0, EMPTY_ROOT, 0, 0)
        tree = CompactTree.from_bytes(bytes(row[0]))
        return TreeHead(tree.size, tree.root(), int(row[1]), int(row[2] or 0))

    async def leaf_index(self, position: int) -> int | None:
        """The leaf index of the event at `position` (None when the tree does not hold it)."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT leaf_index FROM {self.tables.leaves} WHERE position = %s", (position,)
            )
            row = await cur.fetchone()
        return int(row[0]) if row else None

    async def leaf_indices(self, positions: list[int]) -> dict[int, int]:
        """Leaf index of each position the tree holds."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT position, leaf_index FROM {self.tables.leaves} WHERE position = ANY(%s)",
                (positions,),
            )
            return {int(p): int(i) for p, i in await cur.fetchall()}

    async def _folder(self, conn: AsyncConnection[Any], needed: set[Key]) -> SubtreeFolder:
        leaves, nodes = stored_pieces(needed)
        t = self.tables
        hashes: dict[Key, bytes] = {}
        cur = await conn.execute(
            f"SELECT leaf_index, hash FROM {t.leaves} WHERE leaf_index = ANY(%s)",
            (sorted(leaves),),
        )
        for index, h in await cur.fetchall():
            hashes[(0, int(index))] = bytes(h)
        if nodes:
            levels, indices = zip(*sorted(nodes), strict=True)
            cur = await conn.execute(
                f"SELECT n.level, n.idx, n.hash FROM {t.nodes} n"
                " JOIN unnest(%s::smallint[], %s::bigint[]) AS k(level, idx)"
                " ON n.level = k.level AND n.idx = k.idx",
                (list(levels), list(indices)),
            )
            for level, index, h in await cur.fetchall():
                hashes[(int(level), int(index))] = bytes(h)
        return SubtreeFolder(hashes)

    def _check_size(self, name: str, size: int, head: TreeHead) -> None:
        if size > head.size:
            raise InvalidError(f"{name} {size} is beyond the tree's size ({head.size})")

    async def inclusion(self, position: int, tree_size: int | None) -> InclusionProof:
        """The audit path of the event at `position` in the tree of the first `tree_size` leaves."""
        async with self._pool.connection() as conn:
            head = await self._head(conn)
            size = head.size if tree_size is None else tree_size
            self._check_size("tree_size", size, head)
            cur = await conn.execute(
                f"SELECT leaf_index, hash FROM {self.tables.leaves} WHERE position = %s",
                (position,),
            )
            row = await cur.fetchone()
            if row is None:
                raise NotFoundError(f"no event at position {position} is in the tree")
            index, leaf = int(row[0]), bytes(row[1])
            if index >= size:
                raise InvalidError(
                    f"position {position} is leaf {index}, outside a tree of size {size}"
                )
            ranges = inclusion_ranges(index, size)
            folder = await self._folder(conn, needed_subtrees([*ranges, (0, size)]))
        path = [range_hash(start, end, folder) for start, end in ranges]
        return InclusionProof(position, index, size, leaf, path, range_hash(0, size, folder))

    async def consistency(self, first: int, second: int) -> ConsistencyProof:
        """The proof that the tree of `first` leaves is a prefix of the tree of `second`."""
        if first > second:
            raise InvalidError(f"from ({first}) must not be greater than to ({second})")
        async with self._pool.connection() as conn:
            head = await self._head(conn)
            self._check_size("to", second, head)
            if second == 0:
                return ConsistencyProof(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
            if first == 0:
                folder = await self._folder(conn, needed_subtrees([(0, second)]))
                return ConsistencyProof(
                    first, second, EMPTY_ROOT, range_hash(0, second, folder), []
                )
            ranges = consistency_ranges(first, second)
            folder = await self._folder(conn, needed_subtrees([*ranges, (0, first), (0, second)]))
        return ConsistencyProof(
            first,
            second,
            range_hash(0, first, folder),
            range_hash(0, second, folder),
            [range_hash(start, end, folder) for start, end in ranges],
        )

    async def root_at(self, size: int) -> bytes:
        """The root of the tree of the first `size` leaves (size ≤ the tree's)."""
        if size == 0:
            return EMPTY_ROOT
        async with self._pool.connection() as conn:
            folder = await self._folder(conn, needed_subtrees([(0, size)]))
        return range_hash(0, size, folder)

    async def checkpoints(self, limit: int, offset: int) -> tuple[int, list[StoredCheckpoint]]:
        """Signed checkpoints found in the log, newest first, with their total."""
        t = self.tables
        async with self._pool.connection() as conn:
            cur = await conn.execute(f"SELECT count(*) FROM {t.checkpoints}")
            total_row = await cur.fetchone()
            cur = await conn.execute(
                "SELECT position, tree_size, root_hash, signed_at, signature, key_fingerprint"
                f" FROM {t.checkpoints} ORDER BY tree_size DESC, position DESC"
                " LIMIT %s OFFSET %s",
                (limit, offset),
            )
            rows = [StoredCheckpoint(*row) for row in await cur.fetchall()]
        return (int(total_row[0]) if total_row else 0), rows

    async def latest_checkpoint(self) -> StoredCheckpoint | None:
        """The checkpoint of the largest tree, if any."""
        _, rows = await self.checkpoints(1, 0)
        return rows[0] if rows else None
