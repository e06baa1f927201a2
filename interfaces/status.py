"""Where read-model status facts come from, for the route, the stream feed and the CLI."""

from __future__ import annotations

from datetime import datetime
from functools import partial

import anyio.to_thread

from application.readmodels.history import recorded_at
from application.readmodels.status import StatusSources
from application.store import EventStoreApp
from projections.status import PostgresProjectionFacts


def status_sources(store: EventStoreApp, facts: PostgresProjectionFacts) -> StatusSources:
    """Stored facts, the store's head, and when the oldest unapplied event was recorded."""

    async def head() -> int:
        return int(await anyio.to_thread.run_sync(store.head))

    async def oldest(position: int) -> datetime | None:
        return await anyio.to_thread.run_sync(partial(recorded_at, store, position))

    return StatusSources(facts.models, head, oldest)
