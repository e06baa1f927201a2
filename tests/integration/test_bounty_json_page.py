"""`/bounty` pages as JSON built by PostgreSQL decode to exactly what the `BountyRow` path
encoded: awkward credentials (unicode, quotes, backslashes, control characters), whole-second
and fractional timestamps, the first and last years a datetime has, a missing attacker IP; by
type, by search, past the end, and on an empty vault. Keys in order are compared too."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import msgspec

from application.observations.ingest import IngestCommands
from application.reads.rows import BountyRow
from interfaces.http.schemas import BountyPage, spliced_page
from projections.attackers_queries import BOUNTY_COLUMNS, AttackerQueries, _like
from projections.attackers_schema import AttackerTables
from projections.rows import tuples_of
from projections.schema import live_schema
from tests.integration.observations_fixtures import record
from tests.integration.stores import projected_models
from tests.integration.test_logs_json_page import AWKWARD, TIMES

TABLES = AttackerTables(live_schema("attackers"))
# Words in the payload, the attacker, the decky or the service (the indexed text of all four),
# short ones the trigram index cannot serve, LIKE's own characters, and the separator of the
# indexed text, which takes the column-by-column path.
SEARCHES = (None, "é", '"', "\\", "nothing-x", "10.0.0.1", "decky-1", "ssh", "curl/", "p1")
SEARCHES += ("%", "_", "\x1f", "1\x1fd", "ssh\x1fdecky")


def awkward_records() -> list[Any]:
    out = []
    for i in range(40):
        text = AWKWARD[i % len(AWKWARD)]
        fields = {"username": f"{text}{i}", "password": f"p{i}\\{text[:5]}"}
        if i % 4 == 0:
            fields = {"user_agent": f"curl/{i} {text}"}
        out.append(
            record(
                i,
                timestamp=TIMES[i % len(TIMES)],
                decky=f"decky-{i % 3} {text[:4]}",
                service="http" if i % 4 == 0 else "ssh",
                event_type="request" if i % 4 == 0 else "login",
                attacker_ip=None if i % 7 == 0 else f"10.0.0.{i}",
                fields=fields,
            )
        )
    return out


async def expected(
    pool: Any, kind: str | None, search: str | None, limit: int, offset: int
) -> bytes:
    """The page as the route encoded it before: rows decoded into `BountyRow`s, then encoded."""
    clauses, params = [], []
    if kind:
        clauses.append("bounty_type = %s")
        params.append(kind)
    if search:
        clauses.append(
            "(payload_text ILIKE %s OR attacker_ip ILIKE %s OR decky ILIKE %s OR service ILIKE %s)"
        )
        params.extend([_like(search)] * 4)
    where = " WHERE " + " AND ".join(clauses) if clauses else ""
    async with pool.connection() as conn:
        total = await (
            await conn.execute(f"SELECT count(*) FROM {TABLES.bounty}{where}", params)
        ).fetchone()
        cur = tuples_of(conn)
        await cur.execute(
            f"SELECT {BOUNTY_COLUMNS} FROM {TABLES.bounty}{where}"
            " ORDER BY ts DESC, id DESC LIMIT %s OFFSET %s",
            [*params, limit, offset],
        )
        rows = [BountyRow(*r) for r in await cur.fetchall()]
    return msgspec.json.encode(BountyPage(total[0], limit, offset, rows))


def decoded(body: bytes) -> Any:
    """JSON with objects as lists of pairs, so key order is compared too."""
    return json.loads(body, object_pairs_hook=list)


async def compare(
    queries: AttackerQueries,
    pool: Any,
    kind: str | None,
    search: str | None,
    limit: int,
    offset: int,
    same_bytes: bool,
) -> int:
    total, rows_json = await queries.bounty_json(kind, search, limit, offset)
    new = msgspec.json.encode(spliced_page(BountyPage, total, limit, offset, rows_json))
    old = await expected(pool, kind, search, limit, offset)
    assert decoded(new) == decoded(old), (kind, search, limit, offset)
    assert msgspec.json.decode(new, type=BountyPage) == msgspec.json.decode(old, type=BountyPage)
    if same_bytes:  # stored by msgspec as the row path encodes it
        assert new == old, (kind, search, limit, offset)
    return total


async def every_page(queries: AttackerQueries, pool: Any, same_bytes: bool) -> dict[Any, int]:
    seen = {}
    for kind in (None, "credential", "fingerprint", "artifact"):
        for search in SEARCHES:
            for limit, offset in ((50, 0), (7, 3), (1, 29), (5, 1000)):
                seen[kind, search, offset] = await compare(
                    queries, pool, kind, search, limit, offset, same_bytes
                )
    return seen


def test_json_bounty_pages_decode_to_the_bounty_row_pages(database_url: str) -> None:
    """Every filter and page shape, the row path and the stored JSON, encode the same bytes;
    the tables of versions 4 (no stored JSON) and 3 (no counts either), served while an
    upgrade rebuilds, give pages that decode equal."""

    async def run() -> None:
        async with projected_models(database_url, ("attackers",), batch_size=7) as p:
            queries = AttackerQueries(p.pool)
            assert await compare(queries, p.pool, None, None, 50, 0, True) == 0  # empty
            ingest = IngestCommands(p.store)
            await asyncio.to_thread(ingest.append, awkward_records(), [], None)
            await p.runner.catch_up("attackers")
            seen = await every_page(queries, p.pool, same_bytes=True)
            assert seen["credential", None, 0] > 20
            assert seen["fingerprint", None, 0] > 0
            assert seen[None, "é", 0] > 0
            _, every = await queries.bounty_json(None, None, 100, 0)
            stamps = {row["timestamp"] for row in json.loads(every)}
            assert {"0001-01-01T00:00:00Z", "9999-12-31T22:59:59.999999Z"} <= stamps
            async with p.pool.connection() as conn:  # version 4's table
                await conn.execute(f"ALTER TABLE {TABLES.bounty} DROP COLUMN row_json")
                # The column allows a row without an attacker; no record makes one.
                await conn.execute(
                    f"INSERT INTO {TABLES.bounty} (id, dedup, ts, decky, service, attacker_ip,"
                    " bounty_type, payload, payload_text) VALUES (999999, 'x', %s, 'd', 's', NULL,"
                    """ 'credential', '{"username":"é\\u0001"}', 'x')""",
                    (TIMES[1],),
                )
                await conn.execute(
                    f"UPDATE {TABLES.bounty_counts} SET count = count + 1"
                    " WHERE bounty_type = 'credential'"
                )
            assert await every_page(queries, p.pool, same_bytes=False) == {
                key: n + (key[0] in (None, "credential") and key[1] is None)
                for key, n in seen.items()
            }
            _, every = await queries.bounty_json(None, None, 100, 0)
            row = next(row for row in json.loads(every) if row["id"] == 999999)
            assert (row["attacker_ip"], row["payload"]) == (None, {"username": "é\u0001"})
            async with p.pool.connection() as conn:  # version 3's: no counts
                await conn.execute(f"DROP TABLE {TABLES.bounty_counts}")
            await every_page(queries, p.pool, same_bytes=False)

    asyncio.run(run())
