"""Histograms summed from the quarter-hour totals equal bucketing the rows (ADR 0031), the
totals kept batch by batch equal the rows' own, and the JSON PostgreSQL makes of the buckets
is the JSON the buckets encode to.

Records are out of time order, in UTC, +05:30 and +05:45, on quarter bounds and a microsecond
before them, a few before the epoch and a few in year 1's first minutes; every histogram of the
unfiltered search (the quarter totals), of one column (the per-column minutes) and of a word
(the rows) is compared with a plain `date_bin` over the rows, for ranges on and inside minutes
and quarters, before and after a purge, and for models of earlier versions (quarter totals
without their labels, and no quarter totals).
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from psycopg_pool import AsyncConnectionPool

from application.observations.ingest import IngestCommands
from domain.shared.meta import CommandMeta
from projections.logs_schema import HistogramTables, LogTables
from projections.rows import bucket_text_sql
from projections.schema import live_schema
from tests.integration.observations_fixtures import (
    histograms_as_rows,
    kept_and_rebuilt,
    record,
    scattered_time,
)
from tests.integration.stores import projected_models

LOGS = LogTables(live_schema("logs"))
BUCKETS = HistogramTables(live_schema("histogram"))
ZONES = (UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=5, minutes=45)))
SEARCHES = ("", "service:ssh", "decky:decky-01", "ssh")
INTERVALS = (15, 30, 45, 60, 1440, 525_600, 7, 1)
QUARTERS_FROM_ROWS = (
    f"INSERT INTO {BUCKETS.quarter_totals} (quarter, count, label)"
    f" SELECT q, n, {bucket_text_sql('q')} FROM (SELECT date_bin('15 minutes', ts,"
    f" 'epoch'::timestamptz) AS q, count(*) AS n FROM {LOGS.logs} GROUP BY 1) AS r",
    [],
)


def _records(first: int, count: int, seed: int) -> list[Any]:
    rng = random.Random(seed)
    out = []
    for i in range(first, first + count):
        ts = scattered_time(rng, i, on_quarters=7)
        if i % 97 == 0:  # at 7 minutes, in a bucket that starts in 1 BC
            ts = datetime(1, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(180))
        service = rng.choice(("ssh", "http", "ftp"))
        decky = rng.choice(("decky-01", "decky-02"))
        zoned = ts.astimezone(rng.choice(ZONES))
        out.append(record(i, timestamp=zoned, service=service, decky=decky))
    return out


async def _same_as_rebuilt(pool: AsyncConnectionPool[Any]) -> int:
    kept, rebuilt = await kept_and_rebuilt(pool, BUCKETS.quarter_totals, QUARTERS_FROM_ROWS)
    assert kept == rebuilt
    return len(kept)


async def _scenario(url: str) -> None:
    async with projected_models(url, ("logs", "histogram"), batch_size=3) as p:
        await p.append(_records(0, 400, 1))
        assert await _same_as_rebuilt(p.pool) > 20
        assert await histograms_as_rows(p.pool, SEARCHES, INTERVALS) > 500
        await asyncio.to_thread(IngestCommands(p.store).purge, CommandMeta(request_id="totals"))
        for name in p.runner.slots:
            await p.runner.catch_up(name)
        assert await _same_as_rebuilt(p.pool) == 0
        await histograms_as_rows(p.pool, SEARCHES, INTERVALS)
        await p.append(_records(400, 200, 2))
        assert await _same_as_rebuilt(p.pool) > 20
        assert await histograms_as_rows(p.pool, SEARCHES, INTERVALS) > 500
        async with p.pool.connection() as conn:  # version 5: no labels, times formatted
            await conn.execute(f"ALTER TABLE {BUCKETS.quarter_totals} DROP COLUMN label")
        assert await histograms_as_rows(p.pool, SEARCHES, INTERVALS) > 500
        async with p.pool.connection() as conn:  # version 3: no quarter totals, minutes
            await conn.execute(f"DROP TABLE {BUCKETS.quarter_totals}")
        assert await histograms_as_rows(p.pool, SEARCHES, INTERVALS) > 500


def test_quarter_totals_answer_as_the_rows(database_url: str) -> None:
    """Unfiltered histograms from the quarter totals equal bucketing the rows."""
    asyncio.run(_scenario(database_url))
