"""Catches read models up from their tracked positions, one transaction per batch.

Rows and the new position commit together, so each event is applied exactly once even across
crashes; a row lock on the position lets two processes share a database without double-applying.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import anyio
import structlog
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from application.store import EventStoreApp
from projections.base import Effect, Envelope, Projection
from projections.legacy import drop_legacy_tables
from projections.schema import CONTROL_SCHEMA

log = structlog.get_logger()

Listener = Callable[[str, int, Effect], None]
POSITIONS = f"{CONTROL_SCHEMA}.projection_positions"
POLL_S = 1.0
DECODED_CACHE = 64  # events (an observation batch is up to 1,000 records)


async def ensure_control_tables(conn: AsyncConnection[Any]) -> None:
    """The control schema and the tracking table every read model records its position in."""
    await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {CONTROL_SCHEMA}")
    await conn.execute(
        f"CREATE TABLE IF NOT EXISTS {POSITIONS} ("
        "name text PRIMARY KEY, position bigint NOT NULL, version int NOT NULL)"
    )


class ProjectionRunner:
    """Runs every projection as its own task; notifies listeners after each commit."""

    def __init__(
        self,
        store: EventStoreApp,
        pool: AsyncConnectionPool[Any],
        projections: Sequence[Projection],
        batch_size: int | None = None,
    ) -> None:
        self._store = store
        self._batch_cap = batch_size  # tests shrink every model's batches to interleave more
        self._pool = pool
        self.projections = {p.name: p for p in projections}
        self.positions: dict[str, int] = {}
        self.errors: dict[str, str] = {}
        self._listeners: list[Listener] = []
        self._wakes: dict[str, asyncio.Event] = {}
        self._advanced = asyncio.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._decoded: OrderedDict[int, Any] = OrderedDict()

    def add_listener(self, listener: Listener) -> None:
        """Hear `(projection name, position, effect)` after each commit."""
        self._listeners.append(listener)

    def wake(self, _position: int = 0) -> None:
        """Thread-safe: new events exist; catch up now rather than at the next poll."""
        if self._loop is None:
            return
        for event in self._wakes.values():
            self._loop.call_soon_threadsafe(event.set)

    async def setup(self) -> None:
        """Create tables; rebuild any projection whose schema version changed."""
        async with self._pool.connection() as conn:
            await ensure_control_tables(conn)
            await drop_legacy_tables(conn)
            for projection in self.projections.values():
                row = await (
                    await conn.execute(
                        f"SELECT position, version FROM {POSITIONS} WHERE name = %s",
                        (projection.name,),
                    )
                ).fetchone()
                if row is not None and row[1] != projection.version:
                    log.warning("projection_schema_changed_rebuilding", projection=projection.name)
                    await self._reset(conn, projection)
                    row = None
                await self._create(conn, projection)
                if row is None:
                    await self._init_position(conn, projection)
                self.positions[projection.name] = row[0] if row else 0

    async def run(self) -> None:
        """Run until cancelled."""
        self._loop = asyncio.get_running_loop()
        await self.setup()
        async with anyio.create_task_group() as tg:
            for projection in self.projections.values():
                self._wakes[projection.name] = asyncio.Event()
                tg.start_soon(self._run_one, projection)

    async def catch_up(self, name: str, progress: Callable[[int, int], None] | None = None) -> int:
        """Apply everything up to the store's head now; return the position reached."""
        projection = self.projections[name]
        while True:
            head = await anyio.to_thread.run_sync(self._store.head)
            if self.positions[name] >= head:
                return self.positions[name]
            await self._step(projection, head)
            if progress:
                progress(self.positions[name], head)

    async def rebuild(self, name: str, progress: Callable[[int, int], None] | None = None) -> int:
        """Drop the read model and replay it from position 0."""
        projection = self.projections[name]
        async with self._pool.connection() as conn, conn.transaction():
            await ensure_control_tables(conn)
            await self._reset(conn, projection)
            await self._create(conn, projection)
            await self._init_position(conn, projection)
        self.positions[name] = 0
        return await self.catch_up(name, progress)

    async def wait_for(
        self, position: int, names: Sequence[str] | None = None, timeout: float = 10.0
    ) -> bool:
        """Wait until the named projections (default: all) have applied `position`."""
        wanted = list(names or self.projections)

        def reached() -> bool:
            return all(self.positions.get(n, 0) >= position for n in wanted)

        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout), self._advanced:
                await self._advanced.wait_for(reached)
        return reached()

    async def _run_one(self, projection: Projection) -> None:
        wake = self._wakes[projection.name]
        while True:
            try:
                await self.catch_up(projection.name)
                self.errors.pop(projection.name, None)
            except Exception as e:  # a projection bug or outage must not kill the others
                self.errors[projection.name] = f"{type(e).__name__}: {e}"
                log.exception("projection_failed", projection=projection.name)
                await asyncio.sleep(POLL_S)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_S):
                    await wake.wait()
            wake.clear()

    async def _step(self, projection: Projection, head: int) -> None:
        start = self.positions[projection.name]
        limit = min(projection.batch_events, self._batch_cap or projection.batch_events)
        topics = projection.topics
        notes = await anyio.to_thread.run_sync(
            lambda: self._store.read(start, limit, topics, stop=head)
        )
        batch = [Envelope(n.id, self._decode(n)) for n in notes]
        # A short page means nothing else of our topics exists up to the head we read first.
        new_position = notes[-1].id if len(notes) == limit else head
        effect: Effect = None
        async with self._pool.connection() as conn, conn.transaction():
            row = await (
                await conn.execute(
                    f"SELECT position FROM {POSITIONS} WHERE name = %s FOR UPDATE",
                    (projection.name,),
                )
            ).fetchone()
            if row is None or row[0] != start:
                # Another process (or a rebuild) moved it: adopt its position and retry.
                self.positions[projection.name] = row[0] if row else 0
                return
            if batch:
                effect = await projection.apply(conn, batch)
            await conn.execute(
                f"UPDATE {POSITIONS} SET position = %s WHERE name = %s",
                (new_position, projection.name),
            )
        await self._advance(projection.name, new_position, effect)

    def _decode(self, notification: Any) -> Any:
        """Decode once for every projection: they read the same events, and events never change."""
        event = self._decoded.get(notification.id)
        if event is None:
            event = self._store.mapper.to_domain_event(notification)
            self._decoded[notification.id] = event
            while len(self._decoded) > DECODED_CACHE:
                self._decoded.popitem(last=False)
        return event

    async def _advance(self, name: str, position: int, effect: Effect) -> None:
        self.positions[name] = position
        for listener in self._listeners:
            try:
                listener(name, position, effect)
            except Exception:  # a listener's bug must not stall or fail the projection
                log.exception("projection_listener_failed", projection=name)
        async with self._advanced:
            self._advanced.notify_all()

    @staticmethod
    async def _create(conn: AsyncConnection[Any], projection: Projection) -> None:
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {projection.schema}")
        await projection.create(conn)

    async def _reset(self, conn: AsyncConnection[Any], projection: Projection) -> None:
        await projection.drop(conn)
        await conn.execute(f"DELETE FROM {POSITIONS} WHERE name = %s", (projection.name,))

    async def _init_position(self, conn: AsyncConnection[Any], projection: Projection) -> None:
        await conn.execute(
            f"INSERT INTO {POSITIONS} (name, position, version) VALUES (%s, 0, %s) "
            "ON CONFLICT (name) DO NOTHING",
            (projection.name, projection.version),
        )
