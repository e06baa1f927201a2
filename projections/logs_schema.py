"""Tables and indexes of the logs read model."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import AsyncConnection

from projections.schema import READ_SCHEMA

LOGS = f"{READ_SCHEMA}.logs"
HISTOGRAM = f"{READ_SCHEMA}.log_histogram"
TOTALS = f"{READ_SCHEMA}.log_minutes"
# One small table per column: a one-column filter sums minutes x values, not the cross product.
DIMENSIONS = ("decky", "service", "event_type")
BY_DIMENSION = {d: f"{READ_SCHEMA}.log_minutes_by_{d}" for d in DIMENSIONS}
COUNTERS = f"{READ_SCHEMA}.log_counters"
DEAD = f"{READ_SCHEMA}.dead_letters"
PURGES = f"{READ_SCHEMA}.log_purges"
# `search_text` holds the lower-cased union of every column a bare word is looked for in
# (raw_line, msg, decky, service, attacker_ip, fields_text), each part kept only when the parts
# before it do not already contain it; one trigram index on it serves words and field lookups.
SEARCH_TEXT = "search_text"

_TABLES = (
    f"CREATE TABLE IF NOT EXISTS {LOGS} (id bigint PRIMARY KEY, ts timestamptz NOT NULL,"
    " decky text NOT NULL, service text NOT NULL, event_type text NOT NULL, attacker_ip text,"
    " msg text NOT NULL, fields_text text NOT NULL,"
    " raw_line text NOT NULL, search_text text NOT NULL)",
    f"CREATE INDEX IF NOT EXISTS logs_ts_id ON {LOGS} (ts DESC, id DESC)",
    f"CREATE INDEX IF NOT EXISTS logs_decky ON {LOGS} (decky, ts DESC, id DESC)",
    f"CREATE INDEX IF NOT EXISTS logs_service ON {LOGS} (service, ts DESC, id DESC)",
    f"CREATE INDEX IF NOT EXISTS logs_event ON {LOGS} (event_type, ts DESC, id DESC)",
    f"CREATE INDEX IF NOT EXISTS logs_attacker ON {LOGS} (attacker_ip, id)",
    f"CREATE TABLE IF NOT EXISTS {COUNTERS} (name text PRIMARY KEY, value bigint NOT NULL)",
    f"INSERT INTO {COUNTERS} VALUES ('total_logs', 0) ON CONFLICT DO NOTHING",
    f"CREATE TABLE IF NOT EXISTS {DEAD} (id bigint PRIMARY KEY, received_at text NOT NULL,"
    " reason text NOT NULL, detail text NOT NULL, raw text NOT NULL, source text NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {PURGES} (position bigint PRIMARY KEY, logs bigint NOT NULL)",
)
_HISTOGRAM_TABLES = (
    f"CREATE TABLE IF NOT EXISTS {HISTOGRAM} (minute timestamptz NOT NULL, decky text NOT NULL,"
    " service text NOT NULL, event_type text NOT NULL, count bigint NOT NULL,"
    " PRIMARY KEY (minute, decky, service, event_type))",
    f"CREATE TABLE IF NOT EXISTS {TOTALS} (minute timestamptz PRIMARY KEY, count bigint NOT NULL)",
    *(
        f"CREATE TABLE IF NOT EXISTS {table} ({d} text NOT NULL, minute timestamptz NOT NULL,"
        f" count bigint NOT NULL, PRIMARY KEY ({d}, minute))"
        for d, table in BY_DIMENSION.items()
    ),
)
_TRGM = f"CREATE INDEX IF NOT EXISTS logs_search ON {LOGS} USING gin (search_text gin_trgm_ops)"


async def create_logs(conn: AsyncConnection[Any]) -> None:
    """Create tables and indexes; the trigram index only where pg_trgm is installed."""
    for statement in _TABLES:
        await conn.execute(statement)
    has_trgm = await (
        await conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
    ).fetchone()
    if has_trgm:
        try:
            async with conn.transaction():
                await conn.execute(_TRGM)
        except psycopg.Error:
            pass  # search still works by scanning; the index only makes it fast


async def drop_logs(conn: AsyncConnection[Any]) -> None:
    """Drop every table of the model."""
    await conn.execute(f"DROP TABLE IF EXISTS {LOGS}, {COUNTERS}, {DEAD}, {PURGES}")


async def create_histogram(conn: AsyncConnection[Any]) -> None:
    """Create the per-minute bucket tables."""
    for statement in _HISTOGRAM_TABLES:
        await conn.execute(statement)


async def drop_histogram(conn: AsyncConnection[Any]) -> None:
    """Drop the bucket tables."""
    await conn.execute(f"DROP TABLE IF EXISTS {', '.join(histogram_tables())}")


def histogram_tables() -> tuple[str, ...]:
    """Every table of the histogram model."""
    return (HISTOGRAM, TOTALS, *BY_DIMENSION.values())
