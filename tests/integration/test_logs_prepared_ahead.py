"""The logs model's rows and counts are made once per page, in the thread reading it ahead.

`LogsProjection.prepare_ahead` runs where the runner decodes a page (ADR 0023) and keeps the
result for that page's `apply`; `apply` makes it again only when it has no prepared page or one
made before the dictionaries were known to be kept (the first pages a live model applies). A
cache that never matched would double the logs model's Python work without failing anything
else, so this counts the preparations; that the rows and counts are right is checked by the
quarters, totals and rebuild tests, which run through the same path.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import projections.logs
from application.observations.ingest import IngestCommands
from tests.integration.observations_fixtures import record
from tests.integration.stores import projected_models

PAGES = 12


async def _scenario(url: str) -> int:
    async with projected_models(url, ("logs",), batch_size=2) as p:
        ingest = IngestCommands(p.store)
        for page in range(PAGES * 2):
            records = [record(page * 10 + i, msg=f"word{page} attempt") for i in range(10)]
            await asyncio.to_thread(ingest.append, records, [], None)
        await p.runner.catch_up("logs")
        async with p.pool.connection() as conn:
            row = await (await conn.execute("SELECT count(*) FROM decnet_rm_logs.logs")).fetchone()
        assert row == (PAGES * 20,)
    return PAGES


def test_each_page_is_prepared_once(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    prepare = projections.logs._prepare

    def counted(batch: Any, count_tokens: bool) -> Any:
        calls.append(len(batch))
        return prepare(batch, count_tokens)

    monkeypatch.setattr(projections.logs, "_prepare", counted)
    pages = asyncio.run(_scenario(database_url))
    # Every page once; the first two may be made twice: the page read and the one read ahead
    # before the first apply has learnt that the dictionaries are kept (made without counts).
    assert len(calls) <= pages + 2, calls
