"""Totals kept as counts must equal counting the rows (ADR 0026).

Column filters (decky / service / event_type, with or without a time range), the commands of an
attacker (with or without a service) and the bounty vault (with or without a type) take their
totals from counts committed with the rows; each is compared with a plain `count(*)` over the
same tables, with records out of time order, offsets that are not whole hours, ranges that start
and end anywhere, and a purge half way.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import msgspec
from psycopg_pool import AsyncConnectionPool

from application.observations.ingest import IngestCommands
from application.reads.ports import LogFilter
from domain.observations.search import parse_search
from domain.shared.meta import CommandMeta
from projections.attackers_queries import AttackerQueries
from projections.attackers_schema import AttackerTables, attacker_uuid
from projections.logs_queries import LogQueries
from projections.logs_schema import DIMENSIONS, LogTables
from projections.schema import live_schema
from tests.integration.observations_fixtures import BASE_TIME, record
from tests.integration.stores import projected_models

LOGS = LogTables(live_schema("logs")).logs
ATTACKERS = AttackerTables(live_schema("attackers"))
INDIA = timezone(timedelta(hours=5, minutes=30))
DECKIES = ("decky-01", "decky-02", "decky-03")
SERVICES = ("ssh", "http", "telnet")
EVENTS = ("connect", "command", "login_attempt")
IPS = ("10.0.0.1", "10.0.0.2", "10.0.0.3")


def shuffled_records(count: int, seed: int) -> list[Any]:
    """Over five hours, out of order, three values of each column, some commands and logins."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        ts = BASE_TIME + timedelta(seconds=rng.randrange(5 * 3600), microseconds=rng.choice((0, 7)))
        if i % 20 == 0:  # on the bounds of whole hours and minutes, which an end includes
            ts = BASE_TIME + timedelta(hours=rng.randrange(5), minutes=rng.choice((0, 7, 41)))
        event = rng.choice(EVENTS)
        fields = {"command": f"ls {i % 7}"} if event == "command" else {}
        if event == "login_attempt":
            fields = {"username": "root", "password": f"pw{i % 11}"}
        out.append(
            record(
                seed * 10_000 + i,
                timestamp=ts.astimezone(INDIA) if i % 3 == 0 else ts,
                decky=rng.choice(DECKIES),
                service=rng.choice(SERVICES),
                event_type=event,
                attacker_ip=rng.choice(IPS),
                fields=fields,
            )
        )
    return out


def searches() -> list[str]:
    terms = [
        "",
        *(f"decky:{d}" for d in DECKIES),
        "service:ssh",
        "event_type:command",
        "decky:decky-02 service:http",
        "decky:decky-01 service:ssh event:connect",
        "decky:decky-01 decky:decky-02",
        "decky:nowhere",
    ]
    return terms


def ranges() -> list[tuple[datetime | None, datetime | None]]:
    hour = timedelta(hours=1)
    return [
        (None, None),
        (BASE_TIME + hour, BASE_TIME + 2 * hour),  # whole hour, inclusive end
        (BASE_TIME + timedelta(minutes=17, seconds=3), None),
        (None, BASE_TIME + timedelta(hours=3, minutes=41, microseconds=7)),
        (BASE_TIME + timedelta(minutes=7), BASE_TIME + timedelta(hours=4, minutes=41)),
        (BASE_TIME + timedelta(hours=2), BASE_TIME + timedelta(hours=3, minutes=7)),
        (BASE_TIME + timedelta(minutes=59, seconds=59), BASE_TIME + timedelta(hours=4, seconds=1)),
        (
            BASE_TIME + timedelta(minutes=5, seconds=30),
            BASE_TIME + timedelta(minutes=5, seconds=45),
        ),
        (BASE_TIME + timedelta(minutes=5, seconds=30), BASE_TIME + timedelta(minutes=7)),
        (BASE_TIME + 3 * hour, BASE_TIME + hour),  # empty: start after end
        (datetime(1, 1, 1, tzinfo=UTC), datetime.max.replace(tzinfo=UTC)),
        (datetime.max.replace(tzinfo=UTC) - timedelta(seconds=1), None),
    ]


async def plain_total(conn: Any, f: LogFilter) -> int:
    clauses = [f"{c} = %s" for c, _ in f.query.columns]
    params: list[Any] = [v for _, v in f.query.columns]
    if f.start is not None:
        clauses.append("ts >= %s")
        params.append(f.start)
    if f.end is not None:
        clauses.append("ts <= %s")
        params.append(f.end)
    where = " WHERE " + " AND ".join(clauses) if clauses else ""
    row = await (await conn.execute(f"SELECT count(*) FROM {LOGS}{where}", params)).fetchone()
    return int(row[0])


async def check_totals(pool: AsyncConnectionPool[Any]) -> None:
    logs = LogQueries(pool)
    attackers = AttackerQueries(pool)
    async with pool.connection() as conn:
        for text in searches():
            for start, end in ranges():
                f = LogFilter(parse_search(text), start, end)
                expected = await plain_total(conn, f)
                total, page = await logs.page(f, 5, 0)
                assert total == expected, (text, start, end)
                assert len(page) == min(5, expected)
        for ip in IPS:
            uuid = attacker_uuid(ip)
            for service in (None, *SERVICES, "nowhere"):
                params: list[Any] = [uuid] if service is None else [uuid, service]
                where = "attacker = %s" + ("" if service is None else " AND service = %s")
                row = await (
                    await conn.execute(
                        f"SELECT count(*) FROM {ATTACKERS.commands} WHERE {where}", params
                    )
                ).fetchone()
                total, rows = await attackers.commands(uuid, service, 3, 1)
                assert total == row[0], (ip, service)
                assert len(rows) == max(0, min(3, row[0] - 1))
        for bounty_type in (None, "credential", "nowhere"):
            where, params = (
                ("", []) if bounty_type is None else (" WHERE bounty_type = %s", [bounty_type])
            )
            row = await (
                await conn.execute(f"SELECT count(*) FROM {ATTACKERS.bounty}{where}", params)
            ).fetchone()
            total, bounties = await attackers.bounty_json(bounty_type, None, 4, 0)
            assert total == row[0], bounty_type
            assert len(msgspec.json.decode(bounties)) == min(4, row[0])
    unknown, none = await attackers.commands(UUID(int=1), None, 5, 0)
    assert (unknown, none) == (0, [])


async def drop_counts(pool: AsyncConnectionPool[Any]) -> None:
    logs = LogTables(live_schema("logs"))
    counts = (logs.values, logs.hour_values, *(logs.hours_by(d) for d in DIMENSIONS))
    async with pool.connection() as conn:
        await conn.execute(
            f"DROP TABLE {', '.join(counts)}, {ATTACKERS.command_counts}, {ATTACKERS.bounty_counts}"
        )


async def check(url: str) -> None:
    async with projected_models(url, ("logs", "attackers"), batch_size=2) as p:
        ingest = IngestCommands(p.store)
        for seed in range(1, 4):
            await asyncio.to_thread(ingest.append, shuffled_records(300, seed), [], None)
        await p.runner.catch_up("logs")
        await p.runner.catch_up("attackers")
        await check_totals(p.pool)
        async with p.pool.connection() as conn:  # the checks above compared non-empty totals
            for table in (ATTACKERS.commands, ATTACKERS.bounty):
                row = await (await conn.execute(f"SELECT count(*) FROM {table}")).fetchone()
                assert row
                assert row[0] > 20
        await asyncio.to_thread(ingest.purge, CommandMeta(request_id="counted"))
        await p.runner.catch_up("logs")
        await p.runner.catch_up("attackers")
        await check_totals(p.pool)
        total, _ = await LogQueries(p.pool).page(LogFilter(parse_search("decky:decky-01")), 5, 0)
        assert total == 0
        for seed in range(4, 7):
            await asyncio.to_thread(ingest.append, shuffled_records(300, seed), [], None)
        await p.runner.catch_up("logs")
        await p.runner.catch_up("attackers")
        await check_totals(p.pool)
        await drop_counts(p.pool)  # a model of an older version has none: rows are counted
        await check_totals(p.pool)


def test_counted_totals_equal_counting_the_rows(database_url: str) -> None:
    """Every total kept as counts is the plain count of the rows, before and after a purge."""
    asyncio.run(check(database_url))
