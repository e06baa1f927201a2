"""A filtered read is planned for its values every time; an unfiltered one is prepared.

psycopg prepares a statement from its sixth run on a connection, and PostgreSQL may then keep
one generic plan for every value: a search whose best plan depends on its values (a common
pair under a column term) got a plan 60 times slower (`logs_queries.planned_once`). Checked on a
one-connection pool: after a dozen runs of each read, no statement of a filtered page,
histogram or backlog is among the connection's prepared statements, and the unfiltered first
page is.
"""

from __future__ import annotations

import asyncio
from typing import Any

from psycopg_pool import AsyncConnectionPool

from application.observations.ingest import IngestCommands
from application.reads.ports import LogFilter
from domain.observations.search import parse_search
from infrastructure.read_pool import READ_SESSION, AutocommitPool
from projections.logs_queries import LogQueries
from projections.logs_schema import LogTables
from projections.schema import live_schema
from tests.integration.observations_fixtures import record
from tests.integration.stores import projected_models

TABLES = LogTables(live_schema("logs"))
RUNS = 12
FILTERED = ("username:root service:ssh", "root", "decky:decky-01")


async def _prepared(pool: AsyncConnectionPool[Any]) -> list[str]:
    """The prepared statements reading the rows or the buckets (the dictionary look-up before a
    search may be prepared: its plan does not depend on the words)."""
    async with pool.connection() as conn:
        rows = await (await conn.execute("SELECT statement FROM pg_prepared_statements")).fetchall()
    read = (f"FROM {TABLES.logs} ", "decnet_rm_histogram.")
    return [statement for (statement,) in rows if any(r in statement for r in read)]


async def _scenario(url: str) -> None:
    async with projected_models(url, ("logs", "histogram"), batch_size=3) as p:
        records = [record(i, fields={"username": "root"}) for i in range(20)]
        await asyncio.to_thread(IngestCommands(p.store).append, records, [], None)
        await p.runner.catch_up("logs")
    pool = AutocommitPool(
        url,
        min_size=1,
        max_size=1,
        open=False,
        kwargs={"autocommit": True, "options": READ_SESSION},
    )
    await pool.open(wait=True)
    try:
        logs = LogQueries(pool)
        for search in FILTERED:
            f = LogFilter(parse_search(search))
            for _ in range(RUNS):
                total, _ = await logs.page(f, 5, 0)
                assert total == 20
                await logs.page_json(f, 5, 0)
                await logs.histogram(f, 60)
                await logs.after(0, f, 5)
        assert await _prepared(pool) == []
        for _ in range(RUNS):
            await logs.page(LogFilter(parse_search("")), 5, 0)
        assert len(await _prepared(pool)) == 1
    finally:
        await pool.close()


def test_filtered_reads_are_planned_for_their_values(database_url: str) -> None:
    asyncio.run(_scenario(database_url))
