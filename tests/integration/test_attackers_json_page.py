"""`/attackers` pages and one attacker as JSON built by PostgreSQL decode to exactly what
`Attacker` structs built from the tables encode: awkward decky names, services and commands
(unicode, quotes, backslashes, control characters), whole-second and fractional timestamps,
the first and last years a datetime has; every sort, search and service filter, pages past the
end, an empty model, and the tables of versions 2-4 an upgrade keeps serving meanwhile. Keys in
order are compared too."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from application.observations.ingest import IngestCommands
from application.reads.rows import Attacker, AttackerCommand, BountyRow
from interfaces.http.schemas import AttackerPage, spliced_page
from projections.attackers_queries import (
    DETAIL_CAPS,
    LIST_CAPS,
    ORDERS,
    AttackerQueries,
    EmbedCaps,
)
from projections.attackers_schema import AttackerTables
from projections.rows import iso_z, utc
from projections.schema import live_schema
from tests.integration.observations_fixtures import record
from tests.integration.stores import projected_models
from tests.integration.test_logs_json_page import AWKWARD, TIMES

TABLES = AttackerTables(live_schema("attackers"))
IPS = [f"10.0.{i % 3}.{i}" for i in range(10)]


def awkward_records() -> list[Any]:
    """Commands, credentials and user-agent fingerprints from ten attackers over awkward deckies
    and services, at awkward times."""
    out = []
    for i in range(90):
        text = AWKWARD[i % len(AWKWARD)]
        kind = i % 3
        fields = {"command": f"echo {text} {i}"}
        event_type, service = "command", f"ssh {text[:3]}"
        if kind == 1:
            fields = {"username": f"{text}{i}", "password": f"p{i}"}
            event_type = "login"
        elif kind == 2:
            fields = {"user_agent": f"curl/{i} {text}", "method": "GET", "path": "/"}
            event_type, service = "request", "http"
        out.append(
            record(
                i,
                timestamp=TIMES[(i // 2) % len(TIMES)],
                decky=f"decky-{i % 4} {text[:4]}",
                service=service,
                event_type=event_type,
                attacker_ip=IPS[i % len(IPS)],
                fields=fields,
            )
        )
    return out


async def table_rows(pool: Any, sql: str) -> list[tuple[Any, ...]]:
    async with pool.connection() as conn:
        return await (await conn.execute(sql)).fetchall()


def stamp(ts: datetime) -> str:
    return iso_z(utc(ts))


async def expected_attackers(pool: Any, caps: EmbedCaps, updated: bool) -> list[Attacker]:
    """Every attacker as a struct built in Python from the tables' plain values."""
    updated_at = "updated_at" if updated else "last_seen"
    attackers = await table_rows(
        pool,
        "SELECT uuid::text, ip, first_seen, last_seen, "
        + updated_at
        + ", event_count, service_count, decky_count, services, deckies, is_traversal,"
        f" bounty_count, credential_count, command_count, behavior FROM {TABLES.attackers}",
    )
    commands = await table_rows(
        pool,
        f"SELECT attacker::text, service, decky, command, ts FROM {TABLES.commands}"
        " ORDER BY ts DESC, id DESC",
    )
    prints = await table_rows(
        pool,
        f"SELECT id, ts, decky, service, attacker_ip, bounty_type, payload FROM {TABLES.bounty}"
        " WHERE bounty_type = 'fingerprint' ORDER BY ts DESC, id DESC",
    )
    out = []
    for row in attackers:
        uuid, ip, first, last, upd, events, services_n, deckies_n, services, deckies = row[:10]
        out.append(
            Attacker(
                uuid,
                ip,
                stamp(first),
                stamp(last),
                stamp(upd),
                events,
                services_n,
                deckies_n,
                services,
                deckies,
                " → ".join(deckies) if deckies_n >= 2 else None,
                *row[10:15],
                [AttackerCommand(*c[1:4], stamp(c[4])) for c in commands if c[0] == uuid][
                    : caps.commands
                ],
                [BountyRow(b[0], stamp(b[1]), *b[2:]) for b in prints if b[4] == ip][
                    : caps.fingerprints
                ],
            )
        )
    return out


def decoded(body: bytes) -> Any:
    """JSON with objects as lists of pairs, so key order is compared too."""
    return json.loads(body, object_pairs_hook=list)


SORT_KEYS = {
    "recent": lambda a: (-datetime.fromisoformat(a.last_seen).timestamp(), a.uuid),
    "active": lambda a: (-a.event_count, a.uuid),
    "traversals": lambda a: (
        -a.is_traversal,
        -a.decky_count,
        -datetime.fromisoformat(a.last_seen).timestamp(),
        a.uuid,
    ),
}


async def compare_pages(queries: AttackerQueries, pool: Any, updated: bool) -> int:
    """Every sort, filter and page shape against the Python-built page; the pages seen."""
    every = await expected_attackers(pool, LIST_CAPS, updated)
    compared = 0
    for sort_by in ORDERS:
        for search, service in ((None, None), ("0.1.", None), (None, "http"), ("%", None)):
            rows = [
                a
                for a in every
                if (search is None or search in a.ip) and (service is None or service in a.services)
            ]
            rows.sort(key=SORT_KEYS[sort_by])
            for limit, offset in ((50, 0), (4, 3), (1, 8), (5, 1000)):
                total, body = await queries.page_json(search, service, sort_by, limit, offset)
                new = msgspec.json.encode(spliced_page(AttackerPage, total, limit, offset, body))
                old = msgspec.json.encode(
                    AttackerPage(len(rows), limit, offset, rows[offset : offset + limit])
                )
                key = (sort_by, search, service, limit, offset)
                assert decoded(new) == decoded(old), key
                if b"\\" not in old:  # no escaping choice: msgspec's bytes exactly
                    assert new == old, key
                assert msgspec.json.decode(new, type=AttackerPage) == msgspec.json.decode(
                    old, type=AttackerPage
                ), key
                compared += len(rows[offset : offset + limit])
    for attacker in await expected_attackers(pool, DETAIL_CAPS, updated):
        one = await queries.one_json(UUID(attacker.uuid))
        assert one is not None
        assert decoded(one) == decoded(msgspec.json.encode(attacker))
        assert await queries.one(UUID(attacker.uuid)) == attacker
    return compared


def test_json_attacker_pages_decode_to_the_struct_pages(database_url: str) -> None:
    """The pages and the detail built by PostgreSQL equal those built from the tables' values
    (bytes and all, where the text needs no escaping choice); version 4's tables (no stored
    vault JSON) and version 2's (no updated_at either) answer the same way."""

    async def run() -> None:
        async with projected_models(database_url, ("attackers",), batch_size=7) as p:
            queries = AttackerQueries(p.pool)
            total, body = await queries.page_json(None, None, "recent", 50, 0)
            assert (total, body) == (0, b"[]")
            assert await queries.one_json(UUID(int=0)) is None
            ingest = IngestCommands(p.store)
            await asyncio.to_thread(ingest.append, awkward_records(), [], None)
            await p.runner.catch_up("attackers")
            assert await compare_pages(queries, p.pool, updated=True) > 50
            every = await expected_attackers(p.pool, DETAIL_CAPS, True)
            assert len(every) == len(IPS)
            assert any(a.commands and a.fingerprints for a in every)
            stamps = {c.timestamp for a in every for c in a.commands}
            stamps |= {f.timestamp for a in every for f in a.fingerprints}
            assert {"0001-01-01T00:00:00Z", "9999-12-31T22:59:59.999999Z"} <= stamps
            async with p.pool.connection() as conn:  # version 4: no stored vault JSON
                await conn.execute(f"ALTER TABLE {TABLES.bounty} DROP COLUMN row_json")
            assert await compare_pages(queries, p.pool, updated=True) > 50
            async with p.pool.connection() as conn:  # version 2: no updated_at either
                await conn.execute(f"ALTER TABLE {TABLES.attackers} DROP COLUMN updated_at")
            assert await compare_pages(queries, p.pool, updated=False) > 50

    asyncio.run(run())
