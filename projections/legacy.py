"""One-way migration from the first layout, where every read model shared `decnet_read`.

Read models now live in schemas of their own (`projections/schema.py`); the old tables are
dropped at startup (their projections were bumped a version, so they rebuild from the events).
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from projections.schema import CONTROL_SCHEMA

LEGACY_TABLES = (
    "users",
    "revoked_tokens",
    "settings",
    "logs",
    "log_counters",
    "dead_letters",
    "log_purges",
    "log_histogram",
    "log_minutes",
    "log_minutes_by_decky",
    "log_minutes_by_service",
    "log_minutes_by_event_type",
    "attackers",
    "bounty",
    "attacker_commands",
    "attacker_counters",
    "attacker_purges",
    "fleet_deckies",
)


async def drop_legacy_tables(conn: AsyncConnection[Any]) -> None:
    """Drop read-model tables left in the control schema by the first layout (idempotent)."""
    tables = ", ".join(f"{CONTROL_SCHEMA}.{t}" for t in LEGACY_TABLES)
    await conn.execute(f"DROP TABLE IF EXISTS {tables}")
