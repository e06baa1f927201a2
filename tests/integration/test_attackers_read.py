"""Attacker reads on real PostgreSQL: embedded newest commands and fingerprints, and the
version-2 tables an upgrade keeps serving while a later version is rebuilt beside them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from psycopg.types.json import Json
from psycopg_pool import AsyncConnectionPool

from application.reads.rows import Attacker, BountyRow
from projections.attackers_queries import LIST_CAPS, AttackerQueries
from projections.attackers_schema import AttackerTables, attacker_uuid
from projections.rows import iso_z
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
    """The attacker tables as version 5 makes them, or version 2 (no updated_at, no stored vault
    row JSON)."""
    schema = live_schema("attackers")
    tables = AttackerTables(schema)
    async with pool.connection() as conn:
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for statement in tables.statements():
            if version == 2:
                statement = statement.replace(", updated_at timestamptz NOT NULL", "")
                statement = statement.replace(", row_json text NOT NULL", "")
            await conn.execute(statement)
    return tables


async def seed(pool: AsyncConnectionPool[Any], t: AttackerTables, version: int) -> None:
    """One attacker with 5 commands and 3 user-agent fingerprints, a second later each."""
    columns = "uuid, ip, first_seen, last_seen, event_count, services, deckies, service_count,"
    columns += " decky_count, is_traversal, bounty_count, credential_count, command_count,"
    columns += " behavior, state"
    values = [attacker_uuid(IP), IP, T0, T0 + timedelta(seconds=4), 8, ["ssh"], ["d1"], 1, 1]
    values += [False, 3, 0, 5, Json({}), Json({})]
    if version == 5:
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
            ts = T0 + timedelta(seconds=i)
            payload = {"fingerprint_type": "http_useragent", "value": f"ua/{i}"}
            row = BountyRow(i, iso_z(ts), "d1", "ssh", IP, "fingerprint", payload)
            stored = {"row_json": msgspec.json.encode(row).decode()} if version == 5 else {}
            names = ", ".join(stored)
            await conn.execute(
                f"INSERT INTO {t.bounty} (id, dedup, ts, decky, service, attacker_ip,"
                f" bounty_type, payload, payload_text{', ' if stored else ''}{names})"
                " VALUES (%s, %s, %s, 'd1', 'ssh', %s, 'fingerprint', %s, ''"
                + ", %s" * len(stored)
                + ")",
                (i, f"k{i}", ts, IP, Json(payload), *stored.values()),
            )


async def test_rows_carry_the_newest_commands_and_fingerprints(
    pool: AsyncConnectionPool[Any],
) -> None:
    """A page embeds the capped newest lists; one attacker carries more; updated_at as stored."""
    tables = await create(pool, 5)
    await seed(pool, tables, 5)
    queries = AttackerQueries(pool)
    total, body = await queries.page_json(None, None, "recent", 50, 0)
    rows = msgspec.json.decode(body, type=list[Attacker])
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
    _, body = await queries.page_json(None, None, "recent", 50, 0)
    rows = msgspec.json.decode(body, type=list[Attacker])
    assert rows[0].updated_at == rows[0].last_seen == "2026-04-10T09:00:04Z"
    one = await queries.one(attacker_uuid(IP))
    assert one is not None
    assert one.updated_at == one.last_seen
    assert [f.payload["value"] for f in one.fingerprints] == ["ua/2", "ua/1", "ua/0"]
