"""Deep pages of every log start from the rows per minute; they must equal walking the rows.

Records arrive out of time order, several share a timestamp and many share a minute, and a purge
empties the model half way: every page from the shallow walk to past the end is compared with the
plain `ORDER BY ts DESC, id DESC OFFSET` over the same table, and so is its JSON page.
"""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta, timezone
from typing import Any

import msgspec

from application.observations.ingest import IngestCommands
from application.reads.ports import LogFilter
from application.reads.rows import LogRow
from domain.observations.search import parse_search
from domain.shared.meta import CommandMeta
from projections.logs_queries import DEEP_OFFSET, LOG_COLUMNS, LogQueries
from projections.logs_schema import LogTables
from projections.schema import live_schema
from tests.integration.observations_fixtures import BASE_TIME, record
from tests.integration.stores import projected_models

LOGS = LogTables(live_schema("logs")).logs
INDIA = timezone(timedelta(hours=5, minutes=30))
EVERY = LogFilter(parse_search(""))


def shuffled_records(count: int, seed: int) -> list[Any]:
    """Timestamps over five hours with the third one empty, out of order, some exactly equal,
    some written with an offset that is not a whole hour."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        second = rng.randrange(4 * 3600)
        second += 3600 if second >= 2 * 3600 else 0  # no rows in the third hour
        ts = BASE_TIME + timedelta(seconds=second)
        out.append(record(i, timestamp=ts.astimezone(INDIA) if i % 3 == 0 else ts))
    return out


async def check(url: str) -> None:
    async with projected_models(url, ("logs",), batch_size=2) as p:
        ingest = IngestCommands(p.store)
        await asyncio.to_thread(ingest.append, shuffled_records(900, 1), [], None)
        await asyncio.to_thread(ingest.purge, CommandMeta(request_id="deep"))
        for seed in range(2, 11):
            await asyncio.to_thread(ingest.append, shuffled_records(500, seed), [], None)
        await p.runner.catch_up("logs")
        queries = LogQueries(p.pool)
        async with p.pool.connection() as conn:
            sql = f"SELECT {LOG_COLUMNS} FROM {LOGS} ORDER BY ts DESC, id DESC"
            walked = await (await conn.execute(sql)).fetchall()
        assert len(walked) == 4500
        offsets = (DEEP_OFFSET, DEEP_OFFSET + 1, 2222, 2500, 3333, 4449, 4450, 4499, 4500, 9000)
        for offset in offsets:
            total, page = await queries.page(EVERY, 50, offset)
            assert total == 4500
            assert [r.id for r in page] == [row[0] for row in walked[offset : offset + 50]]
            json_total, rows_json = await queries.page_json(EVERY, 50, offset)
            assert (json_total, msgspec.json.decode(rows_json, type=list[LogRow])) == (total, page)


def test_deep_pages_equal_walking_the_rows(database_url: str) -> None:
    """Every deep page holds exactly the rows the plain offset gives, in the same order."""
    asyncio.run(check(database_url))
