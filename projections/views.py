"""The registry of as-of views: which exist, until where, and whether they are built yet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.rows import class_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from application.reads.rows import ViewInfo
from projections.positions import POSITIONS, VIEWS
from projections.rows import IsoZLoader
from projections.schema import live_schema, view_schema
from projections.users import UserTables


def view_key(label: str, model: str) -> str:
    """The positions key of one model of a view."""
    return f"view:{label}:{model}"


@dataclass(frozen=True, slots=True)
class ViewRow:
    """A view as the registry holds it."""

    label: str
    until_position: int
    state: str
    error: str | None
    versions: dict[str, int] | None  # each model's code version that built it


class ViewRegistry:
    """Reads and writes the registry table (the projector writes, every process reads)."""

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool
        self._users = UserTables(live_schema("users")).users

    async def rows(self) -> list[ViewRow]:
        """Every registered view."""
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=class_row(ViewRow))
            await cur.execute(f"SELECT label, until_position, state, error, versions FROM {VIEWS}")
            rows: list[ViewRow] = await cur.fetchall()
            return rows

    async def state(self, label: str) -> str | None:
        """`building`, `ready` or `failed`; None for an unknown label."""
        async with self._pool.connection() as conn:
            row = await (
                await conn.execute(f"SELECT state FROM {VIEWS} WHERE label = %s", (label,))
            ).fetchone()
        return str(row[0]) if row else None

    async def register(
        self,
        label: str,
        until_position: int,
        until_time: str | None,
        created_by: UUID | None,
        created_at: datetime,
        versions: dict[str, int],
    ) -> None:
        """A new view, building with the models of these versions."""
        async with self._pool.connection() as conn:
            await conn.execute(
                f"INSERT INTO {VIEWS} (label, until_position, until_time, state, created_by,"
                " created_at, versions) VALUES (%s, %s, %s, 'building', %s, %s, %s)"
                " ON CONFLICT (label) DO NOTHING",
                (label, until_position, until_time, created_by, created_at, Jsonb(versions)),
            )

    async def restart(self, label: str, versions: dict[str, int]) -> None:
        """Build a view again from position 0 (its tables and positions dropped), with the
        models of these versions: one transaction, so readers see it built or building."""
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(f"DROP SCHEMA IF EXISTS {view_schema(label)} CASCADE")
            await conn.execute(f"DELETE FROM {POSITIONS} WHERE name LIKE %s", (f"view:{label}:%",))
            await conn.execute(
                f"UPDATE {VIEWS} SET state = 'building', error = NULL, rows = 0, versions = %s"
                " WHERE label = %s",
                (Jsonb(versions), label),
            )

    async def finish(self, label: str, state: str, error: str | None = None) -> None:
        """Mark a view ready (counting its rows) or failed."""
        schema = view_schema(label)
        async with self._pool.connection() as conn:
            if state == "ready":  # fresh statistics: the planner's, and the row count below
                tables = await (
                    await conn.execute(
                        "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
                    )
                ).fetchall()
                for (table,) in tables:
                    await conn.execute(f"ANALYZE {schema}.{table}")
            await conn.execute(
                f"UPDATE {VIEWS} SET state = %s, error = %s, rows = (SELECT"
                " coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint FROM pg_class c JOIN"
                " pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s"
                " AND c.relkind = 'r') WHERE label = %s",
                (state, error, schema, label),
            )

    async def forget(self, label: str) -> None:
        """Drop a view's schema and registry row."""
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(f"DROP SCHEMA IF EXISTS {view_schema(label)} CASCADE")
            await conn.execute(f"DELETE FROM {VIEWS} WHERE label = %s", (label,))
            await conn.execute(f"DELETE FROM {POSITIONS} WHERE name LIKE %s", (f"view:{label}:%",))

    async def infos(self) -> list[ViewInfo]:
        """Every view as `GET /views` shows it, oldest first."""
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=class_row(ViewInfo))
            cur.adapters.register_loader("timestamptz", IsoZLoader)
            await cur.execute(
                "SELECT v.label, v.until_position, v.until_time, v.state, CASE"
                " WHEN v.state = 'ready' OR v.until_position = 0 THEN 1.0 ELSE"
                " least(1.0, coalesce((SELECT min(p.position) FROM"
                f" {POSITIONS} p WHERE p.name LIKE 'view:' || v.label || ':%%'), 0)"
                " ::float8 / v.until_position) END AS progress,"
                " v.created_by::text AS created_by, v.created_at, v.rows,"
                " u.username AS created_by_username"
                f" FROM {VIEWS} v LEFT JOIN {self._users} u ON u.uuid = v.created_by"
                " ORDER BY v.created_at, v.label"
            )
            rows: list[ViewInfo] = await cur.fetchall()
            return rows
