"""Catches read models up from their tracked positions, one transaction per batch.

Rows and the new position commit together, so each event is applied exactly once even across
crashes; a row lock on the position lets two processes share a database without double-applying.

Besides each live model, the runner drives *slots* beside it: a shadow that rebuilds a model from
position 0 in a schema of its own and then replaces the live one in one transaction
(`projections/swap.py`), and the models of as-of views, which stop at a position.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import anyio
import psycopg
import structlog
from anyio.abc import TaskGroup
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from application.store import EventStoreApp
from application.wakeup import stopping
from projections.base import Effect, Envelope, PreparesAhead, Projection
from projections.legacy import drop_legacy_tables
from projections.positions import (
    POSITIONS,
    delete_position,
    ensure_control_tables,
    init_position,
    read_position,
)
from projections.rates import RateMeter
from projections.schema import shadow_schema
from projections.status import SlotFacts, write_status
from projections.swap import SwapOutcome, swap_in

log = structlog.get_logger()

Listener = Callable[[str, int, Effect], None]
Progress = Callable[[int, int], None]
SlotKind = Literal["live", "shadow", "view"]
POLL_S = 1.0
SWAP_WINDOW = 64  # events: a shadow this close to the live model tries to swap in
DECODED_CACHE = 64  # events (an observation batch is up to 1,000 records)
GC_YOUNG_THRESHOLD = 50_000  # allocations between young collections (`tune_gc`)
# events applied in one catch-up of a live model after which its tables are vacuumed (an
# observation batch is up to 1,000 records: this is a first build or a long outage, not a
# live trickle)
BULK_CATCH_UP = 100
SPARE_WAIT_S = 0.5  # for a second connection to build indexes on (`_spare`)
INDEX_BUILD_MEMORY = "256MB"  # per index build of a shadow or view (sorts in memory, not disk)
AGGREGATE_MEMORY = "256MB"  # per hash aggregate of the same build (quarters: ~18 MB at 1M rows)
# A rebuilding slot that would read a page while a sibling has not yet taken the one before
# waits at most this long for it (pages shared between siblings: `_shared_page`).
SHARE_WAIT_S = 30.0


@dataclass
class Slot:
    """One model in one schema, tracked under its own key in the positions table."""

    key: str
    projection: Projection
    kind: SlotKind = "live"
    stop: int | None = None  # a view's last position; None follows the head
    frozen: bool = False  # a live model of an older version waits for its rebuild
    indexed: bool = False  # a shadow's or view's secondary indexes exist (built once caught up)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    meter: RateMeter = field(default_factory=RateMeter)
    scope: anyio.CancelScope | None = None
    ahead: asyncio.Task[Page] | None = None  # the next page, being read (`read_ahead` models)
    next_start: int | None = None  # where the page after the one being applied starts


@dataclass(frozen=True, slots=True)
class Page:
    """Events of a model's topics after `start`, and the position applying them reaches."""

    start: int
    batch: list[Envelope]
    end: int


# Topics, page size and undecoded topics: slots whose pages are the very same envelopes.
PageGroup = tuple[tuple[str, ...], int, frozenset[str]]


@dataclass(eq=False)
class SharedPage:
    """A page read once for the rebuilding slots of one group, until each has taken it."""

    group: PageGroup
    start: int
    task: asyncio.Task[tuple[list[Envelope], int]]
    waiting: set[str]  # keys of the slots expected to take it still
    taken: asyncio.Event = field(default_factory=asyncio.Event)


def shadow_key(name: str) -> str:
    """The positions key of a model's rebuild."""
    return f"{name}@next"


class SlotGoneError(Exception):
    """A shadow or view slot whose tracked position another process removed: it swapped the
    shadow in (or dropped the view) while this process was driving it too."""


class ProjectionRunner:
    """Runs every slot as its own task; notifies listeners after each live commit."""

    def __init__(
        self,
        store: EventStoreApp,
        pool: AsyncConnectionPool[Any],
        projections: Sequence[Projection],
        batch_size: int | None = None,
        factories: dict[str, Callable[[str], Projection]] | None = None,
    ) -> None:
        self._store = store
        self._pool = pool
        self.projections = {p.name: p for p in projections}
        self._factories = factories or {p.name: type(p) for p in projections}
        self._batch_cap = batch_size  # tests shrink every model's batches to interleave more
        self.slots: dict[str, Slot] = {p.name: Slot(p.name, p) for p in projections}
        self.positions: dict[str, int] = {}
        self.errors: dict[str, str] = {}
        self.head = 0
        self._listeners: list[Listener] = []
        self._on_swapped: list[Callable[[str, int], None]] = []
        self._advanced = asyncio.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tg: TaskGroup | None = None
        self._decoded: OrderedDict[int, Any] = OrderedDict()
        self._decoded_lock = threading.Lock()
        self._shared: dict[tuple[PageGroup, int, int], SharedPage] = {}

    def add_listener(self, listener: Listener) -> None:
        """Hear `(model name, position, effect)` after each live commit."""
        self._listeners.append(listener)

    def on_swapped(self, callback: Callable[[str, int], None]) -> None:
        """Hear `(model name, position)` when a rebuilt model has replaced the live one."""
        self._on_swapped.append(callback)

    def wake(self, _position: int = 0) -> None:
        """Thread-safe: new events exist; catch up now rather than at the next poll."""
        if self._loop is None:
            return
        for slot in list(self.slots.values()):
            self._loop.call_soon_threadsafe(slot.wake.set)

    async def setup(self) -> None:
        """Create tables; a model whose version changed keeps serving while it is rebuilt."""
        tune_gc()
        async with self._pool.connection() as conn:
            await ensure_control_tables(conn)
            await drop_legacy_tables(conn)
            for projection in self.projections.values():
                await self._setup_live(conn, projection)

    async def _setup_live(self, conn: AsyncConnection[Any], projection: Projection) -> None:
        slot = self.slots[projection.name]
        stored = await read_position(conn, projection.name)
        if stored is not None and stored.version != projection.version:
            log.warning("projection_version_changed", projection=projection.name)
            slot.frozen = True  # old tables: serve them as they are until the new ones swap in
            self.positions[slot.key] = stored.position
            await self._ensure_shadow(conn, projection.name)
            return
        await _create(conn, projection)
        await projection.create_indexes(conn)
        if stored is None:
            await init_position(conn, slot.key, projection.version)
        self.positions[slot.key] = stored.position if stored else 0
        shadow = await read_position(conn, shadow_key(projection.name))
        if shadow is not None:  # a rebuild was under way when the process stopped: resume it
            await self._ensure_shadow(conn, projection.name)

    async def run(self) -> None:
        """Run until cancelled."""
        self._loop = asyncio.get_running_loop()
        await self._set_up_when_reachable()
        async with anyio.create_task_group() as tg:
            self._tg = tg
            for slot in list(self.slots.values()):
                self._start(slot)
            tg.start_soon(self._follow_head)

    async def _set_up_when_reachable(self) -> None:
        """`setup`, again every second while the database cannot be reached: an outage in the
        first moments after a start (the process set up once before serving) must not end the
        process, as it ends no slot later on."""
        while True:
            try:
                await self.setup()
                return
            except psycopg.OperationalError as e:
                log.warning("projection_setup_failed", error=str(e))
                await asyncio.sleep(POLL_S)

    # -- public operations -------------------------------------------------------------------

    async def catch_up(self, name: str, progress: Progress | None = None) -> int:
        """Apply everything up to the store's head now to a live model; return its position."""
        return await self._catch_up(self.slots[name], progress)

    async def rebuild(self, name: str, progress: Progress | None = None) -> int:
        """Rebuild a model beside the live one and swap it in; return the position it went live at.

        Readers keep reading the live model meanwhile (the same path as `request_rebuild`,
        driven to completion here instead of by the slot's task).
        """
        async with self._pool.connection() as conn:
            slot = await self._ensure_shadow(conn, name, start=False)
        while True:
            try:
                await self._catch_up(slot, progress)
                outcome = await self._try_swap(slot)
            except (SlotGoneError, psycopg.Error):
                if not await self._gone_elsewhere(slot):
                    raise
                return await self._catch_up(self.slots[name])
            if outcome.swapped:
                return outcome.position
            if outcome.gone:
                return await self._catch_up(self.slots[name])
            await self._catch_up(self.slots[name])

    async def request_rebuild(self, name: str, request: int | None = None) -> bool:
        """Start rebuilding `name` beside the live model; False when one is already under way."""
        async with self._pool.connection() as conn:
            if shadow_key(name) in self.slots:
                return False
            await self._ensure_shadow(conn, name, request=request)
            return True

    def rebuilding(self) -> set[str]:
        """Models with a rebuild under way."""
        return {s.projection.name for s in self.slots.values() if s.kind == "shadow"}

    async def add_view_slot(self, key: str, projection: Projection, stop: int) -> Slot:
        """Build `projection` (bound to a view's schema) up to `stop`, resuming if tracked."""
        async with self._pool.connection() as conn:
            await _create(conn, projection)
            stored = await read_position(conn, key)
            if stored is None:
                await init_position(conn, key, projection.version)
        slot = Slot(key, projection, kind="view", stop=stop)
        self.positions[key] = stored.position if stored else 0
        self.slots[key] = slot
        self._start(slot)
        return slot

    async def index_slot(self, key: str, vacuum: bool = True) -> None:
        """Build a caught-up view or shadow slot's secondary indexes (once; idempotent).

        Then, unless the caller does it for a whole view schema, `vacuum_schema` of its schema.
        """
        slot = self.slots[key]
        if slot.indexed:
            return
        started = asyncio.get_running_loop().time()
        # A second connection, if one is spare and the model uses it: it builds some indexes
        # there at the same time (PostgreSQL builds each index on one core; the logs model's
        # are most of a rebuild's tail).
        spare = self._spare(slot.projection.indexes_aside)
        async with self._pool.connection() as conn, spare as side, conn.transaction():
            await conn.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'")
            # The logs model's dictionaries are aggregated from its rows here: in memory.
            await conn.execute(f"SET LOCAL work_mem = '{AGGREGATE_MEMORY}'")
            # One process at a time indexes a slot; the next finds them built (idempotent).
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"decnet-es:{key}:i",)
            )
            await slot.projection.create_indexes(conn, side)
        if vacuum:
            await self.vacuum_schema(slot.projection.schema)
        slot.indexed = True
        log.info(
            "projection_indexes_built",
            slot=key,
            seconds=round(asyncio.get_running_loop().time() - started, 2),
        )

    @contextlib.asynccontextmanager
    async def _spare(self, wanted: bool) -> AsyncIterator[AsyncConnection[Any] | None]:
        """A connection the pool can give at once, or None (or None when not `wanted`): waiting
        for a second connection while holding one could starve builders that each hold one (and
        the pool is shared)."""
        if not wanted:
            yield None
            return
        try:
            conn = await self._pool.getconn(timeout=SPARE_WAIT_S)
        except PoolTimeout:
            yield None
            return
        try:
            yield conn
        finally:
            await self._pool.putconn(conn)

    async def vacuum_schema(self, schema: str) -> None:
        """`VACUUM (ANALYZE)` every table of a freshly bulk-loaded schema: statistics for the
        planner, the visibility map for index-only scans, hint bits set now rather than by the
        first readers."""
        async with self._pool.connection() as conn:  # autocommit: VACUUM needs it
            listed = "SELECT tablename FROM pg_tables WHERE schemaname = %s"
            for (table,) in await (await conn.execute(listed, (schema,))).fetchall():
                await conn.execute(f'VACUUM (ANALYZE) {schema}."{table}"')

    async def remove_slot(self, key: str) -> None:
        """Stop a view or shadow slot and forget its position (its tables are the caller's)."""
        slot = self.slots.pop(key, None)
        if slot is not None and slot.scope is not None:
            slot.scope.cancel()
        self.positions.pop(key, None)
        self.errors.pop(key, None)
        async with self._pool.connection() as conn:
            await delete_position(conn, key)

    async def catch_up_slot(self, key: str) -> int:
        """Drive any slot (live, shadow or view) to its target now; return its position."""
        return await self._catch_up(self.slots[key])

    async def wait_for(
        self, position: int, names: Sequence[str] | None = None, timeout: float = 10.0
    ) -> bool:
        """Wait until the named live models (default: all) have applied `position`."""
        wanted = list(names or self.projections)

        def reached() -> bool:
            return all(self.positions.get(n, 0) >= position for n in wanted)

        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout), self._advanced:
                await self._advanced.wait_for(reached)
        return reached()

    def rate(self, key: str) -> float:
        """Events per second applied recently by a slot."""
        slot = self.slots.get(key)
        return slot.meter.rate() if slot else 0.0

    # -- slot tasks --------------------------------------------------------------------------

    def _start(self, slot: Slot) -> None:
        if self._tg is not None:
            self._tg.start_soon(self._run_slot, slot)

    async def _run_slot(self, slot: Slot) -> None:
        with anyio.CancelScope() as scope:
            slot.scope = scope
            while self.slots.get(slot.key) is slot:
                try:
                    await self._catch_up(slot)
                    if slot.kind == "shadow" and (await self._try_swap(slot)).ended:
                        return
                    self.errors.pop(slot.key, None)
                except Exception as e:  # a projection bug or outage must not kill the others
                    if slot.kind != "live" and await self._gone_elsewhere(slot):
                        return
                    self.errors[slot.key] = f"{type(e).__name__}: {e}"
                    if not stopping():
                        log.exception("projection_failed", slot=slot.key)
                    await asyncio.sleep(POLL_S)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(POLL_S):
                        await slot.wake.wait()
                slot.wake.clear()

    def facts(self) -> list[SlotFacts]:
        """What the status table should say of every live and shadow slot."""
        return [
            SlotFacts(key, self.errors.get(key), slot.meter.rate(), slot.frozen)
            for key, slot in list(self.slots.items())
            if slot.kind != "view"
        ]

    async def _follow_head(self) -> None:
        """Keep `head` fresh and publish each slot's health for every process to read."""
        while True:
            try:
                self.head = await anyio.to_thread.run_sync(self._store.head)
                await write_status(self._pool, self.facts())
            except Exception as e:  # the database may be briefly away; the slots report it
                if not stopping():
                    log.warning("projection_status_not_written", error=f"{type(e).__name__}: {e}")
            await anyio.sleep(POLL_S)

    async def _catch_up(self, slot: Slot, progress: Progress | None = None) -> int:
        begun = self.positions[slot.key]
        while True:
            head = await anyio.to_thread.run_sync(self._store.head)
            self.head = max(self.head, head)
            target = head if slot.stop is None else min(head, slot.stop)
            if slot.frozen or self.positions[slot.key] >= target:
                if slot.kind == "live" and self.positions[slot.key] - begun >= BULK_CATCH_UP:
                    # A first build or a long outage bulk-loaded the live tables: give the
                    # planner statistics and index-only scans a visibility map now, as a
                    # shadow gets before its swap, not whenever autovacuum comes (if it does).
                    await self.vacuum_schema(slot.projection.schema)
                return self.positions[slot.key]
            await self._step(slot, target)
            if progress:
                progress(self.positions[slot.key], target)

    async def _step(self, slot: Slot, target: int) -> None:
        projection = slot.projection
        start = self.positions[slot.key]
        limit = min(projection.batch_events, self._batch_cap or projection.batch_events)
        batch, new_position = await self._page(slot, start, limit, target)
        slot.next_start = new_position
        if projection.read_ahead and new_position < target:
            slot.ahead = _quiet(
                asyncio.ensure_future(self._page_at(projection, new_position, limit, target))
            )
        effect: Effect = None
        async with self._pool.connection() as conn, conn.transaction():
            row = await (
                await conn.execute(
                    f"SELECT position FROM {POSITIONS} WHERE name = %s FOR UPDATE", (slot.key,)
                )
            ).fetchone()
            if row is None and slot.kind != "live":
                raise SlotGoneError(slot.key)
            if row is None or row[0] != start:
                # Another process (or a swap) moved it: adopt its position and retry.
                self.positions[slot.key] = row[0] if row else 0
                slot.next_start = None
                return
            if batch:
                effect = await projection.apply(conn, batch)
            await conn.execute(
                f"UPDATE {POSITIONS} SET position = %s WHERE name = %s", (new_position, slot.key)
            )
        slot.meter.add(new_position - start)
        await self._advance(slot, new_position, effect)

    async def _page(
        self, slot: Slot, start: int, limit: int, target: int
    ) -> tuple[list[Envelope], int]:
        """The page after `start`: the one read ahead if it starts there, else read now.

        A page read ahead with an older target is still exact: it holds every event of the
        model's topics in `(start, end]`. One that starts elsewhere (another process or a swap
        moved the position) or failed is dropped, and the page is read again.
        """
        ahead, slot.ahead = slot.ahead, None
        if ahead is not None:
            await asyncio.wait([ahead])  # its failure is not ours: the page is read again
            if not ahead.cancelled() and ahead.exception() is None:
                page = ahead.result()
                if page.start == start:
                    return page.batch, page.end
        if slot.kind != "live" and not slot.projection.read_ahead:
            return await self._shared_page(slot, start, limit, target)
        return await self._read(slot.projection, start, limit, target)

    async def _shared_page(
        self, slot: Slot, start: int, limit: int, target: int
    ) -> tuple[list[Envelope], int]:
        """The page after `start`, read (and decoded) once for every rebuilding sibling.

        Shadows and views of models with the same topics, page size and undecoded topics (the
        histogram and the attackers) read the very same pages when they start from the same
        position, as a rebuild's do: the first to want a page reads it, each sibling about
        to read the same one takes it from here. A slot that would read a page while a sibling
        has not taken the previous one yet waits for it (at most `SHARE_WAIT_S`), so siblings
        stay within a page of each other and a page is decoded once, not once per model.
        Pages are the store's events, which never change; the key holds the target, so a page
        is only shared between reads that would return the same events.
        """
        group = self._group(slot)
        key = (group, start, target)
        entry = self._shared.get(key)
        if entry is None:
            await self._wait_for_siblings(slot, group, start)
            entry = self._shared.get(key)  # a sibling may have read it meanwhile
        if entry is None:
            peers = {
                other.key
                for other in self._siblings(slot, group)
                if self._next_start(other) == start
            }
            if not peers:
                return await self._read(slot.projection, start, limit, target)
            task = asyncio.ensure_future(self._read(slot.projection, start, limit, target))
            entry = SharedPage(group, start, _quiet(task), peers)
            self._shared[key] = entry
        else:
            entry.waiting.discard(slot.key)
            if entry.task.done() and not entry.task.cancelled() and not entry.task.exception():
                # Said now, before the sibling waiting for this take runs: it counts on us for
                # the next page.
                slot.next_start = entry.task.result()[1]
            if not entry.waiting:
                self._shared.pop(key, None)
                entry.taken.set()
        await asyncio.wait([entry.task])
        if entry.task.cancelled() or entry.task.exception() is not None:
            return await self._read(slot.projection, start, limit, target)  # not ours: again
        return entry.task.result()

    async def _wait_for_siblings(self, slot: Slot, group: PageGroup, start: int) -> None:
        """Wait until the siblings about to take an earlier page of the group have taken it;
        forget the pages nobody came for in time (a sibling gone, or moved elsewhere)."""
        for key, entry in list(self._shared.items()):
            if entry.group != group or entry.start >= start:
                continue  # this page or later ones: siblings ahead read them for us
            coming = {
                other.key
                for other in self._siblings(slot, group)
                if other.key in entry.waiting and self._next_start(other) == entry.start
            }
            if coming:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(SHARE_WAIT_S):
                        await entry.taken.wait()
            if not entry.taken.is_set() and self._shared.get(key) is entry:
                del self._shared[key]  # whoever still wants it reads it again

    def _siblings(self, slot: Slot, group: PageGroup) -> list[Slot]:
        """Other rebuilding slots reading the same pages as `slot`."""
        return [
            other
            for other in list(self.slots.values())
            if other is not slot
            and other.kind != "live"
            and not other.projection.read_ahead
            and self._group(other) == group
        ]

    def _group(self, slot: Slot) -> PageGroup:
        projection = slot.projection
        events = projection.batch_events
        limit = min(events, self._batch_cap or events)  # `_step`'s
        return tuple(projection.topics), limit, projection.undecoded

    def _next_start(self, slot: Slot) -> int:
        """Where the slot's next page starts (its position unless a page is being applied)."""
        return self.positions.get(slot.key, 0) if slot.next_start is None else slot.next_start

    async def _page_at(self, projection: Projection, start: int, limit: int, target: int) -> Page:
        batch, end = await self._read(projection, start, limit, target)
        return Page(start, batch, end)

    async def _read(
        self, projection: Projection, start: int, limit: int, target: int
    ) -> tuple[list[Envelope], int]:
        """The next events of the model's topics after `start`, and the position they reach."""
        topics, undecoded = projection.topics, projection.undecoded

        def read() -> list[Envelope]:
            notes = self._store.read(start, limit, topics, stop=target)
            if undecoded:
                return [
                    Envelope(n.id, None if n.topic in undecoded else self._decode(n), n)
                    for n in notes
                ]
            batch = [Envelope(n.id, self._decode(n), n) for n in notes]
            if batch and isinstance(projection, PreparesAhead):
                projection.prepare_ahead(batch)
            return batch

        # Decoded in the worker thread too: a page of 200 batch events is 200,000 records,
        # seconds of CPU that on the event loop would stall every request (issue 12).
        batch = await anyio.to_thread.run_sync(read)
        # A short page means nothing else of our topics exists up to the target.
        return batch, batch[-1].position if len(batch) == limit else target

    def _decode(self, notification: Any) -> Any:
        """Decode once for every model: they read the same events, and events never change.

        Thread-safe (slots read in worker threads); two slots may both decode an event once.
        """
        with self._decoded_lock:
            event = self._decoded.get(notification.id)
        if event is None:
            event = self._store.mapper.to_domain_event(notification)
            with self._decoded_lock:
                self._decoded[notification.id] = event
                while len(self._decoded) > DECODED_CACHE:
                    self._decoded.popitem(last=False)
        return event

    async def _advance(self, slot: Slot, position: int, effect: Effect) -> None:
        self.positions[slot.key] = position
        if slot.kind == "live":
            for listener in self._listeners:
                try:
                    listener(slot.key, position, effect)
                except Exception:  # a listener's bug must not stall or fail the projection
                    log.exception("projection_listener_failed", projection=slot.key)
        async with self._advanced:
            self._advanced.notify_all()

    # -- rebuilds ----------------------------------------------------------------------------

    async def _ensure_shadow(
        self,
        conn: AsyncConnection[Any],
        name: str,
        *,
        start: bool = True,
        request: int | None = None,
    ) -> Slot:
        """The shadow slot of `name`, created (or resumed from its tracked position)."""
        key = shadow_key(name)
        if key in self.slots:
            return self.slots[key]
        projection = self._factories[name](shadow_schema(name))
        # One process at a time starts or resumes a model's shadow: two starting together would
        # both create its schema (a unique violation) or one would drop the other's.
        async with conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"decnet-es:{key}",)
            )
            stored = await read_position(conn, key)
            if stored is not None and stored.version != projection.version:
                await delete_position(conn, key)  # an older rebuild's tables: start over
                stored = None
            if stored is None:
                await conn.execute(f"DROP SCHEMA IF EXISTS {projection.schema} CASCADE")
                await init_position(conn, key, projection.version, request)
                log.info("projection_rebuild_started", projection=name, request=request)
            await _create(conn, projection)
        slot = Slot(key, projection, kind="shadow")
        self.positions[key] = stored.position if stored else 0
        self.slots[key] = slot
        if start:
            self._start(slot)
        return slot

    async def _try_swap(self, slot: Slot) -> SwapOutcome:
        """Swap a caught-up shadow in for the live model (in one transaction)."""
        name = slot.projection.name
        live = self.slots[name]
        if not live.frozen and self.positions[name] - self.positions[slot.key] > SWAP_WINDOW:
            return SwapOutcome(False, self.positions[slot.key])
        if not slot.indexed:  # bulk-loaded without them: build them now, then catch up again
            await self.index_slot(slot.key)
            await self._catch_up(slot)
        outcome = await swap_in(
            self._pool, slot.projection, live.key, slot.key, self._read, live_frozen=live.frozen
        )
        if outcome.swapped:
            await self._swapped(slot, outcome.position)
            log.info("projection_rebuild_swapped_in", projection=name, position=outcome.position)
        elif outcome.gone:
            await self._forget(slot, outcome.position)
        return outcome

    async def _swapped(self, slot: Slot, position: int) -> None:
        """Forget a shadow now live at `position` (swapped in here or by another process)."""
        name = slot.projection.name
        live = self.slots[name]
        self.slots.pop(slot.key, None)
        self.positions.pop(slot.key, None)
        self.errors.pop(slot.key, None)
        live.frozen = False
        self.projections[name] = live.projection = self._factories[name](live.projection.schema)
        self.positions[name] = position
        live.wake.set()
        for callback in self._on_swapped:
            callback(name, position)
        async with self._advanced:
            self._advanced.notify_all()

    async def _gone_elsewhere(self, slot: Slot) -> bool:
        """Whether another process finished this shadow (swapped it in) or dropped this view:
        its tracked position is gone. Then the slot is forgotten here, quietly."""
        try:
            async with self._pool.connection() as conn:
                if await read_position(conn, slot.key) is not None:
                    return False
                live = await read_position(conn, slot.projection.name)
        except psycopg.Error:
            return False  # the database is away: not known to be gone
        await self._forget(slot, live.position if live else None)
        return True

    async def _forget(self, slot: Slot, live: int | None) -> None:
        """Forget a slot gone elsewhere: a shadow another process swapped in (the live model is
        at `live`) or a view dropped, unless already forgotten here."""
        if self.slots.get(slot.key) is not slot:
            return
        if slot.kind == "shadow" and live is not None:
            await self._swapped(slot, live)
            log.info("projection_rebuild_finished_elsewhere", projection=slot.projection.name)
        else:
            self.slots.pop(slot.key, None)
            self.positions.pop(slot.key, None)
            self.errors.pop(slot.key, None)


PageTask = TypeVar("PageTask", bound=asyncio.Task[Any])


def _quiet(task: PageTask) -> PageTask:
    """A read-ahead nobody may await (its slot was removed or moved): retrieve its outcome so
    asyncio does not log it as lost."""
    task.add_done_callback(lambda t: t.cancelled() or t.exception())
    return task


def tune_gc() -> None:
    """Collect young objects every 50,000 allocations instead of every 700.

    A batch of decoded events is tens of thousands of fresh, acyclic objects (records, their
    field dicts, the rows made of them) alive together; each collection those allocations
    trigger walks them again: a quarter of a rebuild's Python time (ADR 0023). Only the
    first generation's threshold changes, so cyclic garbage is still collected, a little later.
    """
    young, older, oldest = gc.get_threshold()
    gc.set_threshold(max(GC_YOUNG_THRESHOLD, young), older, oldest)


async def _create(conn: AsyncConnection[Any], projection: Projection) -> None:
    """The schema and tables (a live model's caller adds the indexes; shadows add them last)."""
    await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {projection.schema}")
    await projection.create(conn)
