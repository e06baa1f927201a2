"""The Fleet aggregate, given events / when a command / then the events it records."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.fleet.errors import FleetConflictError
from domain.fleet.fleet import DeckyNotFoundError, Fleet, MutationSupersededError
from domain.fleet.plan import FleetPlan
from domain.shared.errors import InvalidError
from domain.shared.meta import CommandMeta
from tests.unit.fleet.builders import EMPTY_FLEET, plan

META = CommandMeta(request_id="req-1")
T0 = datetime(2026, 1, 1, tzinfo=UTC)
LATER = T0 + timedelta(hours=1)
TWO = "[a]\nservices = ssh, http\nip = 127.90.0.1\n[b]\narchetype = printer\nip = 127.90.0.2\n"


def given(ini: str | None = TWO, limit: int = 10) -> Fleet:
    """A fleet that deployed `ini` at T0, with its events already collected."""
    fleet = Fleet.start(META, T0)
    if ini is not None:
        fleet.deploy(META, plan(ini, fleet.view(limit)), limit, T0)
    fleet.collect_events()
    return fleet


def then(fleet: Fleet) -> list[Any]:
    """The events the command under test recorded."""
    return list(fleet.collect_events())


def names(events: list[Any]) -> list[str]:
    """Event class names, in order."""
    return [type(e).__name__ for e in events]


def test_deploy_records_each_whole_spec() -> None:
    """Deploying records one DeckyDeployed per decky, carrying the full spec, at the given time."""
    fleet = given(None)
    planned = plan(TWO, fleet.view(10))
    fleet.deploy(META, planned, 10, LATER)
    events = then(fleet)
    assert names(events) == ["DeckyDeployed", "DeckyDeployed"]
    assert [e.spec for e in events] == list(planned.deckies)
    assert all(e.meta == META and e.timestamp == LATER for e in events)
    assert fleet.decky("a").deployed_at == LATER
    assert fleet.decky("a").status == "pending"


def test_general_network_recorded_once() -> None:
    """[general] net/gw/interface become FleetNetworkSet first; repeating them records nothing."""
    fleet = given(None)
    ini = (
        "[general]\nnet = 127.90.1.0/24\ngw = 127.90.1.254\ninterface = eth0\n[a]\nservices = ssh\n"
    )
    fleet.deploy(META, plan(ini, fleet.view(10)), 10, T0)
    events = then(fleet)
    assert names(events) == ["FleetNetworkSet", "DeckyDeployed"]
    assert (events[0].net, events[0].gw, events[0].interface) == (
        "127.90.1.0/24",
        "127.90.1.254",
        "eth0",
    )
    again = ini.replace("[a]", "[b]")
    fleet.deploy(META, plan(again, fleet.view(10)), 10, T0)
    assert names(then(fleet)) == ["DeckyDeployed"]


def test_general_interval_is_the_ini_default() -> None:
    """[general] mutate_interval applies to deckies without their own; their own wins."""
    fleet = given(None)
    ini = "[general]\nmutate_interval = 2d\n[a]\nservices = ssh\n[b]\nmutate_interval = 45\n"
    fleet.deploy(META, plan(ini, fleet.view(10)), 10, T0)
    minutes = {e.spec.name: e.spec.mutate_interval_minutes for e in then(fleet)}
    assert minutes == {"a": 2880, "b": 45}


@pytest.mark.parametrize(
    ("stale", "limit", "reason"),
    [
        ("[c]\nservices = ssh\n", 2, "deployment limit of 2"),
        ("[a]\nservices = ssh\nip = 127.90.0.9\n", 10, "name is already"),
        ("[c]\nservices = ssh\nip = 127.90.0.2\n", 10, "IP address is already"),
    ],
)
def test_stale_plan_is_refused(stale: str, limit: int, reason: str) -> None:
    """A plan made against an older fleet cannot break the limit, unique names or unique IPs."""
    fleet = given()
    with pytest.raises(FleetConflictError, match=reason):
        fleet.deploy(META, plan(stale, EMPTY_FLEET), limit, T0)
    assert then(fleet) == []


def test_redeploy_records_only_new_deckies_and_compares_the_deployed_spec() -> None:
    """Re-deploying TWO after a mutation and an interval change records nothing for a and b."""
    fleet = given()
    fleet.mutate(META, "a", ("ftp",), "operator", LATER)
    fleet.set_interval(META, "b", 5, LATER)
    fleet.collect_events()
    planned = plan(TWO + "[c]\nservices = ssh\n", fleet.view(10))
    assert planned.unchanged == ("a", "b")
    fleet.deploy(META, planned, 10, LATER)
    assert [e.spec.name for e in then(fleet)] == ["c"]


def test_plan_keeping_a_decky_gone_since_is_refused() -> None:
    """A stale plan that keeps a decky torn down meanwhile is a conflict, not a silent gap."""
    fleet = given()
    planned = plan(TWO, fleet.view(10))
    fleet.tear_down(META, "a", LATER)
    with pytest.raises(FleetConflictError, match="no longer in the fleet"):
        fleet.deploy(META, planned, 10, LATER)


@pytest.mark.parametrize(
    ("field", "value"),
    [("net", "10.9.0.0/24"), ("gw", "127.90.1.9"), ("interface", "eth9")],
)
def test_network_contradiction_is_refused(field: str, value: str) -> None:
    """A plan whose net, gateway or interface differs from the fleet's is a conflict on that key."""
    fleet = given("[general]\nnet = 127.90.1.0/24\ngw = 127.90.1.1\ninterface = eth0\n[a]\n")
    agreeing = FleetPlan("127.90.1.0/24", "127.90.1.1", "eth0", None, ())
    fleet.deploy(META, agreeing, 10, T0)  # the same settings are accepted
    stale = replace(agreeing, **{field: value})
    with pytest.raises(FleetConflictError) as caught:
        fleet.deploy(META, stale, 10, T0)
    assert (caught.value.section, caught.value.key) == ("general", field)


def test_first_network_must_hold_existing_deckies() -> None:
    """Setting a first net that leaves existing deckies outside it is a conflict."""
    fleet = given()
    with pytest.raises(FleetConflictError, match="does not contain"):
        fleet.deploy(META, plan("[general]\nnet = 127.91.0.0/24\n[c]\n", fleet.view(10)), 10, T0)


def test_operator_mutation() -> None:
    """A mutation records old and new services and its trigger; old ports are dropped."""
    fleet = given()
    fleet.record_runtime_status(META, "a", "running", "", {"ssh": 22, "http": 80}, T0)
    fleet.collect_events()
    fleet.mutate(META, "a", ("ssh", "ftp"), "operator", LATER)
    (event,) = then(fleet)
    assert (event.decky, event.old_services, event.new_services, event.trigger) == (
        "a",
        ("ssh", "http"),
        ("ssh", "ftp"),
        "operator",
    )
    state = fleet.decky("a")
    assert state.spec.services == ("ssh", "ftp")
    assert state.last_mutated == LATER
    assert (state.status, state.ports) == ("pending", {"ssh": 22})


def test_mutation_refusals() -> None:
    """Unknown deckies are 404; no services or unknown services are invalid."""
    fleet = given()
    with pytest.raises(DeckyNotFoundError):
        fleet.mutate(META, "nope", ("ssh",), "operator", T0)
    with pytest.raises(InvalidError):
        fleet.mutate(META, "a", (), "operator", T0)
    with pytest.raises(InvalidError):
        fleet.mutate(META, "a", ("gopher",), "operator", T0)
    assert then(fleet) == []


def test_scheduled_mutation_superseded() -> None:
    """A scheduled mutation is refused once the decky changed after the scheduler read it."""
    fleet = given()
    seen = fleet.decky("a").last_changed
    fleet.mutate(META, "a", ("ftp",), "operator", LATER)
    fleet.collect_events()
    with pytest.raises(MutationSupersededError):
        fleet.mutate(META, "a", ("smtp",), "scheduled", LATER, seen=seen)
    fleet.mutate(META, "a", ("smtp",), "scheduled", LATER, seen=LATER)
    assert [e.trigger for e in then(fleet)] == ["scheduled"]


def test_interval_set_and_cleared() -> None:
    """Setting and clearing a decky's interval are events that change its spec."""
    fleet = given()
    fleet.set_interval(META, "a", 7200, T0)
    assert fleet.decky("a").spec.mutate_interval_minutes == 7200
    fleet.clear_interval(META, "a", T0)
    assert fleet.decky("a").spec.mutate_interval_minutes is None
    events = then(fleet)
    assert names(events) == ["MutationIntervalSet", "MutationIntervalCleared"]
    assert events[0].minutes == 7200
    with pytest.raises(InvalidError):
        fleet.set_interval(META, "a", 0, T0)
    with pytest.raises(DeckyNotFoundError):
        fleet.clear_interval(META, "zz", T0)


def test_teardown_frees_name_and_ip() -> None:
    """A torn-down decky leaves the fleet; its name and IP can be deployed again."""
    fleet = given()
    fleet.tear_down(META, "a", T0)
    assert names(then(fleet)) == ["DeckyTornDown"]
    assert "a" not in fleet.deckies
    fleet.deploy(META, plan("[a]\nservices = ssh\nip = 127.90.0.1\n", fleet.view(10)), 10, T0)
    assert names(then(fleet)) == ["DeckyDeployed"]
    with pytest.raises(DeckyNotFoundError):
        fleet.tear_down(META, "zz", T0)


def test_runtime_status_only_on_change() -> None:
    """Status is recorded when status, detail or ports change; never for a torn-down decky."""
    fleet = given()
    assert fleet.record_runtime_status(META, "a", "running", "", {"ssh": 22}, T0)
    assert not fleet.record_runtime_status(META, "a", "running", "", {"ssh": 22}, T0)
    assert fleet.record_runtime_status(META, "a", "running", "", {"ssh": 2222}, T0)
    assert fleet.record_runtime_status(META, "a", "failed", "boom", {}, T0)
    assert not fleet.record_runtime_status(META, "gone", "running", "", {}, T0)
    events = then(fleet)
    assert [(e.status, e.ports) for e in events] == [
        ("running", {"ssh": 22}),
        ("running", {"ssh": 2222}),
        ("failed", {}),
    ]
    assert (fleet.decky("a").status, fleet.decky("a").detail) == ("failed", "boom")
    with pytest.raises(ValueError, match="unknown runtime status"):
        # A status outside the Literal on purpose: the aggregate must refuse it.
        fleet.record_runtime_status(META, "a", "exploded", "", {}, T0)  # type: ignore[arg-type]


def test_due_for_mutation_uses_own_then_global_interval() -> None:
    """Own interval beats the global one; due deckies come soonest first, with their last change."""
    fleet = given()
    fleet.set_interval(META, "b", 10, T0)
    assert fleet.due_for_mutation(T0 + timedelta(minutes=9), 30) == []
    assert fleet.due_for_mutation(T0 + timedelta(minutes=10), 30) == [("b", T0)]
    assert fleet.due_for_mutation(T0 + timedelta(minutes=30), 30) == [("b", T0), ("a", T0)]
    assert fleet.due_for_mutation(T0 + timedelta(minutes=30), 60) == [("b", T0)]
