"""Every read model on a real PostgreSQL with the rebuild and view machinery, for integration tests.

`World` wires the event store, the runner with every projection, the view controller and the
command handlers that write events; `dump_*` read a set of models back as rows ordered by key,
so two sets (live, rebuilt, a view) can be compared table by table.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio.to_thread
from psycopg_pool import AsyncConnectionPool

from application.fleet.settings import SettingsCommands
from application.identity.users import UserCommands
from application.observations.ingest import IngestCommands
from application.readmodels.commands import ReadModelCommands
from application.readmodels.history import position_at
from application.store import EventStoreApp
from projections.catalog import FACTORIES, VIEW_MODELS, all_projections
from projections.controller import ReadModelController
from projections.positions import ensure_control_tables
from projections.runner import ProjectionRunner
from projections.schema import live_schema, view_schema
from projections.views import ViewRegistry, view_key
from tests.integration.stores import event_store
from tests.unit.identity.fakes import FakeHasher

PRIMARY_KEYS = """
SELECT c.relname, string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord)
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
WHERE i.indisprimary AND n.nspname = %s
GROUP BY c.relname
"""
Rows = dict[str, list[tuple[Any, ...]]]


@dataclass
class World:
    """The store, the read models and the handlers that write to the store."""

    store: EventStoreApp
    pool: AsyncConnectionPool[Any]
    runner: ProjectionRunner
    controller: ReadModelController
    commands: ReadModelCommands
    views: ViewRegistry
    ingest: IngestCommands
    users: UserCommands
    settings: SettingsCommands

    async def head(self) -> int:
        """The store's newest position."""
        return int(await anyio.to_thread.run_sync(self.store.head))

    async def catch_up_all(self) -> int:
        """Every live model up to the head; the head."""
        for name in self.runner.projections:
            await self.runner.catch_up(name)
        return await self.head()

    async def build_views(self) -> None:
        """Reconcile views with the control stream and drive them until none is building."""
        for _ in range(200):
            await self.controller.reconcile()
            building = [v.label for v in await self.views.infos() if v.state == "building"]
            if not building:
                await self.controller.reconcile()  # drops of views no longer wanted
                return
            for label in building:
                for model in VIEW_MODELS:
                    if view_key(label, model) in self.runner.slots:
                        await self.runner.catch_up_slot(view_key(label, model))
        raise AssertionError("views did not finish building")


@asynccontextmanager
async def world(
    url: str, max_views: int = 5, batch_size: int | None = None
) -> AsyncIterator[World]:
    """A world on the database at `url`, closed on exit."""
    with event_store(url) as store:
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url, min_size=1, max_size=4, open=False, kwargs={"autocommit": True}
        )
        await pool.open(wait=True)
        try:
            async with pool.connection() as conn:
                await ensure_control_tables(conn)
            runner = ProjectionRunner(
                store, pool, all_projections(), batch_size=batch_size, factories=FACTORIES
            )
            await runner.setup()
            commands = ReadModelCommands(
                store, list(FACTORIES), partial(position_at, store), max_views
            )
            controller = ReadModelController(runner, commands, pool, FACTORIES, VIEW_MODELS)
            yield World(
                store=store,
                pool=pool,
                runner=runner,
                controller=controller,
                commands=commands,
                views=ViewRegistry(pool),
                ingest=IngestCommands(store),
                users=UserCommands(store, FakeHasher()),
                settings=SettingsCommands(store),
            )
        finally:
            await pool.close()


async def dump_schema(pool: AsyncConnectionPool[Any], schema: str) -> Rows:
    """Every row of every table in `schema`, by table name, ordered by primary key."""
    rows: Rows = {}
    async with pool.connection() as conn:
        keys = dict(await (await conn.execute(PRIMARY_KEYS, (schema,))).fetchall())
        tables = await conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (schema,),
        )
        for (name,) in await tables.fetchall():
            order = keys.get(name, "t::text")
            cursor = await conn.execute(f"SELECT * FROM {schema}.{name} AS t ORDER BY {order}")
            rows[name] = list(await cursor.fetchall())
    return rows


async def dump_live(pool: AsyncConnectionPool[Any], models: Sequence[str]) -> Rows:
    """The live tables of `models`, by table name."""
    rows: Rows = {}
    for model in models:
        rows.update(await dump_schema(pool, live_schema(model)))
    return rows


async def dump_view(pool: AsyncConnectionPool[Any], label: str) -> Rows:
    """Every table of a view, by table name."""
    return await dump_schema(pool, view_schema(label))
