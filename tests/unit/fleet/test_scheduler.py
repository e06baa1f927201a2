"""The mutation scheduler with a fake clock on the in-memory store."""

from __future__ import annotations

from typing import Any

import pytest

from application.fleet.commands import FleetCommands
from application.fleet.scheduler import MutationScheduler
from application.fleet.settings import SettingsCommands
from application.store import EventStoreApp
from domain.fleet.fleet import Fleet
from domain.shared.meta import CommandMeta
from tests.unit.fleet.fakes import FakeClock, events_of, fleet_commands, memory_store

META = CommandMeta()
TWO = "[a]\nservices = ssh\nip = 127.90.0.1\n[b]\nservices = ftp\nip = 127.90.0.2\n"


@pytest.fixture
def store() -> EventStoreApp:
    """A fresh in-memory store."""
    return memory_store()


@pytest.fixture
def clock() -> FakeClock:
    """A clock at T0."""
    return FakeClock()


def scheduler_for(store: EventStoreApp, clock: FakeClock, seed: int = 0) -> MutationScheduler:
    """A scheduler with its own handlers, as one `decnet serve` process would have."""
    return MutationScheduler(fleet_commands(store, clock, seed), SettingsCommands(store), clock)


def mutations(store: EventStoreApp) -> list[Any]:
    """Every DeckyMutated stored."""
    return events_of(store, Fleet.DeckyMutated)


def test_nothing_due_before_the_global_interval(store: EventStoreApp, clock: FakeClock) -> None:
    """With the default 30m global interval nothing mutates at 29m; both do at 30m."""
    fleet_commands(store, clock).deploy(META, TWO)
    scheduler = scheduler_for(store, clock)
    clock.advance(minutes=29)
    assert scheduler.tick() == []
    clock.advance(minutes=1)
    assert scheduler.tick() == ["a", "b"]
    assert [(e.trigger, e.timestamp) for e in mutations(store)] == [("scheduled", clock.now)] * 2


def test_interval_restarts_after_a_mutation(store: EventStoreApp, clock: FakeClock) -> None:
    """A mutated decky is due again one interval after its mutation, not after its deployment."""
    commands = fleet_commands(store, clock)
    commands.deploy(META, TWO)
    clock.advance(minutes=20)
    commands.mutate(META, "a")
    scheduler = scheduler_for(store, clock)
    clock.advance(minutes=10)
    assert scheduler.tick() == ["b"]
    clock.advance(minutes=20)
    assert scheduler.tick() == ["a"]


def test_global_interval_setting_is_used(store: EventStoreApp, clock: FakeClock) -> None:
    """Changing the global interval in Settings changes when deckies are due."""
    fleet_commands(store, clock).deploy(META, TWO)
    SettingsCommands(store).set_global_mutation_interval(META, 5)
    clock.advance(minutes=5)
    assert scheduler_for(store, clock).tick() == ["a", "b"]


def test_own_interval_beats_global(store: EventStoreApp, clock: FakeClock) -> None:
    """A decky's own interval is used instead of the global one, in both directions."""
    commands = fleet_commands(store, clock)
    commands.deploy(META, TWO)
    commands.set_interval(META, "a", 10)
    commands.set_interval(META, "b", 1440)
    scheduler = scheduler_for(store, clock)
    clock.advance(minutes=10)
    assert scheduler.tick() == ["a"]
    clock.advance(minutes=60)
    assert scheduler.tick() == ["a"]
    clock.advance(days=1)
    assert sorted(scheduler.tick()) == ["a", "b"]


class ReadThenYield(FleetCommands):
    """Handlers whose first fleet read is followed by another process's tick (a real race)."""

    rival: MutationScheduler | None = None

    def fleet(self) -> Fleet | None:
        fleet = super().fleet()
        rival, self.rival = self.rival, None
        if rival is not None:
            rival.tick()
        return fleet


def test_two_schedulers_mutate_each_decky_once(store: EventStoreApp, clock: FakeClock) -> None:
    """Two processes that both saw the deckies due: each due mutation happens exactly once."""
    fleet_commands(store, clock).deploy(META, TWO)
    slow = ReadThenYield(store, SettingsCommands(store), clock=clock)
    slow.rival = scheduler_for(store, clock, seed=7)
    loser = MutationScheduler(slow, SettingsCommands(store), clock)
    clock.advance(minutes=30)
    assert loser.tick() == []  # it read first, but the rival saved first: both superseded
    assert sorted(e.decky for e in mutations(store)) == ["a", "b"]


def test_torn_down_decky_is_skipped(store: EventStoreApp, clock: FakeClock) -> None:
    """A decky torn down after the scheduler read the fleet is skipped, not an error."""
    fleet_commands(store, clock).deploy(META, TWO)
    slow = ReadThenYield(store, SettingsCommands(store), clock=clock)
    clock.advance(minutes=30)

    class TearDownA:
        def tick(self) -> None:
            fleet_commands(store, clock).tear_down(META, "a")

    # A stand-in rival with only the `tick` the handler calls.
    slow.rival = TearDownA()  # type: ignore[assignment]
    assert MutationScheduler(slow, SettingsCommands(store), clock).tick() == ["b"]
