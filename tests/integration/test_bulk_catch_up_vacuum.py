"""A live model that catches up a long way is vacuumed once it reaches the head.

A first build of a big store (or a catch-up after a long outage) bulk-loads the live tables.
Until something runs `VACUUM (ANALYZE)` the planner has no statistics and index-only scans visit
the heap for every row: at 1,000,000 logs `decky:X service:Y` took 171 ms against 37 ms once
vacuumed. Autovacuum may come late or not at all (it is off on some servers, this CI's included),
so the runner vacuums a live model itself after a bulk catch-up, as it does a shadow before the
swap; a live trickle of a few events is left to autovacuum.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

import projections.runner
from application.observations.ingest import IngestCommands
from projections.logs import LogsProjection
from projections.runner import ProjectionRunner
from tests.integration.observations_fixtures import record
from tests.integration.stores import event_store


def test_a_bulk_catch_up_vacuums_the_live_tables_and_a_trickle_does_not(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(projections.runner, "BULK_CATCH_UP", 3, raising=False)
    before, after = asyncio.run(_catch_up(database_url))
    assert before == {"logs": False}, "a catch-up of 2 events must leave vacuuming to autovacuum"
    assert after == {"logs": True}, "a catch-up of 3 events or more vacuums the model's tables"


async def _catch_up(url: str) -> tuple[dict[str, bool], dict[str, bool]]:
    with event_store(url) as store:
        ingest = IngestCommands(store)

        async def append(batches: int) -> None:
            for b in range(batches):
                records = [record(b * 10 + i) for i in range(10)]
                await asyncio.to_thread(ingest.append, records, [], None)

        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True}
        )
        await pool.open(wait=True)
        try:
            logs = LogsProjection("decnet_rm_logs")
            runner = ProjectionRunner(store, pool, [logs])
            await runner.setup()
            await append(2)
            await runner.catch_up("logs")
            before = await _vacuumed(pool, logs.schema)
            await append(3)
            await runner.catch_up("logs")
            after = await _vacuumed(pool, logs.schema)
        finally:
            await pool.close()
    return before, after


async def _vacuumed(pool: AsyncConnectionPool[Any], schema: str) -> dict[str, bool]:
    """Whether the logs table of `schema` has been vacuumed (by anyone) since it was created."""
    async with pool.connection() as conn:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        row = await (
            await conn.execute(
                "SELECT last_vacuum IS NOT NULL OR last_autovacuum IS NOT NULL"
                " FROM pg_stat_user_tables WHERE schemaname = %s AND relname = 'logs'",
                (schema,),
            )
        ).fetchone()
    assert row is not None
    return {"logs": bool(row[0])}
