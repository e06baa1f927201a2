"""A one-word histogram from the heavy tokens' quarters equals bucketing the matching rows
(ADR 0028), and the quarters kept batch by batch equal the ones made from the rows.

`HEAVY` is lowered so that a few tokens are heavy from the first batches, one crosses the
threshold half way, some stay light; records are out of time order, in UTC, +05:30 and +05:45
(not quarter-aligned) and a few before the epoch. Every answer is compared with a plain
`date_bin` over the rows whose text contains the word, for ranges starting and ending on and
inside quarters, naive and zoned, before and after a purge, and for a model without quarters.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, timedelta, timezone
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from application.observations.ingest import IngestCommands
from application.reads.ports import LogFilter
from domain.observations.search import parse_search
from domain.shared.meta import CommandMeta
from projections import log_quarters
from projections.log_quarters import quarters_from_rows
from projections.logs_schema import LogTables
from projections.logs_search import Dictionary, escape_like, quarters_histogram
from projections.schema import live_schema
from tests.integration.observations_fixtures import (
    histograms_as_rows,
    kept_and_rebuilt,
    record,
    scattered_time,
)
from tests.integration.stores import projected_models

TABLES = LogTables(live_schema("logs"))
HEAVY = 40
ZONES = (UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=5, minutes=45)))
# `often` is heavy from the start, `cross` crosses HEAVY in the second round, `rare` stays light;
# `bot.sh` is inside two tokens (`bot.sh`, `/tmp/bot.sh`), `tmp/bot` inside one.
WORDS = (
    "often", "ften", "cross", "rare", "bot.sh", "tmp/bot", "ssh", "decky-01", "message",
    "nothing", "o", "often cross", "service:ssh often",
)  # fmt: skip
INTERVALS = (15, 30, 45, 60, 1440, 525_600, 7)


def _records(first: int, count: int, seed: int, cross: float) -> list[Any]:
    rng = random.Random(seed)
    out = []
    for i in range(first, first + count):
        ts = scattered_time(rng, i, on_quarters=17)
        words = ["often"] if rng.random() < 0.6 else []
        if rng.random() < cross:
            words.append("cross")
        if rng.random() < 0.02:
            words.append("rare")
        words.append(rng.choice(("bot.sh", "/tmp/bot.sh", "x")))
        out.append(record(i, timestamp=ts.astimezone(rng.choice(ZONES)), msg=" ".join(words)))
    return out


async def _check(pool: AsyncConnectionPool[Any], quartered: set[str] | None) -> int:
    """Every histogram equals the plain one; the words expected to use quarters have them
    (`None`: the model has no quarters)."""
    answered = await histograms_as_rows(pool, WORDS, INTERVALS)
    async with pool.connection() as conn:
        for word in WORDS if quartered is not None else ():
            f = LogFilter(parse_search(word))
            pattern = f"%{escape_like(word)}%"
            built = quarters_histogram(f, 15, TABLES, Dictionary(TABLES.tokens))
            if built is None:
                assert word not in (quartered or ())
                continue
            row = await (
                await conn.execute(
                    f"SELECT count(DISTINCT token) FROM {TABLES.quarters}"
                    f" WHERE token IN (SELECT token FROM {TABLES.tokens} WHERE token LIKE %s)",
                    (pattern,),
                )
            ).fetchone()
            assert row
            assert (row[0] == 1) == (word in (quartered or ())), word
    return answered


async def _same_as_rebuilt(pool: AsyncConnectionPool[Any]) -> int:
    """The kept quarters are the ones made from the rows (what a bulk load builds)."""
    kept, rebuilt = await kept_and_rebuilt(pool, TABLES.quarters, quarters_from_rows(TABLES))
    async with pool.connection() as conn:
        heavy = await (
            await conn.execute(f"SELECT count(*) FROM {TABLES.tokens} WHERE count >= %s", [HEAVY])
        ).fetchone()
    assert kept == rebuilt
    assert heavy
    assert len({token for token, _, _ in kept}) == heavy[0]
    return len(kept)


async def _scenario(url: str) -> None:
    async with projected_models(url, ("logs",), batch_size=3) as p:
        ingest = IngestCommands(p.store)

        await p.append(_records(0, 150, 1, cross=0.1))  # `cross`: ~15 rows
        assert await _same_as_rebuilt(p.pool) > 0
        heavy = {"often", "ften", "tmp/bot", "ssh", "decky-01"}
        assert await _check(p.pool, heavy) > 100
        await p.append(_records(150, 150, 2, cross=0.4))  # `cross` passes 40 rows
        assert await _same_as_rebuilt(p.pool) > 0
        assert await _check(p.pool, {*heavy, "cross"}) > 100
        await asyncio.to_thread(ingest.purge, CommandMeta(request_id="quarters"))
        await p.runner.catch_up("logs")
        assert await _same_as_rebuilt(p.pool) == 0
        await _check(p.pool, set())
        await p.append(_records(300, 150, 3, cross=0.5))
        assert await _same_as_rebuilt(p.pool) > 0
        assert await _check(p.pool, {*heavy, "cross"}) > 100
        # A token at exactly HEAVY rows before a batch is heavy: that batch adds to its quarters.
        exact = [record(1000 + i, msg="exact") for i in range(HEAVY + 5)]
        await asyncio.to_thread(ingest.append, exact[:HEAVY], [], None)
        await p.runner.catch_up("logs")
        await asyncio.to_thread(ingest.append, exact[HEAVY:], [], None)
        await p.runner.catch_up("logs")
        assert await _same_as_rebuilt(p.pool) > 0
        async with p.pool.connection() as conn:
            row = await (
                await conn.execute(
                    f"SELECT sum(count) FROM {TABLES.quarters} WHERE token = 'exact'"
                )
            ).fetchone()
            assert row
            assert row[0] == HEAVY + 5
        async with p.pool.connection() as conn:  # a model of the previous version: rows
            await conn.execute(f"DROP TABLE {TABLES.quarters}")
        assert await _check(p.pool, None) > 100


def test_quarters_answer_as_the_rows(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Histograms from the quarters equal bucketing the rows, across a crossing and a purge."""
    monkeypatch.setattr(log_quarters, "HEAVY", HEAVY)
    asyncio.run(_scenario(database_url))
