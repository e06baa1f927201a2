"""The tamper-evidence tree: every stored event, in position order, is one leaf (ADR 0010).

Rows kept so proofs need no recomputation from the store:

- `merkle_state`: the compact tree (right frontier, `CompactTree.to_bytes`) and the size after the
  last event that is not a checkpoint (the checkpointer signs only when real events arrived);
- `merkle_leaves`: each leaf's index, the event's position, aggregate id and version, and the
  leaf hash — the reference `verify` compares the recomputed store against;
- `merkle_nodes`: the perfect subtrees at levels 4, 8, 12, …, as the appends complete them. A
  proof's subtree at another level folds at most 8 stored hashes of the level below it, so a proof
  reads < 16·log2(n) hashes in two queries while the nodes take only 1/15 of the leaves' rows;
- `checkpoints`: the signed checkpoints found in the log (events, so a rebuild keeps them).

Deterministic: the same events give the same rows, so the model can be rebuilt at any time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from psycopg import AsyncConnection

from domain.audit.canonical import BATCH_TOPIC, event_leaf_hash
from domain.audit.merkle import CompactTree
from domain.history.tamper import TreeCheckpoint
from domain.shared.topics import topic_of
from projections.base import Envelope, Tabled

NODE_STRIDE = 4  # levels stored in merkle_nodes are multiples of this
CHECKPOINT_TOPIC = topic_of(TreeCheckpoint.Signed)


@dataclass(frozen=True, slots=True)
class MerkleTables:
    """The tree model's tables in one schema."""

    schema: str

    @property
    def state(self) -> str:
        return f"{self.schema}.merkle_state"

    @property
    def leaves(self) -> str:
        return f"{self.schema}.merkle_leaves"

    @property
    def nodes(self) -> str:
        return f"{self.schema}.merkle_nodes"

    @property
    def checkpoints(self) -> str:
        return f"{self.schema}.merkle_checkpoints"

    def all(self) -> tuple[str, ...]:
        """Every table of the model."""
        return (self.state, self.leaves, self.nodes, self.checkpoints)

    def statements(self) -> tuple[str, ...]:
        """DDL creating every table and index (idempotent)."""
        return (
            f"CREATE TABLE IF NOT EXISTS {self.state} (id smallint PRIMARY KEY CHECK (id = 1),"
            " tree bytea NOT NULL, content_size bigint NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.leaves} (leaf_index bigint PRIMARY KEY,"
            " position bigint NOT NULL UNIQUE, originator_id uuid NOT NULL,"
            " originator_version bigint NOT NULL, hash bytea NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS merkle_leaves_origin ON {self.leaves}"
            " (originator_id, originator_version)",
            f"CREATE TABLE IF NOT EXISTS {self.nodes} (level smallint NOT NULL,"
            " idx bigint NOT NULL, hash bytea NOT NULL, PRIMARY KEY (level, idx))",
            f"CREATE TABLE IF NOT EXISTS {self.checkpoints} (position bigint PRIMARY KEY,"
            " tree_size bigint NOT NULL, root_hash text NOT NULL, signed_at text NOT NULL,"
            " signature text NOT NULL, key_fingerprint text NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS merkle_checkpoints_size ON {self.checkpoints}"
            " (tree_size DESC, position DESC)",
        )


@dataclass(slots=True)
class _Rows:
    leaves: list[tuple[Any, ...]]
    nodes: list[tuple[int, int, bytes]]
    checkpoints: list[tuple[Any, ...]]
    content_size: int


def _hash_batch(tree: CompactTree, content_size: int, batch: Sequence[Envelope]) -> _Rows:
    """Append every event's leaf; the rows to write (pure CPU, run off the event loop)."""
    rows = _Rows([], [], [], content_size)
    for envelope in batch:
        n = envelope.stored
        leaf = event_leaf_hash(
            envelope.position, n.originator_id, n.originator_version, n.topic, n.state
        )
        index = tree.size
        for node in tree.append_nodes(leaf):
            if node.level and node.level % NODE_STRIDE == 0:
                rows.nodes.append((node.level, node.index, node.hash))
        rows.leaves.append((index, envelope.position, n.originator_id, n.originator_version, leaf))
        event = envelope.event
        if isinstance(event, TreeCheckpoint.Signed):
            rows.checkpoints.append(
                (
                    envelope.position,
                    event.tree_size,
                    event.root_hash,
                    event.signed_at,
                    event.signature,
                    event.key_fingerprint,
                )
            )
        else:
            rows.content_size = tree.size
    return rows


class MerkleProjection(Tabled[MerkleTables]):
    """Appends every stored event to the tree (all topics)."""

    name = "merkle"
    version = 1
    topics: tuple[str, ...] = ()  # every event is a leaf
    # A batch's leaf comes from its stored bytes: its records are not decoded (ADR 0023).
    undecoded = frozenset({BATCH_TOPIC})

    def __init__(self, schema: str) -> None:
        super().__init__(schema)
        self.tables = MerkleTables(schema)

    async def apply(self, conn: AsyncConnection[Any], batch: Sequence[Envelope]) -> None:
        t = self.tables
        async with conn.cursor() as cur:
            await cur.execute(f"SELECT tree, content_size FROM {t.state} WHERE id = 1")
            row = await cur.fetchone()
            tree = CompactTree.from_bytes(bytes(row[0])) if row else CompactTree()
            content_size = int(row[1]) if row else 0
            rows = await anyio.to_thread.run_sync(_hash_batch, tree, content_size, batch)
            async with cur.copy(
                f"COPY {t.leaves} (leaf_index, position, originator_id, originator_version, hash)"
                " FROM STDIN"
            ) as copy:
                for leaf in rows.leaves:
                    await copy.write_row(leaf)
            if rows.nodes:
                async with cur.copy(f"COPY {t.nodes} (level, idx, hash) FROM STDIN") as copy:
                    for node in rows.nodes:
                        await copy.write_row(node)
            if rows.checkpoints:
                await cur.executemany(
                    f"INSERT INTO {t.checkpoints} (position, tree_size, root_hash, signed_at,"
                    " signature, key_fingerprint) VALUES (%s, %s, %s, %s, %s, %s)",
                    rows.checkpoints,
                )
            await cur.execute(
                f"INSERT INTO {t.state} (id, tree, content_size) VALUES (1, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET tree = EXCLUDED.tree,"
                " content_size = EXCLUDED.content_size",
                (tree.to_bytes(), rows.content_size),
            )
