"""The composition root of the syslog intake alone: `decnet collector` (the split topology) and
`decnet serve`'s intake child (`interfaces.cli.intake`, ADR 0024) — the database, the event store
and the collection, nothing else.

Both run the collector role only, so they are built here rather than by `bootstrap()`, whose
imports (HTTP, projections, fleet, emulators, live streams: ~1 s) they would pay at every start —
time in which syslog senders are refused. What they share with `bootstrap()` is built by the
same functions (`open_event_store`, `build_collection`, `announce_saves`, `serve_metrics`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from functools import partial

from application.observations.ingest import IngestCommands
from infrastructure.metrics import Snapshot
from infrastructure.settings import AppSettings
from interfaces.metrics import collection_snapshot, serve_metrics
from interfaces.observations import Collection, build_collection
from interfaces.store_core import StoreCore, open_event_store


@dataclass
class IntakeServices:
    """The intake's services: its event store and workers, and the collection."""

    core: StoreCore
    collection: Collection


@asynccontextmanager
async def bootstrap_intake(settings: AppSettings) -> AsyncIterator[IntakeServices]:
    """The syslog intake on the database of `settings`, torn down in reverse order on exit.

    With `DECNET_REDIS_URL` set its appends wake projectors through Redis, as every writer's do;
    without, the store's own PostgreSQL notification wakes `decnet serve`'s runner. With
    `DECNET_METRICS_PORT` set it serves the collection's counters on `/metrics` (`decnet serve`
    blanks it for its child: the parent serves them with its own).
    """
    async with AsyncExitStack() as stack:
        url, store = await stack.enter_async_context(open_event_store(settings))
        core = StoreCore(
            settings=settings, database_url=url, store=store, ingest=IngestCommands(store)
        )
        if settings.redis_url:
            # Imported only then: the Redis client is ~60 ms of the start of an intake that
            # never talks to Redis (`decnet serve` alone).
            from interfaces.wakeups import announcing_saves

            await stack.enter_async_context(
                announcing_saves(core, settings.redis_url, settings.redis_prefix)
            )
        # The data dir's `journal`: `decnet serve`'s emulators write `journal-fleet`.
        collection = build_collection(core)
        serve_metrics(core, partial(_snapshot, collection))
        yield IntakeServices(core, collection)


async def _snapshot(collection: Collection) -> Snapshot:
    """The collection's counters: an intake has no projections or SSE clients to report."""
    return collection_snapshot(collection)
