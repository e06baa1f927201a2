"""The fleet read model on real PostgreSQL: SPEC `/deckies` rows, counts, and replay equality."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from psycopg_pool import AsyncConnectionPool

from application.fleet.commands import FleetCommands
from application.fleet.settings import SettingsCommands
from application.ports import RuntimeReport
from application.store import EventStoreApp
from domain.shared.meta import CommandMeta
from infrastructure.database import Database, prepare_schemas
from projections.fleet import FleetProjection
from projections.fleet_queries import FleetQueries
from projections.runner import ProjectionRunner
from projections.schema import CONTROL_SCHEMA, live_schema
from projections.settings import SettingsProjection
from tests.unit.fleet.fakes import FakeClock, fleet_commands

pytestmark = pytest.mark.anyio
META = CommandMeta()
INI = (
    "[web]\narchetype = web-server\nip = 127.90.5.1\nmutate_interval = 5d\n"
    "[db]\nservices = mysql, redis\nip = 127.90.5.2\n[db.redis]\npassword = hunter2\n"
    "[gone]\nservices = ssh\nip = 127.90.5.3\n"
)


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[tuple[EventStoreApp, ProjectionRunner, Any]]:
    """A PostgreSQL store, a runner with the fleet and settings read models, and its pool."""
    prepare_schemas(database_url, CONTROL_SCHEMA)
    store = EventStoreApp(Database(database_url).event_store_env(pool_size=2))
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        database_url, min_size=1, max_size=4, open=False, kwargs={"autocommit": True}
    )
    await pool.open(wait=True)
    runner = ProjectionRunner(
        store,
        pool,
        [FleetProjection(live_schema("fleet")), SettingsProjection(live_schema("settings"))],
    )
    await runner.setup()
    yield store, runner, pool
    await pool.close()
    store.close()


def run_scenario(commands: FleetCommands, clock: FakeClock, settings: SettingsCommands) -> None:
    """Deploy, report, mutate, change intervals and tear one decky down."""
    commands.deploy(META, INI)
    for name, ports in (("web", {"http": 80, "ftp": 21}), ("db", {"mysql": 3306, "redis": 6379})):
        commands.record_status(name, RuntimeReport("running", "", ports))
    clock.advance(minutes=7)
    commands.mutate(META, "db")
    commands.record_status("gone", RuntimeReport("failed", "address in use"))
    commands.tear_down(META, "gone")
    commands.set_interval(META, "web", None)
    settings.set_global_mutation_interval(META, 1440)


async def test_deckies_rows_and_rebuild(
    world: tuple[EventStoreApp, ProjectionRunner, Any],
) -> None:
    """Rows carry every SPEC field; effective intervals follow settings; a rebuild is identical."""
    store, runner, pool = world
    clock = FakeClock()
    run_scenario(fleet_commands(store, clock), clock, SettingsCommands(store))
    for name in ("fleet", "settings"):
        await runner.catch_up(name)
    queries = FleetQueries(pool)
    deckies = [msgspec.structs.asdict(d) for d in await queries.deckies()]
    assert [d["name"] for d in deckies] == ["web", "db"]
    web, db = deckies
    assert web["ports"] == {"http": 80, "ftp": 21}
    assert (web["status"], web["mutate_interval"], web["effective_mutate_interval"]) == (
        "running",
        None,
        "1d",
    )
    assert (web["deployed_at"], web["last_mutated"]) == ("2026-01-01T00:00:00Z", None)
    assert web["next_mutation_at"] == "2026-01-02T00:00:00Z"
    assert db["status"] == "pending"  # mutated; the runtime has not reported since
    assert set(db["ports"]) <= set(db["services"])
    assert db["last_mutated"] == "2026-01-01T00:07:00Z"
    assert db["service_config"] == {"redis": {"password": "hunter2"}}
    await runner.rebuild("fleet")
    assert [msgspec.structs.asdict(d) for d in await queries.deckies()] == deckies
