"""Audit trail read model: every administrative act and authentication outcome, one row each.

Who (uuid and the username they had), from where (client IP), in which request, did what to
what, with which outcome, at which store position. Usernames are kept in the model's own table
so a deleted user's acts still name them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, AsyncCursor

from domain.history.audit import AUDITED_TYPES, AuditEntry, audit_entry
from domain.history.catalog import topics_of_names
from domain.identity.user import User
from projections.base import Envelope, Tabled


@dataclass(frozen=True, slots=True)
class AuditTables:
    """The audit model's tables in one schema."""

    schema: str

    @property
    def trail(self) -> str:
        return f"{self.schema}.audit_trail"

    @property
    def users(self) -> str:
        return f"{self.schema}.audit_users"

    def all(self) -> tuple[str, ...]:
        """Every table of the model."""
        return (self.trail, self.users)

    def statements(self) -> tuple[str, ...]:
        """DDL creating every table and index (idempotent)."""
        trail = self.trail
        return (
            f"CREATE TABLE IF NOT EXISTS {trail} (position bigint NOT NULL, seq int NOT NULL,"
            " at timestamptz NOT NULL, actor_id uuid, actor_username text, client_ip text,"
            " request_id text, action text NOT NULL, target text, outcome text NOT NULL,"
            " detail text NOT NULL, PRIMARY KEY (position, seq))",
            f"CREATE INDEX IF NOT EXISTS audit_at ON {trail} (at DESC, position DESC, seq DESC)",
            f"CREATE INDEX IF NOT EXISTS audit_actor ON {trail} (actor_id, position DESC)",
            f"CREATE INDEX IF NOT EXISTS audit_action ON {trail} (action, position DESC)",
            f"CREATE INDEX IF NOT EXISTS audit_target ON {trail} (target, position DESC)",
            f"CREATE TABLE IF NOT EXISTS {self.users} (uuid uuid PRIMARY KEY,"
            " username text NOT NULL)",
        )


class AuditProjection(Tabled[AuditTables]):
    """Maps the audited event types to trail rows."""

    name = "audit"
    # v2: evidence exports count in the singular where one (`1 artifact`)
    version = 2
    topics = tuple(topics_of_names(set(AUDITED_TYPES)))

    def __init__(self, schema: str) -> None:
        super().__init__(schema)
        self.tables = AuditTables(schema)

    async def apply(self, conn: AsyncConnection[Any], batch: Sequence[Envelope]) -> None:
        async with conn.cursor() as cur:
            names = await self._names(cur, batch)
            rows: list[tuple[Any, ...]] = []
            for envelope in batch:
                for seq, entry in enumerate(audit_entry(envelope.event, names.get)):
                    rows.append(self._row(envelope, seq, entry, names.get))
            if rows:
                await cur.executemany(
                    f"INSERT INTO {self.tables.trail} (position, seq, at, actor_id,"
                    " actor_username, client_ip, request_id, action, target, outcome, detail)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    rows,
                )

    async def _names(self, cur: AsyncCursor[Any], batch: Sequence[Envelope]) -> dict[UUID, str]:
        """Usernames of every user this batch mentions (registered now or before)."""
        registered = [
            (e.event.originator_id, e.event.username)
            for e in batch
            if isinstance(e.event, User.Registered)
        ]
        if registered:
            await cur.executemany(
                f"INSERT INTO {self.tables.users} (uuid, username) VALUES (%s, %s)"
                " ON CONFLICT (uuid) DO NOTHING",
                registered,
            )
        wanted = {e.event.originator_id for e in batch} | {
            m.actor_id
            for e in batch
            if (m := getattr(e.event, "meta", None)) is not None and m.actor_id is not None
        }
        await cur.execute(
            f"SELECT uuid, username FROM {self.tables.users} WHERE uuid = ANY(%s)", (list(wanted),)
        )
        return {uuid: username for uuid, username in await cur.fetchall()}

    @staticmethod
    def _row(
        envelope: Envelope, seq: int, entry: AuditEntry, name_of: Callable[[UUID], str | None]
    ) -> tuple[Any, ...]:
        event = envelope.event
        meta = getattr(event, "meta", None)
        actor = entry.actor if entry.actor is not None else getattr(meta, "actor_id", None)
        return (
            envelope.position,
            seq,
            event.timestamp,
            actor,
            name_of(actor) if actor is not None else None,
            getattr(meta, "client_ip", None),
            getattr(meta, "request_id", None),
            entry.action,
            entry.target,
            entry.outcome,
            entry.detail,
        )
