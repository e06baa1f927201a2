"""The total of a field term with column terms from the heavy pairs' column values equals
counting the matching rows (ADR 0029), and the values kept batch by batch equal the ones made
from the rows.

`HEAVY` is lowered so that some pairs are heavy from the first batches, one crosses the
threshold half way, some stay light. Every total is compared with a plain count of the rows
(no dictionary, no pairs: the text decides), for one and several column terms, an attacker
term (not counted), a second field term, a word and a time range (counted from the rows), before
and after a purge, and for a model without the values.
"""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from application.observations.ingest import IngestCommands
from application.reads.ports import LogFilter
from domain.observations.search import parse_search
from domain.shared.meta import CommandMeta
from projections import log_quarters
from projections.log_pair_values import pair_values_from_rows
from projections.logs_queries import LogQueries
from projections.logs_schema import LogTables
from projections.logs_search import Dictionary, counted, where
from projections.schema import live_schema
from tests.integration.observations_fixtures import BASE_TIME, kept_and_rebuilt, record
from tests.integration.stores import projected_models

TABLES = LogTables(live_schema("logs"))
HEAVY = 40
DECKIES = ("decky-01", "decky-02", "decky-03")
SERVICES = ("ssh", "ftp")
EVENTS = ("connect", "auth")
# `user:root` is heavy from the start, `user:cross` crosses HEAVY in the second round,
# `user:rare` stays light; `password:x` is on every row.
SEARCHES = (
    "user:root service:ssh",
    "user:root decky:decky-02",
    "user:root decky:decky-02 service:ftp event:auth",
    "user:root event_type:connect service:ssh service:ftp",
    "service:ssh user:cross",
    "user:cross decky:decky-03 event:auth",
    "user:rare service:ssh",
    "user:nobody service:ssh",
    "user:root decky:nowhere",
    "password:x decky:decky-01",
    "user:root attacker:10.0.0.1",
    "user:root password:x service:ssh",
    "user:root service:ssh root",
    "user:root user:root service:ftp",
)
ROWS_ONLY = {
    "user:root attacker:10.0.0.1",
    "user:root password:x service:ssh",
    "user:root service:ssh root",
}


def _records(first: int, count: int, seed: int, cross: float) -> list[Any]:
    rng = random.Random(seed)
    out = []
    for i in range(first, first + count):
        user = "root" if rng.random() < 0.6 else "admin"
        if rng.random() < cross:
            user = "cross"
        if rng.random() < 0.03:
            user = "rare"
        out.append(
            record(
                i,
                timestamp=BASE_TIME + timedelta(seconds=rng.randrange(6 * 3600)),
                decky=rng.choice(DECKIES),
                service=rng.choice(SERVICES),
                event_type=rng.choice(EVENTS),
                fields={"user": user, "password": "x", "seq": str(i)},
            )
        )
    return out


async def _check(pool: AsyncConnectionPool[Any], heavy: set[str]) -> int:
    """Every total equals the plain count; a search the values can answer reads them (and, when
    its pair is one of the `heavy`, they alone give the plain count), the others count rows."""
    logs = LogQueries(pool)
    plain = Dictionary(TABLES.tokens, absent=True, pairs=False)
    answered = 0
    async with pool.connection() as conn:
        for search in SEARCHES:
            for start in (None, BASE_TIME + timedelta(hours=2)):
                f = LogFilter(parse_search(search), start)
                sql, params = where(f, plain)
                row = await (
                    await conn.execute(f"SELECT count(*) FROM {TABLES.logs}{sql}", params)
                ).fetchone()
                assert row
                total, _ = await logs.page(f, 5, 0)
                assert total == row[0], (search, start)
                answered += bool(total)
                statement, _ = counted(f, TABLES, Dictionary(TABLES.tokens))
                summable = start is None and search not in ROWS_ONLY
                assert (TABLES.pair_values in statement) == summable, (search, start)
                pair = ":".join(f.query.fields[0])  # the one field term of a summable search
                if summable and pair in heavy:
                    conds = "".join(f" AND {c} = %s" for c, _ in f.query.columns)
                    summed = await (
                        await conn.execute(
                            f"SELECT coalesce(sum(count), 0) FROM {TABLES.pair_values}"
                            f" WHERE pair = %s{conds}",
                            [pair, *(v for _, v in f.query.columns)],
                        )
                    ).fetchone()
                    assert summed
                    assert summed[0] == total, search
    return answered


async def _same_as_rebuilt(pool: AsyncConnectionPool[Any]) -> set[str]:
    """The kept values are the ones made from the rows (what a bulk load builds); the pairs
    they hold."""
    kept, rebuilt = await kept_and_rebuilt(pool, TABLES.pair_values, pair_values_from_rows(TABLES))
    async with pool.connection() as conn:
        heavy = await (
            await conn.execute(f"SELECT pair FROM {TABLES.pairs} WHERE count >= %s", [HEAVY])
        ).fetchall()
    assert kept == rebuilt
    pairs = {pair for pair, *_ in kept}
    assert pairs == {pair for (pair,) in heavy}
    return pairs


async def _scenario(url: str) -> None:
    async with projected_models(url, ("logs",), batch_size=3) as p:
        ingest = IngestCommands(p.store)

        await p.append(_records(0, 150, 1, cross=0.1))  # `user:cross`: ~15 rows
        assert {"user:root", "password:x"} <= await _same_as_rebuilt(p.pool)
        assert "user:cross" not in await _same_as_rebuilt(p.pool)
        assert await _check(p.pool, {"user:root", "password:x"}) > 10
        await p.append(_records(150, 150, 2, cross=0.4))  # `user:cross` passes 40 rows
        assert "user:cross" in await _same_as_rebuilt(p.pool)
        assert await _check(p.pool, {"user:root", "password:x", "user:cross"}) > 10
        await asyncio.to_thread(ingest.purge, CommandMeta(request_id="pair-values"))
        await p.runner.catch_up("logs")
        assert await _same_as_rebuilt(p.pool) == set()
        await _check(p.pool, set())
        await p.append(_records(300, 150, 3, cross=0.5))
        assert "user:cross" in await _same_as_rebuilt(p.pool)
        assert await _check(p.pool, {"user:root", "password:x", "user:cross"}) > 10
        async with p.pool.connection() as conn:  # a model of the previous version: rows
            await conn.execute(f"DROP TABLE {TABLES.pair_values}")
        logs = LogQueries(p.pool)
        f = LogFilter(parse_search("user:root service:ssh"))
        total, _ = await logs.page(f, 5, 0)
        async with p.pool.connection() as conn:
            row = await (
                await conn.execute(
                    f"SELECT count(*) FROM {TABLES.logs}"
                    " WHERE service = 'ssh' AND pairs @> ARRAY['user:root']"
                )
            ).fetchone()
        assert row
        assert total == row[0] > 0


def test_pair_values_total_as_the_rows(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Totals from the pair values equal counting the rows, across a crossing and a purge."""
    monkeypatch.setattr(log_quarters, "HEAVY", HEAVY)
    asyncio.run(_scenario(database_url))
