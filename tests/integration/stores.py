"""The production PostgreSQL event store, for integration tests that need one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

from psycopg_pool import AsyncConnectionPool

from application.observations.ingest import IngestCommands
from application.store import EventStoreApp
from infrastructure.database import Database, prepare_schemas
from projections.catalog import all_projections
from projections.runner import ProjectionRunner
from projections.schema import CONTROL_SCHEMA


@contextmanager
def event_store(url: str) -> Iterator[EventStoreApp]:
    """The event store on `url` (schemas created), closed on exit."""
    prepare_schemas(url, CONTROL_SCHEMA)
    store = EventStoreApp(Database(url).event_store_env(pool_size=2))
    try:
        yield store
    finally:
        store.close()


@dataclass(frozen=True, slots=True)
class Projected:
    """An event store, a small read pool and a runner set up for some read models."""

    store: EventStoreApp
    pool: AsyncConnectionPool[Any]
    runner: ProjectionRunner

    async def append(self, records: list[Any], per_event: int = 25) -> None:
        """Append `records` as events of `per_event` records each (so that the models' batches
        split them), then project them into every model."""
        ingest = IngestCommands(self.store)
        for i in range(0, len(records), per_event):
            await asyncio.to_thread(ingest.append, records[i : i + per_event], [], None)
        for name in self.runner.slots:
            await self.runner.catch_up(name)


@asynccontextmanager
async def projected_models(
    url: str, names: tuple[str, ...], batch_size: int, connections: int = 2
) -> AsyncIterator[Projected]:
    """The named models on `url`, set up (tables created), with their store and a pool of at
    most `connections`."""
    with event_store(url) as store:
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url, min_size=1, max_size=connections, open=False, kwargs={"autocommit": True}
        )
        await pool.open(wait=True)
        try:
            models = [p for p in all_projections() if p.name in names]
            runner = ProjectionRunner(store, pool, models, batch_size=batch_size)
            await runner.setup()
            yield Projected(store, pool, runner)
        finally:
            await pool.close()
