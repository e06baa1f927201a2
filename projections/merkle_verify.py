"""`verify` against PostgreSQL: every stored row, the recorded leaves and every checkpoint.

One REPEATABLE READ transaction gives one snapshot; rows and leaves stream through server-side
cursors in position order, so memory stays flat however long the log. Checkpoints come from the
store's own checkpoint events (the source of truth) and from the tree model's table (which keeps
one whose event was deleted); each signature is checked with the instance's public key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg

from domain.audit.checkpoint import Checkpoint
from domain.audit.errors import CheckpointError
from domain.audit.evidence import EventRow
from domain.audit.log_check import LeafRecord, LogCheck, SignedRoot, check_log
from projections.merkle import CHECKPOINT_TOPIC, MerkleTables
from projections.schema import live_schema

EVENTS_TABLE = "decnet_events.decnet_events"
FETCH = 20_000
# A key's name as a checkpoint event records it; anything else is not echoed in a report (the
# event may have been written by whoever changed the rows).
FINGERPRINT = re.compile(r"sha256:[0-9a-f]{64}")
SignatureCheck = Callable[[Checkpoint, str], bool]


@dataclass(frozen=True, slots=True)
class Verification:
    """A verification's outcome and the store's head when it ran."""

    head: int
    check: LogCheck


def _rows(conn: psycopg.Connection[Any]) -> Generator[EventRow]:
    with conn.cursor(name="verify_rows", binary=True) as cur:
        cur.itersize = FETCH
        cur.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state"
            f" FROM {EVENTS_TABLE} ORDER BY notification_id"
        )
        while rows := cur.fetchmany(FETCH):
            for position, oid, version, topic, state in rows:
                yield EventRow(position, oid, version, topic, state)


def _leaves(conn: psycopg.Connection[Any], tables: MerkleTables) -> Generator[LeafRecord]:
    with conn.cursor(name="verify_leaves", binary=True) as cur:
        cur.itersize = FETCH
        cur.execute(
            "SELECT position, originator_id, originator_version, hash"
            f" FROM {tables.leaves} ORDER BY leaf_index"
        )
        while rows := cur.fetchmany(FETCH):
            for position, oid, version, h in rows:
                yield LeafRecord(position, oid, version, h)


def _signed_root(position: int, value: Any, check: SignatureCheck) -> SignedRoot | None:
    """A checkpoint from its stored fields (a malformed one never verifies)."""
    try:
        cp = Checkpoint(value["tree_size"], value["root_hash"], value["signed_at"])
        signature = value["signature"]
    except (KeyError, TypeError, CheckpointError):
        return SignedRoot(position, -1, b"", False) if isinstance(value, dict) else None
    ok = isinstance(signature, str) and check(cp, signature)
    named = value.get("key_fingerprint")
    hint = named if isinstance(named, str) and FINGERPRINT.fullmatch(named) else ""
    return SignedRoot(position, cp.tree_size, cp.root, ok, cp.timestamp, hint)


def _checkpoints(
    conn: psycopg.Connection[Any], tables: MerkleTables, check: SignatureCheck
) -> list[SignedRoot]:
    found: dict[int, SignedRoot] = {}
    cur = conn.execute(
        f"SELECT notification_id, state FROM {EVENTS_TABLE} WHERE topic = %s", (CHECKPOINT_TOPIC,)
    )
    for position, state in cur.fetchall():
        try:
            value = json.loads(bytes(state))
        except ValueError:
            value = {}
        root = _signed_root(position, value, check)
        if root is not None:
            found[position] = root
    cur = conn.execute(
        "SELECT position, tree_size, root_hash, signed_at, signature, key_fingerprint"
        f" FROM {tables.checkpoints}"
    )
    for position, size, root_hash, signed_at, signature, fingerprint in cur.fetchall():
        if position not in found:
            value = {
                "tree_size": size,
                "root_hash": root_hash,
                "signed_at": signed_at,
                "signature": signature,
                "key_fingerprint": fingerprint,
            }
            recorded = _signed_root(position, value, check)
            if recorded is not None:
                found[position] = recorded
    return [found[p] for p in sorted(found)]


def verify_log(conninfo: str, check: SignatureCheck, schema: str | None = None) -> Verification:
    """Recompute the tree from every stored row (blocking: run it in a worker thread)."""
    tables = MerkleTables(schema or live_schema("merkle"))
    with psycopg.connect(conninfo) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            head_row = conn.execute(
                f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}"
            ).fetchone()
            checkpoints = _checkpoints(conn, tables, check)

            def locate(oid: UUID, version: int) -> LeafRecord | None:
                row = conn.execute(
                    f"SELECT position, hash FROM {tables.leaves}"
                    " WHERE originator_id = %s AND originator_version = %s",
                    (oid, version),
                ).fetchone()
                return LeafRecord(int(row[0]), oid, version, bytes(row[1])) if row else None

            rows, leaves = _rows(conn), _leaves(conn, tables)
            try:
                result = check_log(rows, leaves, checkpoints, locate)
            finally:  # close the server-side cursors inside the transaction
                rows.close()
                leaves.close()
    return Verification(int(head_row[0]) if head_row else 0, result)
