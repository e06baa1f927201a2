"""The composition root: one `bootstrap()` per process builds the services its roles need."""

from __future__ import annotations

import functools
import secrets
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from typing import Any

import anyio.to_thread
import structlog
from anyio.abc import TaskGroup
from psycopg_pool import AsyncConnectionPool

from application.audit.checkpointer import Checkpointer, key_mismatch
from application.fleet.settings import SettingsCommands
from application.identity.login import Authenticator
from application.identity.login_events import LoginEvents
from application.identity.sessions import SessionCache
from application.identity.users import UserCommands
from application.observations.ingest import IngestCommands
from application.observations.purge import PurgeObservations
from application.ports import Broadcaster, ComponentHealth
from application.readmodels.commands import ReadModelCommands
from application.readmodels.feed import ProjectionStatusFeed
from application.readmodels.history import position_at
from application.reads.ports import ProjectionProgress
from domain.identity.roles import Role as UserRole
from domain.identity.user import UsernameTakenError
from domain.shared.meta import SYSTEM
from infrastructure.artifacts.store import ArtifactStore
from infrastructure.audit.signing import SigningKey
from infrastructure.auth.argon2_hasher import Argon2Hasher
from infrastructure.auth.jwt_tokens import JwtTokens
from infrastructure.auth.secret_file import load_or_create_secret
from infrastructure.eventstore.notifications import follow_notifications, store_channel
from infrastructure.leadership import SESSION_END_S, AdvisoryLeadership
from infrastructure.read_pool import READ_SESSION, AutocommitPool
from infrastructure.settings import AppSettings
from interfaces.fleet import ReadModelSettler, build_fleet, fleet_commands
from interfaces.http.stream_lifetime import StreamSlots
from interfaces.live import Live, open_live, publish_commits
from interfaces.metrics_snapshot import add_metrics
from interfaces.observations import Collection, build_collection
from interfaces.services import (
    ALL_ROLES,
    LEADING_ROLES,
    SERVE_ROLES,
    ApiServices,
    Core,
    FleetServices,
    Role,
    Services,
    leader_lock,
)
from interfaces.sniffing import wire_sniffer
from interfaces.status import status_sources
from interfaces.store_core import Probe, Worker, open_event_store
from projections.catalog import FACTORIES, VIEW_MODELS, all_projections
from projections.controller import ReadModelController
from projections.history_queries import HistoryQueries
from projections.identity_queries import PostgresUserDirectory
from projections.merkle_queries import TreeQueries
from projections.positions import ensure_control_tables
from projections.progress import PublishedProgress
from projections.readers import PostgresReadModels
from projections.runner import DECODED_CACHE, ProjectionRunner
from projections.status import PostgresProjectionFacts
from projections.views import ViewRegistry

log = structlog.get_logger()
POOL_MAX = 12
POOL_WAIT_S = 10.0  # a request waits this long for a read connection, then answers 503
POOL_RECONNECT_S = 8.0
# A live projector (`decnet serve`'s, a split `decnet projector`): the intake or the collector
# can run far ahead of the projections. A model reading its default 200 batch events (~200,000
# records) per step decodes them on its own, each model a copy (1.5 GB peak at 500,000 records);
# steps within the runner's decoded-event cache (64) let the models share one decoded copy
# (ADR 0024 has the figures).
LIVE_STEP_EVENTS = DECODED_CACHE // 2
READY_WAIT_S = 30.0


@asynccontextmanager
async def open_core(settings: AppSettings) -> AsyncIterator[Core]:
    """The database, the event store and the read-model pool, closed in reverse order."""
    async with AsyncExitStack() as stack:
        url, store = await stack.enter_async_context(open_event_store(settings))
        pool: AsyncConnectionPool[Any] = AutocommitPool(
            url,
            min_size=2,
            max_size=POOL_MAX,
            timeout=POOL_WAIT_S,
            # psycopg_pool doubles its delay between reconnection attempts until this passes,
            # then gives up on that connection; the next request that waits starts a fresh
            # attempt. Short, so a database back after an outage is used within seconds.
            reconnect_timeout=POOL_RECONNECT_S,
            open=False,
            kwargs={"autocommit": True, "options": READ_SESSION},
        )
        await pool.open(wait=True, timeout=30)
        stack.push_async_callback(pool.close)
        hasher = Argon2Hasher(settings.argon2_profile)
        key = await anyio.to_thread.run_sync(SigningKey.load_or_create, settings.signing_key_path)
        tree = TreeQueries(pool)
        core = Core(
            settings=settings,
            database_url=url,
            store=store,
            pool=pool,
            hasher=hasher,
            artifacts=ArtifactStore(settings.artifacts_dir),
            read_models=PostgresReadModels(pool),
            directory=PostgresUserDirectory(pool),
            users=UserCommands(store, hasher),
            config=SettingsCommands(store),
            ingest=IngestCommands(store),
            read_model_commands=ReadModelCommands(
                store, list(FACTORIES), partial(position_at, store), settings.max_views
            ),
            views=ViewRegistry(pool),
            projection_facts=PostgresProjectionFacts(pool, list(FACTORIES)),
            history=HistoryQueries(pool),
            tree=tree,
            signing_key=key,
            checkpointer=Checkpointer(
                store, tree, key, settings.checkpoint_every_events, settings.checkpoint_every_s
            ),
        )
        async with pool.connection() as conn:
            await ensure_control_tables(conn)
        core.health["database"] = _database_probe(pool)
        core.health["signing_key"] = _signing_key_probe(tree, key)
        yield core


@asynccontextmanager
async def bootstrap(
    settings: AppSettings, roles: frozenset[Role] = ALL_ROLES
) -> AsyncIterator[Services]:
    """Everything one process with these roles needs, torn down in reverse order on exit.

    A split projector or fleet process does not start its work here: it must first lead
    (`interfaces.cli.processes`); `decnet serve` (every role but the collector, which its child
    process runs: `interfaces.intake`) runs everything at once. The processes that run the
    collector role alone, that child and the split `decnet collector`, are built by
    `interfaces.intake_bootstrap`; here the role comes only with all the others.
    """
    async with AsyncExitStack() as stack:
        core = await stack.enter_async_context(open_core(settings))
        leads = await _lead_or_refuse(stack, core) if roles == SERVE_ROLES else ()
        live = await stack.enter_async_context(open_live(settings))
        core.health["redis"] = live.probe
        embedded = roles in (ALL_ROLES, SERVE_ROLES)
        runner = controller = None
        if Role.PROJECTOR in roles:
            runner, controller = _projector(core, live)
            if embedded:
                await runner.setup()
            if roles == SERVE_ROLES:
                _follow_intake_appends(core, live, runner.wake, controller.wake)
        if Role.PROJECTOR not in roles or Role.API in roles or Role.COLLECTOR in roles:
            live.announce_saves(core)  # writers here; projectors elsewhere
        progress = runner if runner is not None else _published_progress(core, live)
        collection = _collection(
            core, roles, "journal-fleet" if roles == SERVE_ROLES else "journal"
        )
        commands = fleet_commands(core)
        fleet_workers = None
        if Role.FLEET in roles:
            fleet_workers = build_fleet(core, commands, collection.sink if collection else None)
        settler = fleet_workers.reconciler if fleet_workers else None
        api = ApiServices(
            auth=_authenticator(core, live, _session_cache(runner, live, embedded)),
            progress=progress,
            broadcaster=live.broadcaster,
            purge=PurgeObservations(core.ingest, progress, core.read_models.live()),
            tickets=live.tickets,
            slots=StreamSlots(settings.max_streams_per_user),
        )
        services = Services(
            core=core,
            roles=roles,
            api=api,
            fleet=FleetServices(
                commands, settler or ReadModelSettler(progress, core.read_models.live().fleet)
            ),
            runner=runner,
            controller=controller,
            collection=collection,
            fleet_workers=fleet_workers,
            leads=leads,
        )
        core.health["attacker_worker"] = _projection_probe(services, "attackers")
        add_metrics(core, services)
        if collection is not None and Role.FLEET in roles:
            wire_sniffer(core, collection.sink, settings.runtime)
        if Role.API in roles:
            await _ready_to_authenticate(core, runner, progress, embedded)
        yield services


async def _lead_or_refuse(stack: AsyncExitStack, core: Core) -> tuple[AdvisoryLeadership, ...]:
    """`decnet serve` leads its database's projections and fleet, or does not start: a second
    server (or a split projector or fleet) on the same database would run a second fleet, and
    its users model would miss commits the other applied (`_session_cache`)."""
    leads = tuple(leader_lock(core.database_url, role) for role in LEADING_ROLES)
    for lead in leads:
        await stack.enter_async_context(lead.hold(wait_s=SESSION_END_S))
    return leads


def _projector(core: Core, live: Live) -> tuple[ProjectionRunner, ReadModelController]:
    """Every projection, the read-model controller and the status feed (one leader runs them),
    each model reading at most `LIVE_STEP_EVENTS` events per transaction."""
    runner = ProjectionRunner(
        core.store, core.pool, all_projections(), batch_size=LIVE_STEP_EVENTS, factories=FACTORIES
    )
    core.store.on_saved(runner.wake)
    controller = ReadModelController(
        runner, core.read_model_commands, core.pool, FACTORIES, VIEW_MODELS
    )
    core.store.on_saved(controller.wake)
    runner.on_swapped(controller.wake)
    runner.add_listener(publish_commits(live.broadcaster))
    live.follow_saves(core, runner.wake, controller.wake)
    core.add_worker(_feed_worker(core, live.broadcaster))
    core.add_worker(_checkpoint_worker(core))
    return runner, controller


def _follow_intake_appends(core: Core, live: Live, *wakes: Callable[[], None]) -> None:
    """Wake the runner when `decnet serve`'s intake process appends: by the store's own
    PostgreSQL notification (no Redis there), else at the runner's next poll (1 s)."""
    if live.redis is not None:
        return  # the intake announces its saves on Redis, which `follow_saves` hears
    channel = store_channel(core.store.recorder)
    core.add_follower(follow_notifications, core.database_url, channel, wakes=wakes)


def _published_progress(core: Core, live: Live) -> PublishedProgress:
    """Read-your-writes from the projector's announcements (it runs in another process)."""
    progress = PublishedProgress(core.pool, live.broadcaster, list(FACTORIES))

    async def start(tg: TaskGroup) -> None:
        tg.start_soon(progress.run)

    core.add_worker(start)
    return progress


def _collection(core: Core, roles: frozenset[Role], journal: str) -> Collection | None:
    """The syslog intake in a process of every role; a fleet process alone journals its own
    emulators (`decnet serve` in a journal of their own: its intake child owns `journal`)."""
    if Role.COLLECTOR in roles:
        return build_collection(core, journal=journal)
    if Role.FLEET in roles:
        return build_collection(core, listen=False, journal=journal)
    return None


async def _ready_to_authenticate(
    core: Core, runner: ProjectionRunner | None, progress: ProjectionProgress, embedded: bool
) -> None:
    """Serve only once auth can see the bootstrap admin and current settings."""
    position = await anyio.to_thread.run_sync(ensure_admin, core)
    if embedded and runner is not None:
        for name in ("users", "settings"):
            await runner.catch_up(name)
        return
    if not await progress.wait_for(position, ["users", "settings"], timeout=READY_WAIT_S):
        log.warning("api_started_before_projector", position=position)


def _feed_worker(core: Core, broadcaster: Broadcaster) -> Worker:
    """Read-model status changes for admins' streams, published where the projector runs."""
    feed = ProjectionStatusFeed(status_sources(core.store, core.projection_facts), broadcaster)

    async def start(tg: TaskGroup) -> None:
        tg.start_soon(feed.run)

    return start


def _checkpoint_worker(core: Core) -> Worker:
    """Signed checkpoints of the tamper-evidence tree (every process may sign; sizes dedupe)."""

    async def start(tg: TaskGroup) -> None:
        tg.start_soon(core.checkpointer.run)

    return start


def _authenticator(core: Core, live: Live, sessions: SessionCache | None) -> Authenticator:
    settings = core.settings
    tokens = JwtTokens(signing_secret(settings), settings.jwt_ttl_s)
    return Authenticator(
        core.directory,
        core.hasher,
        tokens,
        live.throttle,
        live.denylist,
        journal=LoginEvents(core.store),
        sessions=sessions,
    )


def _session_cache(
    runner: ProjectionRunner | None, live: Live, embedded: bool
) -> SessionCache | None:
    """Sessions are kept only by a `decnet serve` that shares nothing through Redis: the one
    process serving its fleet, whose own runner applies every change to the users model and
    tells the cache at once (ADR 0022). Elsewhere a commit may come from another process."""
    if runner is None or not embedded or live.redis is not None:
        return None
    cache = SessionCache()

    def committed(name: str, *_: object) -> None:
        if name == "users":
            cache.invalidate()

    runner.add_listener(committed)
    runner.on_swapped(committed)
    return cache


def signing_secret(settings: AppSettings) -> Callable[[], str]:
    """`DECNET_JWT_SECRET`, else the data dir's secret file, read (or made) at first use only:
    commands that never sign or check a token never need one."""
    configured = settings.jwt_secret
    if configured is not None:
        return lambda: configured
    return functools.cache(partial(load_or_create_secret, settings.data_dir))


def ensure_admin(core: Core) -> int:
    """Create the bootstrap admin once; a generated password is printed, never logged.

    Returns the store's head, which the users model must reach before logins see the admin.
    """
    settings = core.settings
    if core.users.exists(settings.admin_user):
        return core.store.head()
    password = settings.admin_password or secrets.token_urlsafe(12)
    try:
        _, position = core.users.register(SYSTEM, settings.admin_user, password, UserRole.ADMIN)
    except UsernameTakenError:
        return core.store.head()  # another process sharing the database created it first
    log.info("bootstrap_admin_created", username=settings.admin_user, position=position)
    if settings.admin_password is None:
        print(
            f"\n  Bootstrap admin created: user {settings.admin_user!r}, password {password!r}\n"
            "  (shown once; you must change it at first login)\n",
            file=sys.stderr,
            flush=True,
        )
    return position


def _database_probe(pool: AsyncConnectionPool[Any]) -> Probe:
    async def probe() -> ComponentHealth:
        try:
            async with pool.connection(timeout=2) as conn:
                await conn.execute("SELECT 1")
        except Exception as e:  # any failure to answer is the database failing
            return ComponentHealth("failing", f"{type(e).__name__}: {e}")
        return ComponentHealth("ok", "event store and read models reachable")

    return probe


def _signing_key_probe(tree: TreeQueries, key: SigningKey) -> Probe:
    """Whether this process's key is the one the history's checkpoints are signed by: a process
    with a key of its own (its own data directory, no shared `DECNET_SIGNING_KEY_FILE`) signs
    nothing, exports no evidence and verifies nothing of the history."""

    async def probe() -> ComponentHealth:
        fingerprint = key.fingerprint()
        try:
            latest = await tree.latest_checkpoint()
        except Exception as e:  # the database's own component says more
            return ComponentHealth("failing", f"{fingerprint}; checkpoints unreadable: {e}")
        mismatch = key_mismatch(latest, fingerprint)
        if mismatch is not None:
            return ComponentHealth("failing", mismatch)
        return ComponentHealth("ok", f"{fingerprint} signs the history's checkpoints")

    return probe


def _projection_probe(services: Services, name: str) -> Probe:
    async def probe() -> ComponentHealth:
        runner = services.runner
        if runner is None:
            return ComponentHealth("disabled", "no projector in this process")
        error = runner.errors.get(name)
        if error:
            return ComponentHealth("failing", error)
        # Abandoned when /health's deadline passes: a store waiting for a connection slot
        # must not hold the route.
        head = await anyio.to_thread.run_sync(services.core.store.head, abandon_on_cancel=True)
        lag = head - runner.positions.get(name, 0)
        return ComponentHealth("ok", f"attacker profiles {lag} events behind the store")

    return probe
