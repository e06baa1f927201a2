"""What every process opens first, and all that `decnet serve`'s intake child opens: the
database, its event store and the ingest commands, with the probes and workers roles add.

Nothing here imports the HTTP, projection, fleet or emulator stacks: the intake child's
composition root (`interfaces.intake_bootstrap`) is built on this module alone, and the full one
(`interfaces.bootstrap`) builds its `Core` on it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import anyio.to_thread
from anyio.abc import TaskGroup

from application.observations.ingest import IngestCommands
from application.ports import ComponentHealth
from application.store import EventStoreApp
from infrastructure.database import (
    Database,
    EmbeddedPostgres,
    prepare_schemas,
    prepare_when_reachable,
)
from infrastructure.settings import AppSettings
from projections.schema import CONTROL_SCHEMA

Probe = Callable[[], Awaitable[ComponentHealth]]
Worker = Callable[[TaskGroup], Awaitable[None]]


@dataclass(kw_only=True)
class StoreCore:
    """The settings and the event store of a process, with the probes and workers it runs."""

    settings: AppSettings
    database_url: str  # the external one, or the embedded server this process started
    store: EventStoreApp
    ingest: IngestCommands
    health: dict[str, Probe] = field(default_factory=dict)
    workers: list[Worker] = field(default_factory=list)

    def add_worker(self, worker: Worker) -> None:
        """Start `worker` with the process's task group once the process runs."""
        self.workers.append(worker)

    def add_follower(
        self,
        follow: Callable[..., Coroutine[Any, Any, None]],
        *args: object,
        wakes: Sequence[Callable[[], None]],
    ) -> None:
        """Run `follow(*args, wake)` as a worker: it hears another process's saves and calls
        `wake`, which wakes each of `wakes` (this process's runner and controller)."""

        def wake() -> None:
            for target in wakes:
                target()

        async def start(tg: TaskGroup) -> None:
            tg.start_soon(partial(follow, *args, wake))

        self.add_worker(start)

    async def start_workers(self, tg: TaskGroup) -> None:
        """Start every worker the process's roles registered."""
        for start in self.workers:
            await start(tg)


@asynccontextmanager
async def open_database(settings: AppSettings) -> AsyncIterator[Database]:
    """The external database if a URL is set, else the embedded one (stopped on exit)."""
    if settings.database_url:
        db = Database(url=settings.database_url)
        await anyio.to_thread.run_sync(
            prepare_when_reachable, db.url, settings.database_wait_s, CONTROL_SCHEMA
        )
        yield db
        return
    embedded = EmbeddedPostgres(settings.data_dir)
    db = await anyio.to_thread.run_sync(embedded.start)
    try:
        await anyio.to_thread.run_sync(prepare_schemas, db.url, CONTROL_SCHEMA)
        yield db
    finally:
        await anyio.to_thread.run_sync(embedded.stop)


async def stop_store_waits(store: EventStoreApp) -> None:
    """Once a process's workers are cancelled (a stop; for a split leader, its lock lost too):
    close the store's connection pool, so that worker threads still waiting for a connection
    give up now and a call holding one finishes. With the database unreachable each store call
    waits 5 s for a connection, ten times over (the library's retries), and a worker's thread
    cannot be cancelled: a stop took ~50 s. Nothing uses the store after this;
    `open_event_store` closes it again on the way out. The close runs on a thread of its own
    (it joins the pool's workers), shielded from the cancellation around it."""
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(store.close, limiter=anyio.CapacityLimiter(1))


@asynccontextmanager
async def open_event_store(settings: AppSettings) -> AsyncIterator[tuple[str, EventStoreApp]]:
    """The database's URL and its event store; the store is closed before the database."""
    async with open_database(settings) as db:
        store = await anyio.to_thread.run_sync(db.open_store)
        try:
            yield db.url, store
        finally:
            store.close()
