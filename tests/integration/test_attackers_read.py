"""Attacker reads on real PostgreSQL: embedded newest commands and fingerprints, and the
version-2 tables an upgrade keeps serving while version 3 is rebuilt beside them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from psycopg.types.json import Json
from psycopg_pool import AsyncConnectionPool

from projections.attackers_queries import LIST_CAPS, AttackerQueries
from projections.attackers_schema import AttackerTables, attacker_uuid
from projections.schema import live_schema

pytestmark = pytest.mark.anyio
IP = "203.0.113.9"
T0 = datetime(2026, 4, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        database_url,
        min_size=1,
        max_size=2,
        open=False,
        kwargs={"autocommit": True, "options": "-c TimeZone=UTC"},
    )
    await pool.open(wait=True)
    yield pool
    await pool.close()


async def create(pool: AsyncConnectionPool[Any], version: int) -> AttackerTables:
    """The attacker tables as version 3 makes them, or version 2 (no updated_at)."""
    schema = live_schema("attackers")
    tables = AttackerTables(schema)
    async with pool.connection() as conn:
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for statement in tables.statements():
            if version == 2:
                statement = statement.replace(", updated_at timestamptz NOT NULL", "")
            await conn.execute(statement)
    return tables


async def seed(pool: AsyncConnectionPool[Any], t: AttackerTables, version: int) -> None:
    """One attacker with 5 commands and 3 user-agent fingerprints, a second later each."""
    columns = "uuid, ip, first_seen, last_seen, event_count, services, deckies, service_count,"
    columns += " decky_count, is_traversal, bounty_count, credential_count, command_count,"
    columns += " behavior, state"
    values = [attacker_uuid(IP), IP, T0, T0 + timedelta(seconds=4), 8, ["ssh"], ["d1"], 1, 1]
    values += [False, 3, 0, 5, Json({}), Json({})]
    if version == 3:
        columns += ", updated_at"
        values.append(T0 + timedelta(hours=1))
    marks = ", ".join(["%s"] * len(values))
    async with pool.connection() as conn:
        await conn.execute(f"INSERT INTO {t.attackers} ({columns}) VALUES ({marks})", values)
        for i in range(5):
            await conn.execute(
                f"INSERT INTO {t.commands} (id, attacker, ts, decky, service, command)"
                " VALUES (%s, %s, %s, 'd1', 'ssh', %s)",
                (i, attacker_uuid(IP), T0 + timedelta(seconds=i), f"cmd-{i}"),
            )
        for i in range(3):
            payload = Json({"fingerprint_type": "http_useragent", "value": f"ua/{i}"})
            await conn.execute(
                f"INSERT INTO {t.bounty} (id, dedup, ts, decky, service, attacker_ip,"
                " bounty_type, payload, payload_text, row_json)"
                " VALUES (%s, %s, %s, 'd1', 'ssh', %s, 'fingerprint', %s, '', '')",
                (i, f"k{i}", T0 + timedelta(seconds=i), IP, payload),
            )


async def test_rows_carry_the_newest_commands_and_fingerprints(
    pool: AsyncConnectionPool[Any],
) -> None:
    """A page embeds the capped newest lists; one attacker carries more; updated_at as stored."""
    tables = await create(pool, 3)
    await seed(pool, tables, 3)
    queries = AttackerQueries(pool)
    total, rows = await queries.page(None, None, "recent", 50, 0)
    assert total == 1
    row = rows[0]
    assert [c.command for c in row.commands] == [f"cmd-{i}" for i in (4, 3, 2)][
        : LIST_CAPS.commands
    ]
    assert [f.payload["value"] for f in row.fingerprints] == ["ua/2", "ua/1", "ua/0"][
        : LIST_CAPS.fingerprints
    ]
    assert row.updated_at == "2026-04-10T10:00:00Z"
    one = await queries.one(attacker_uuid(IP))
    assert one is not None
    assert [c.command for c in one.commands] == [f"cmd-{i}" for i in (4, 3, 2, 1, 0)]
    assert len(one.fingerprints) == 3


async def test_version_two_tables_still_answer(pool: AsyncConnectionPool[Any]) -> None:
    """While an upgrade rebuilds, the old tables answer with updated_at = last_seen, not a 500."""
    tables = await create(pool, 2)
    await seed(pool, tables, 2)
    queries = AttackerQueries(pool)
    _, rows = await queries.page(None, None, "recent", 50, 0)
    assert rows[0].updated_at == rows[0].last_seen == "2026-04-10T09:00:04Z"
    one = await queries.one(attacker_uuid(IP))
    assert one is not None
    assert one.updated_at == one.last_seen
