"""The control schema's tables: where each slot (live, shadow, view model) has got to, and how."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from projections.schema import CONTROL_SCHEMA

POSITIONS = f"{CONTROL_SCHEMA}.projection_positions"
STATUS = f"{CONTROL_SCHEMA}.projection_status"
VIEWS = f"{CONTROL_SCHEMA}.read_views"
CONTROL_TABLES_LOCK = "decnet-es:control-tables"  # advisory lock name (hashed like the others)


@dataclass(frozen=True, slots=True)
class StoredPosition:
    """A slot's tracked position, the version of the code that wrote its tables, its request."""

    position: int
    version: int
    request: int | None = None


async def ensure_control_tables(conn: AsyncConnection[Any]) -> None:
    """The control schema and its tables (idempotent), one process at a time.

    Processes started together on an empty database (`docker compose up`: two API replicas, two
    projectors, the collector, the fleet) all create what is missing, and PostgreSQL's
    `CREATE ... IF NOT EXISTS` is not safe against a concurrent identical statement: both pass
    the check and the later one fails on a catalog unique index (`pg_type_typname_nsp_index`),
    which ended a projector or the fleet at its first start. A transaction-scoped advisory lock
    makes the others wait and then find everything there.
    """
    async with conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (CONTROL_TABLES_LOCK,)
        )
        await _create_control_tables(conn)


async def _create_control_tables(conn: AsyncConnection[Any]) -> None:
    await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {CONTROL_SCHEMA}")
    await conn.execute(
        f"CREATE TABLE IF NOT EXISTS {POSITIONS} ("
        "name text PRIMARY KEY, position bigint NOT NULL, version int NOT NULL)"
    )
    await conn.execute(
        f"ALTER TABLE {POSITIONS} ADD COLUMN IF NOT EXISTS"
        " started_at timestamptz NOT NULL DEFAULT now()"
    )
    # A shadow carries the rebuild request (control stream version) it serves; the swap copies
    # it to the live row, so a restart can tell a finished rebuild from one never started.
    await conn.execute(f"ALTER TABLE {POSITIONS} ADD COLUMN IF NOT EXISTS request int")
    await conn.execute(
        f"CREATE TABLE IF NOT EXISTS {STATUS} (name text PRIMARY KEY, last_error text,"
        " events_per_second double precision NOT NULL, frozen boolean NOT NULL,"
        " updated_at timestamptz NOT NULL DEFAULT now())"
    )
    await conn.execute(
        f"CREATE TABLE IF NOT EXISTS {VIEWS} (label text PRIMARY KEY,"
        " until_position bigint NOT NULL, until_time text, state text NOT NULL,"
        " created_by uuid, created_at timestamptz NOT NULL, error text,"
        " rows bigint NOT NULL DEFAULT 0)"
    )
    # The version of each model's code that built a view (null: registered before they were kept).
    await conn.execute(f"ALTER TABLE {VIEWS} ADD COLUMN IF NOT EXISTS versions jsonb")


async def read_position(conn: AsyncConnection[Any], key: str) -> StoredPosition | None:
    """The slot's tracked position, or None when it has none."""
    row = await (
        await conn.execute(
            f"SELECT position, version, request FROM {POSITIONS} WHERE name = %s", (key,)
        )
    ).fetchone()
    return StoredPosition(int(row[0]), int(row[1]), row[2]) if row else None


async def init_position(
    conn: AsyncConnection[Any], key: str, version: int, request: int | None = None
) -> None:
    """Track a new slot from position 0."""
    await conn.execute(
        f"INSERT INTO {POSITIONS} (name, position, version, request) VALUES (%s, 0, %s, %s)"
        " ON CONFLICT (name) DO NOTHING",
        (key, version, request),
    )


async def delete_position(conn: AsyncConnection[Any], key: str) -> None:
    """Forget a slot's position."""
    await conn.execute(f"DELETE FROM {POSITIONS} WHERE name = %s", (key,))
