"""An INI valid on its own can still clash with the fleet or itself: FleetConflict (409)."""

from __future__ import annotations

import pytest

from domain.fleet.errors import FleetConflictError, IniInvalidError
from domain.fleet.ini import FleetView
from tests.unit.fleet.builders import deployed, fleet_of, plan, refused, where


def _fleet(*names: str, limit: int = 10) -> FleetView:
    # Deployed as telnet deckies, so an INI asking for ssh contradicts them.
    return fleet_of(*(deployed(n, services=("telnet",)) for n in names), deployment_limit=limit)


def test_name_already_in_fleet_with_other_services() -> None:
    """A decky name the fleet has with other services is a conflict on that key."""
    error = refused(FleetConflictError, "[web]\nservices = ssh\n", _fleet("web"))
    assert where(error) == ("web", "services")
    assert "'web' already exists with services telnet; the INI asks for ssh" in error.reason


def test_expanded_name_already_in_fleet_with_other_services() -> None:
    """Expansion that reproduces an existing, differently defined name (web-02) conflicts."""
    error = refused(FleetConflictError, "[web]\nservices = ssh\namount = 3\n", _fleet("web-02"))
    assert "'web-02' already exists with services telnet" in error.reason


def test_name_duplicated_by_expansion() -> None:
    """[web] amount = 2 and [web-01] define web-01 twice."""
    error = refused(
        FleetConflictError, "[web]\nservices = ssh\namount = 2\n[web-01]\nservices = ssh\n"
    )
    assert where(error) == ("web-01", None)
    assert "also defined by [web]" in error.reason


def test_ip_already_used_by_fleet() -> None:
    """An explicit ip the fleet already uses is a conflict on the ip key."""
    fleet = fleet_of(deployed("old", "127.66.0.9"))
    error = refused(FleetConflictError, "[a]\nservices = ssh\nip = 127.66.0.9\n", fleet)
    assert where(error) == ("a", "ip")
    assert "127.66.0.9 is already used in the fleet by decky 'old'" in error.reason


def test_ip_used_twice_in_the_ini() -> None:
    """Two sections asking for the same ip conflict; the second is named."""
    error = refused(FleetConflictError, "[a]\nip = 127.66.0.9\n[b]\nip = 127.66.0.9\n")
    assert where(error) == ("b", "ip")
    assert "also given to [a]" in error.reason


@pytest.mark.parametrize(("key", "value"), [("net", "10.1.0.0/24"), ("gw", "10.0.0.1")])
def test_general_contradicting_fleet(key: str, value: str) -> None:
    """[general] net or gw different from the fleet's is a conflict."""
    fleet = FleetView(net="10.0.0.0/24", gateway="10.0.0.254")
    text = f"[general]\n{key} = {value}\n[a]\nservices = ssh\n"
    error = refused(FleetConflictError, text, fleet)
    assert where(error) == ("general", key)
    assert "contradicts the fleet's" in error.reason


def test_general_agreeing_with_fleet_is_fine() -> None:
    """Repeating the fleet's own net and gateway is accepted."""
    fleet = FleetView(net="10.0.0.0/24", gateway="10.0.0.1")
    result = plan("[general]\nnet = 10.0.0.0/24\ngw = 10.0.0.1\n[a]\nservices = ssh\n", fleet)
    assert result.deckies[0].ip == "10.0.0.2"


def test_deployment_limit() -> None:
    """Growing the fleet past the limit is a conflict on the section that crosses it."""
    fleet = _fleet(*(f"old-{i}" for i in range(8)), limit=10)
    assert len(plan("[a]\nservices = ssh\namount = 2\n", fleet).deckies) == 2
    error = refused(
        FleetConflictError, "[b]\nservices = ssh\n[a]\nservices = ssh\namount = 2\n", fleet
    )
    assert where(error) == ("a", "amount")
    assert "deployment limit of 10" in error.reason


def test_invalid_is_reported_before_conflict() -> None:
    """A clash in one section does not hide an invalid value in a later one."""
    error = refused(
        IniInvalidError, "[web]\nservices = ssh\n[db]\nservices = nope\n", _fleet("web")
    )
    assert where(error) == ("db", "services")
