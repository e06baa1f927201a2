"""Fleet command handlers against the in-memory event store."""

from __future__ import annotations

from typing import Any

import pytest

from application.fleet.commands import FleetCommands
from application.fleet.settings import SettingsCommands
from application.ports import RuntimeReport
from application.store import EventStoreApp
from domain.fleet.catalogue import ARCHETYPES
from domain.fleet.errors import FleetConflictError, IniInvalidError
from domain.fleet.fleet import DeckyNotFoundError, Fleet
from domain.shared.meta import CommandMeta
from tests.fakes import InterleavedStore
from tests.unit.fleet.fakes import FakeClock, events_of, fleet_commands, memory_store

META = CommandMeta(request_id="r-1")
WEB = "[web]\narchetype = web-server\nip = 127.90.0.10\n"


@pytest.fixture
def store() -> EventStoreApp:
    """A fresh in-memory store."""
    return memory_store()


@pytest.fixture
def fleet(store: EventStoreApp) -> FleetCommands:
    """Fleet handlers on it."""
    return fleet_commands(store)


def test_deploy_returns_position_and_names(store: EventStoreApp, fleet: FleetCommands) -> None:
    """A deploy writes Started plus one DeckyDeployed per decky and returns the head position."""
    result = fleet.deploy(META, "[a]\nservices = ssh\namount = 2\n")
    assert result.names == ("a-01", "a-02")
    assert result.position == store.head() == 3
    deployed = events_of(store, Fleet.DeckyDeployed)
    assert [e.spec.name for e in deployed] == ["a-01", "a-02"]


def test_deploy_refusals(fleet: FleetCommands) -> None:
    """An invalid INI is IniInvalid; a name deployed with another definition is FleetConflict."""
    with pytest.raises(IniInvalidError):
        fleet.deploy(META, "[a]\nservices = gopher\n")
    fleet.deploy(META, WEB)
    with pytest.raises(FleetConflictError, match=r"'web' already exists with ip 127\.90\.0\.10"):
        fleet.deploy(META, WEB.replace("127.90.0.10", "127.90.0.11"))


def test_redeploy_adds_the_missing_and_keeps_the_rest(
    store: EventStoreApp, fleet: FleetCommands
) -> None:
    """Re-deploying a grown INI writes only the new deckies and reports the kept ones."""
    first = fleet.deploy(META, WEB + "[box]\nservices = ssh\namount = 2\n")
    fleet.mutate(META, "web")  # a mutation is the decky's life, not a new definition
    grown = WEB + "[box]\nservices = ssh\namount = 3\n[db]\nservices = mysql\n"
    second = fleet.deploy(META, grown)
    assert (second.names, second.unchanged) == (("box-03", "db"), ("web", "box-01", "box-02"))
    deployed = [e.spec.name for e in events_of(store, Fleet.DeckyDeployed)]
    assert deployed == [*first.names, "box-03", "db"]
    again = fleet.deploy(META, grown)
    assert (again.position, again.names) == (0, ())
    assert again.unchanged == ("web", "box-01", "box-02", "box-03", "db")
    assert store.head() == second.position


def test_deployment_limit_comes_from_settings(store: EventStoreApp, fleet: FleetCommands) -> None:
    """The limit stored in Settings is the one enforced."""
    SettingsCommands(store).set_deployment_limit(META, 2)
    fleet.deploy(META, "[a]\nservices = ssh\n")
    with pytest.raises(FleetConflictError, match="deployment limit of 2"):
        fleet.deploy(META, "[b]\nservices = ssh\namount = 2\n")
    assert fleet.deploy(META, "[b]\nservices = ssh\n").names == ("b",)


def test_loopback_only_refuses_other_networks(store: EventStoreApp) -> None:
    """With the local runtime a non-loopback net or ip is a conflict; loopback is fine."""
    local = fleet_commands(store, loopback_only=True)
    with pytest.raises(FleetConflictError, match="not loopback") as caught:
        local.deploy(META, "[general]\nnet = 10.0.0.0/24\n[a]\nservices = ssh\n")
    assert (caught.value.section, caught.value.key) == ("general", "net")
    with pytest.raises(FleetConflictError, match="not loopback"):
        local.deploy(META, "[a]\nservices = ssh\nip = 192.168.1.5\n")
    assert local.deploy(META, "[a]\nservices = ssh\nip = 127.90.3.5\n").names == ("a",)


def test_random_draws_are_recorded_not_replayed(store: EventStoreApp) -> None:
    """Services drawn at deploy time come back unchanged when another rng reads the fleet."""
    fleet_commands(store, seed=1).deploy(META, "[a]\n[b]\n[c]\n")
    drawn = {e.spec.name: e.spec.services for e in events_of(store, Fleet.DeckyDeployed)}
    reread = fleet_commands(store, seed=99).fleet()
    assert reread is not None
    assert {n: s.spec.services for n, s in reread.deckies.items()} == drawn


def test_operator_mutation(store: EventStoreApp, fleet: FleetCommands) -> None:
    """Mutating draws new services from the archetype pool and records trigger operator."""
    fleet.deploy(META, WEB)
    result = fleet.mutate(META, "web")
    (event,) = events_of(store, Fleet.DeckyMutated)
    assert event.trigger == "operator"
    assert event.old_services == ("http", "ftp")
    assert result.services == event.new_services != event.old_services
    assert set(result.services) <= set(ARCHETYPES["web-server"].pool)
    assert result.position == store.head()


@pytest.mark.parametrize(
    "command",
    [
        lambda f: f.mutate(META, "ghost"),
        lambda f: f.set_interval(META, "ghost", 30),
        lambda f: f.set_interval(META, "ghost", None),
        lambda f: f.tear_down(META, "ghost"),
    ],
)
def test_unknown_decky_is_not_found(fleet: FleetCommands, command: Any) -> None:
    """Every per-decky command on an unknown name raises DeckyNotFound, with or without a fleet."""
    with pytest.raises(DeckyNotFoundError):
        command(fleet)
    fleet.deploy(META, WEB)
    with pytest.raises(DeckyNotFoundError):
        command(fleet)


def test_interval_and_teardown(store: EventStoreApp, fleet: FleetCommands) -> None:
    """Interval set/clear and teardown each write one event and return its position."""
    fleet.deploy(META, WEB)
    assert fleet.set_interval(META, "web", 90) == store.head()
    assert fleet.set_interval(META, "web", None) == store.head()
    assert fleet.tear_down(META, "web") == store.head()
    kinds = [type(e).__name__ for e in events_of(store)][-3:]
    assert kinds == ["MutationIntervalSet", "MutationIntervalCleared", "DeckyTornDown"]
    # The fleet exists: the test deployed to it.
    assert fleet.fleet().deckies == {}  # type: ignore[union-attr]


def test_record_status_writes_only_changes(store: EventStoreApp, fleet: FleetCommands) -> None:
    """A report equal to the last one writes nothing (position 0); unknown deckies are ignored."""
    assert fleet.record_status("web", RuntimeReport("running", "", {"http": 80})) == 0
    assert store.head() == 0  # not even a Started event
    fleet.deploy(META, WEB)
    report = RuntimeReport("running", "", {"http": 80, "ftp": 21})
    assert fleet.record_status("web", report) == store.head()
    assert fleet.record_status("web", report) == 0
    assert len(events_of(store, Fleet.RuntimeStatusChanged)) == 1


def test_lost_race_for_last_slot_is_conflict() -> None:
    """Two deploys for the last slot: the one that saves second re-decides and gets 409."""
    store = InterleavedStore(env=memory_store().env)
    SettingsCommands(store).set_deployment_limit(META, 1)
    rival = fleet_commands(store)
    store.interloper = lambda: rival.deploy(META, "[rival]\nservices = ssh\n")
    with pytest.raises(FleetConflictError, match="deployment limit of 1"):
        fleet_commands(store).deploy(META, "[mine]\nservices = ssh\n")
    assert [e.spec.name for e in events_of(store, Fleet.DeckyDeployed)] == ["rival"]


def test_lost_race_retries_and_succeeds() -> None:
    """A deploy that loses the race but still fits is decided again and saved after the winner."""
    store = InterleavedStore(env=memory_store().env)
    rival = fleet_commands(store)
    store.interloper = lambda: rival.deploy(META, "[rival]\nservices = ssh\nip = 127.66.0.1\n")
    result = fleet_commands(store, clock=FakeClock()).deploy(META, "[mine]\nservices = ssh\n")
    assert result.names == ("mine",)
    specs = {e.spec.name: e.spec.ip for e in events_of(store, Fleet.DeckyDeployed)}
    assert specs == {"rival": "127.66.0.1", "mine": "127.66.0.2"}
