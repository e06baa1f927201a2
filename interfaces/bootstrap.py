"""The composition root: one `bootstrap()` per process wires settings, stores and handlers."""

from __future__ import annotations

import secrets
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio.to_thread
import structlog
from psycopg_pool import AsyncConnectionPool

from application.identity.login import Authenticator
from application.identity.ratelimit import LoginRateLimiter
from application.identity.settings import SettingsCommands
from application.identity.users import UserCommands
from application.ports import ComponentHealth
from application.store import EventStoreApp
from domain.identity.roles import Role
from domain.identity.user import UsernameTakenError
from domain.shared.meta import SYSTEM
from infrastructure.auth.argon2_hasher import Argon2Hasher
from infrastructure.auth.jwt_tokens import JwtTokens
from infrastructure.database import Database, EmbeddedPostgres, prepare_schemas
from infrastructure.settings import AppSettings
from interfaces.container import Container
from interfaces.fleet import wire_fleet
from interfaces.observations import wire_observations
from interfaces.sniffing import wire_sniffer
from projections.attackers import AttackersProjection
from projections.base import Projection
from projections.fleet import FleetProjection
from projections.histogram import HistogramProjection
from projections.identity_queries import PostgresUserDirectory
from projections.logs import LogsProjection
from projections.runner import ProjectionRunner
from projections.schema import READ_SCHEMA
from projections.settings import SettingsProjection
from projections.users import UsersProjection

log = structlog.get_logger()


def all_projections() -> list[Projection]:
    """Every read model of this build, in the order they are set up."""
    return [
        UsersProjection(),
        SettingsProjection(),
        LogsProjection(),
        HistogramProjection(),
        AttackersProjection(),
        FleetProjection(),
    ]


@asynccontextmanager
async def open_database(settings: AppSettings) -> AsyncIterator[Database]:
    """The external database if a URL is set, else the embedded one (stopped on exit)."""
    if settings.database_url:
        db = Database(url=settings.database_url)
        await anyio.to_thread.run_sync(prepare_schemas, db.url, READ_SCHEMA)
        yield db
        return
    embedded = EmbeddedPostgres(settings.data_dir)
    db = await anyio.to_thread.run_sync(embedded.start)
    try:
        await anyio.to_thread.run_sync(prepare_schemas, db.url, READ_SCHEMA)
        yield db
    finally:
        await anyio.to_thread.run_sync(embedded.stop)


@asynccontextmanager
async def bootstrap(settings: AppSettings) -> AsyncIterator[Container]:
    """Everything one process needs, torn down in reverse order on exit."""
    async with AsyncExitStack() as stack:
        db = await stack.enter_async_context(open_database(settings))
        store = EventStoreApp(db.event_store_env())
        stack.callback(store.close)
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            db.url, min_size=2, max_size=12, open=False, kwargs={"autocommit": True}
        )
        await pool.open(wait=True, timeout=30)
        stack.push_async_callback(pool.close)
        runner = ProjectionRunner(store, pool, all_projections())
        store.on_saved(runner.wake)
        await runner.setup()
        hasher = Argon2Hasher(settings.argon2_profile)
        directory = PostgresUserDirectory(pool)
        secret = settings.jwt_secret or _throwaway_secret()
        container = Container(
            settings=settings,
            store=store,
            pool=pool,
            runner=runner,
            users=UserCommands(store, hasher),
            config=SettingsCommands(store),
            directory=directory,
            auth=Authenticator(
                directory, hasher, JwtTokens(secret, settings.jwt_ttl_s), LoginRateLimiter()
            ),
        )
        container.health["database"] = _database_probe(pool)
        wire_observations(container)
        wire_fleet(container)
        wire_sniffer(container)
        await anyio.to_thread.run_sync(ensure_admin, container)
        # Serve only once auth can see the bootstrap admin and current settings.
        for name in ("users", "settings"):
            await runner.catch_up(name)
        yield container


def _throwaway_secret() -> str:
    log.warning("jwt_secret_generated", reason="developer mode without DECNET_JWT_SECRET")
    return secrets.token_urlsafe(48)


def ensure_admin(container: Container) -> None:
    """Create the bootstrap admin once; a generated password is printed, never logged."""
    settings = container.settings
    if container.users.exists(settings.admin_user):
        return
    password = settings.admin_password or secrets.token_urlsafe(12)
    try:
        _, position = container.users.register(SYSTEM, settings.admin_user, password, Role.ADMIN)
    except UsernameTakenError:
        return  # another process sharing the database created it first
    log.info("bootstrap_admin_created", username=settings.admin_user, position=position)
    if settings.admin_password is None:
        print(
            f"\n  Bootstrap admin created: user {settings.admin_user!r}, password {password!r}\n"
            "  (shown once; you must change it at first login)\n",
            file=sys.stderr,
            flush=True,
        )


def _database_probe(pool: AsyncConnectionPool[Any]) -> Any:
    async def probe() -> ComponentHealth:
        try:
            async with pool.connection(timeout=2) as conn:
                await conn.execute("SELECT 1")
        except Exception as e:  # any failure to answer is the database failing
            return ComponentHealth("failing", f"{type(e).__name__}: {e}")
        return ComponentHealth("ok", "event store and read models reachable")

    return probe
