"""Fleet invariants under real concurrency: two processes' handlers on one PostgreSQL store."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from application.fleet.commands import FleetCommands
from application.fleet.scheduler import MutationScheduler
from application.fleet.settings import SettingsCommands
from application.store import EventStoreApp
from domain.fleet.errors import FleetConflictError
from domain.fleet.fleet import Fleet
from domain.shared.meta import CommandMeta
from infrastructure.database import Database, prepare_schemas
from tests.unit.fleet.fakes import FakeClock, events_of, fleet_commands

META = CommandMeta()


class BarrierStore(EventStoreApp):
    """Holds its first save until every racer has decided, so the race is real every time."""

    barrier: threading.Barrier | None = None

    def save_all(self, *objs: Any) -> int:
        barrier, self.barrier = self.barrier, None
        if barrier is not None:
            barrier.wait(timeout=10)
        return super().save_all(*objs)


@pytest.fixture
def stores(database_url: str) -> Iterator[Callable[[], BarrierStore]]:
    """Makes stores on one fresh database, as separate `decnet serve` processes would have."""
    prepare_schemas(database_url)
    made: list[BarrierStore] = []

    def make() -> BarrierStore:
        store = BarrierStore(Database(database_url).event_store_env(pool_size=2))
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads at once; each result or the exception it raised."""

    def outcome(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as e:  # the outcome under test may be an exception
            return e

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(outcome, calls))


def test_racing_deploys_for_the_last_slot(stores: Callable[[], BarrierStore]) -> None:
    """Two processes deploy into the last free slot at once: exactly one wins, the other 409s."""
    first, second = stores(), stores()
    SettingsCommands(first).set_deployment_limit(META, 2)
    fleet_commands(first).deploy(META, "[old]\nservices = ssh\nip = 127.90.9.1\n")
    barrier = threading.Barrier(2)
    first.barrier = second.barrier = barrier
    a, b = fleet_commands(first), fleet_commands(second)
    results = race(
        lambda: a.deploy(META, "[left]\nservices = ssh\nip = 127.90.9.2\n"),
        lambda: b.deploy(META, "[right]\nservices = ssh\nip = 127.90.9.3\n"),
    )
    conflicts = [r for r in results if isinstance(r, FleetConflictError)]
    assert len(conflicts) == 1, results
    assert "deployment limit of 2" in str(conflicts[0])
    deployed = [e.spec.name for e in events_of(first, Fleet.DeckyDeployed)]
    assert len(deployed) == 2
    assert deployed[0] == "old"


def test_many_racers_for_one_slot(stores: Callable[[], BarrierStore]) -> None:
    """Six processes deploy one decky each with a limit of one: exactly one deploy is stored."""
    racers = [stores() for _ in range(6)]
    SettingsCommands(racers[0]).set_deployment_limit(META, 1)
    barrier = threading.Barrier(len(racers))
    for store in racers:
        store.barrier = barrier
    commands = [fleet_commands(store) for store in racers]
    results = race(
        *(
            lambda c=c, i=i: c.deploy(META, f"[d{i}]\nservices = ssh\n")
            for i, c in enumerate(commands)
        )
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1, results
    assert all(isinstance(r, FleetConflictError) for r in results if isinstance(r, Exception))
    assert len(events_of(racers[0], Fleet.DeckyDeployed)) == 1


class ReadBarrier(FleetCommands):
    """Scheduler handlers that wait, after reading the fleet, until every scheduler has read it."""

    barrier: threading.Barrier

    def fleet(self) -> Fleet | None:
        fleet = super().fleet()
        self.barrier.wait(timeout=10)
        return fleet


def test_two_schedulers_on_one_database(stores: Callable[[], BarrierStore]) -> None:
    """Two processes' schedulers see the same due deckies at once; each mutation happens once."""
    clock = FakeClock()
    first, second = stores(), stores()
    fleet_commands(first, clock).deploy(META, "[a]\nservices = ssh\n[b]\nservices = ftp\n")
    barrier = threading.Barrier(2)
    schedulers = []
    for store in (first, second):
        handlers = ReadBarrier(store, SettingsCommands(store), clock=clock)
        handlers.barrier = barrier
        schedulers.append(MutationScheduler(handlers, SettingsCommands(store), clock))
    clock.advance(minutes=30)
    results = race(schedulers[0].tick, schedulers[1].tick)
    assert sorted(results[0] + results[1]) == ["a", "b"], results
    assert sorted(e.decky for e in events_of(first, Fleet.DeckyMutated)) == ["a", "b"]
