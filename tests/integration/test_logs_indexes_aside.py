"""A bulk-loaded logs model builds its indexes on two connections, and ends the same.

`create_log_indexes` with a `side` connection builds the indexes there, the costliest first,
under other names while the main transaction fills the dictionaries, the heavy tokens' quarters
and the heavy pairs' values and then takes the indexes left, and renames them in the main
transaction. Checked here: the outcome (dictionaries, quarters, pair values, index names and
definitions) equals the one-connection build and the model kept batch by batch; an attempt that
crashed after the side committed (a GIN index and a B-tree built aside) but before the main one
did is finished by the next (the index named `logs_tokens` never appears without the
dictionaries); a runner whose pool has no connection to spare builds on one connection.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from psycopg import AsyncConnection

import projections.runner
from application.observations.ingest import IngestCommands
from projections import log_quarters
from projections.logs_schema import (
    ASIDE,
    LogTables,
    create_log_indexes,
    create_logs,
    dictionary_kept,
)
from projections.schema import live_schema
from tests.integration.observations_fixtures import record
from tests.integration.stores import projected_models

LIVE = LogTables(live_schema("logs"))
WORDS = ("often", "bot.sh", "/tmp/x", "root", "login", "rare-one", "ssh")

State = tuple[list[tuple[Any, ...]], ...]


def _records(first: int, count: int) -> list[Any]:
    return [
        record(
            i,
            msg=f"{WORDS[i % 7]} {WORDS[i % 3]} attempt {i % 11}",
            fields={"seq": str(i), "username": WORDS[i % 5]},
        )
        for i in range(first, first + count)
    ]


async def _state(conn: AsyncConnection[Any], tables: LogTables) -> State:
    """Every count the index build makes, and the model's indexes (schema left out)."""

    async def rows(sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return list(await (await conn.execute(sql, params)).fetchall())

    return (
        await rows(f"SELECT token, count FROM {tables.tokens} ORDER BY 1"),
        await rows(f"SELECT pair, count FROM {tables.pairs} ORDER BY 1"),
        await rows(f"SELECT token, quarter, count FROM {tables.quarters} ORDER BY 1, 2"),
        await rows(f"SELECT * FROM {tables.pair_values} ORDER BY 1, 2, 3, 4"),
        await rows(
            "SELECT indexname, replace(indexdef, %s, 'S') FROM pg_indexes"
            " WHERE schemaname = %s ORDER BY 1",
            (tables.schema + ".", tables.schema),
        ),
    )


async def _bulk(
    conn: AsyncConnection[Any], side: AsyncConnection[Any] | None, schema: str, crashed: bool
) -> State:
    """The live rows bulk-loaded into `schema` without indexes, then indexed."""
    tables = LogTables(schema)
    await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    await conn.execute(f"CREATE SCHEMA {schema}")
    await create_logs(conn, tables)
    await conn.execute(f"INSERT INTO {tables.logs} SELECT * FROM {LIVE.logs}")
    if crashed:  # what an attempt leaves when it dies after the side connection committed
        for name, statement in tables.indexes(ASIDE):
            if name in ("logs_tokens", "logs_decky_c"):  # some of them, a B-tree among them
                await conn.execute(statement)
        assert not await dictionary_kept(conn, tables)
    async with conn.transaction():
        await create_log_indexes(conn, tables, side)
    assert await dictionary_kept(conn, tables)
    return await _state(conn, tables)


async def _scenario(url: str) -> None:
    async with projected_models(url, ("logs",), batch_size=3) as p:
        ingest = IngestCommands(p.store)
        for first in range(0, 300, 30):
            await asyncio.to_thread(ingest.append, _records(first, 30), [], None)
        await p.runner.catch_up("logs")
        async with p.pool.connection() as conn, p.pool.connection() as side:
            kept = await _state(conn, LIVE)
            assert kept[2], "some tokens must be heavy for the quarters to be compared"
            assert kept[3], "some pairs must be heavy for their values to be compared"
            one = await _bulk(conn, None, "aside_one", crashed=False)
            two = await _bulk(conn, side, "aside_two", crashed=False)
            again = await _bulk(conn, side, "aside_again", crashed=True)
        assert one == kept
        assert two == kept
        assert again == kept
        assert not any(name.endswith(ASIDE) for name, _ in two[4])


def test_indexes_built_aside_equal_one_connection_and_survive_a_crash(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_quarters, "HEAVY", 20)
    asyncio.run(_scenario(database_url))


async def _rebuild_on_one_connection(url: str) -> list[str]:
    async with projected_models(url, ("logs",), batch_size=3, connections=1) as p:
        ingest = IngestCommands(p.store)
        await asyncio.to_thread(ingest.append, _records(0, 50), [], None)
        await p.runner.catch_up("logs")
        await p.runner.rebuild("logs")
        async with p.pool.connection() as conn:
            names = await (
                await conn.execute(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = %s ORDER BY 1",
                    (LIVE.schema,),
                )
            ).fetchall()
    return [name for (name,) in names]


def test_a_pool_with_no_spare_connection_builds_on_one(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Holding one connection while waiting for another could starve every index build."""
    monkeypatch.setattr(projections.runner, "SPARE_WAIT_S", 0.05)
    names = asyncio.run(_rebuild_on_one_connection(database_url))
    assert "logs_tokens" in names
    assert "logs_pairs" in names
    assert not any(name.endswith(ASIDE) for name in names)
