"""Processes started together on an empty database all create the control tables: none fails.

`CREATE ... IF NOT EXISTS` run by two sessions at once can fail in the later one on a catalog
unique index (seen as a projector or the fleet exiting at its first `docker compose up`).
"""

from __future__ import annotations

import anyio
import psycopg
import pytest

from projections.positions import ensure_control_tables
from projections.schema import CONTROL_SCHEMA

pytestmark = pytest.mark.anyio
PROCESSES = 8
ROUNDS = 5


async def _start(url: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await ensure_control_tables(conn)


async def test_concurrent_starts_on_an_empty_database_all_succeed(database_url: str) -> None:
    for _ in range(ROUNDS):
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            await conn.execute(f"DROP SCHEMA IF EXISTS {CONTROL_SCHEMA} CASCADE")
        async with anyio.create_task_group() as tg:  # an exception in any fails the test
            for _ in range(PROCESSES):
                tg.start_soon(_start, database_url)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        tables = await (
            await conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = %s", (CONTROL_SCHEMA,)
            )
        ).fetchone()
    assert tables == (3,)
