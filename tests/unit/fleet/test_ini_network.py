"""[general] settings, explicit IPs and address allocation (SPEC §4)."""

from __future__ import annotations

import pytest

from domain.fleet.errors import FleetConflictError, IniInvalidError
from domain.fleet.ini import FleetView
from tests.unit.fleet.builders import deployed, fleet_of, plan, refused, where


def test_general_settings_reach_the_plan() -> None:
    """net, gw, interface and mutate_interval are carried into the plan."""
    result = plan(
        """
        [general]
        net = 10.0.0.0/24
        gw = 10.0.0.1
        interface = eth0
        mutate_interval = 1d
        [a]
        services = ssh
        """
    )
    assert (result.net, result.gw, result.interface, result.mutate_interval_minutes) == (
        "10.0.0.0/24",
        "10.0.0.1",
        "eth0",
        1440,
    )


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("net", "10.0.0.0", "leaves no host addresses"),
        ("net", "10.0.0.0/31", "leaves no host addresses"),
        ("net", "10.0.0.5/24", "host bits set"),
        ("net", "fd00::/64", "not a valid IPv4 network"),
        ("net", "10.0.0.0/33", "not a valid IPv4 network"),
        ("gw", "10.0.0.256", "not a valid IPv4 address"),
        ("gw", "10.0.1.1", "outside the network"),
        ("gw", "10.0.0.255", "not a host address"),
        ("interface", "eth 0", "not a network interface name"),
        ("interface", "a-very-long-interface-name", "not a network interface name"),
        ("mutate_interval", "0m", "'0m'"),
        ("colour", "blue", "unknown key"),
    ],
)
def test_bad_general_values(key: str, value: str, reason: str) -> None:
    """Each bad [general] value is refused naming general, the key and why."""
    net = "" if key == "net" else "net = 10.0.0.0/24\n"
    error = refused(IniInvalidError, f"[general]\n{net}{key} = {value}\n[a]\nservices = ssh\n")
    assert where(error) == ("general", key)
    assert reason in error.reason


def test_bad_ip_reads_naturally() -> None:
    """The error text names section, key and value."""
    error = refused(IniInvalidError, "[web-01]\nip = 10.0.0.999\n")
    assert str(error) == "[web-01] ip: '10.0.0.999' is not a valid IPv4 address"


@pytest.mark.parametrize(
    ("ip", "reason"),
    [
        ("10.0.1.5", "outside the network 10.0.0.0/24"),
        ("10.0.0.0", "not a host address"),
        ("10.0.0.255", "not a host address"),
        ("10.0.0.1", "is the gateway"),
        ("010.0.0.5", "not a valid IPv4 address"),
    ],
)
def test_explicit_ip_must_be_a_host_of_the_ini_net(ip: str, reason: str) -> None:
    """An explicit ip must be a host address of [general] net other than the gateway."""
    text = f"[general]\nnet = 10.0.0.0/24\ngw = 10.0.0.1\n[a]\nservices = ssh\nip = {ip}\n"
    error = refused(IniInvalidError, text)
    assert where(error) == ("a", "ip")
    assert reason in error.reason


def test_explicit_ip_must_be_inside_the_fleet_net() -> None:
    """Without [general] net, the fleet's network and gateway constrain explicit IPs."""
    fleet = FleetView(net="192.168.1.0/24", gateway="192.168.1.1", deployment_limit=10)
    error = refused(IniInvalidError, "[a]\nip = 10.0.0.5\n", fleet)
    assert "outside the network 192.168.1.0/24" in error.reason
    error = refused(IniInvalidError, "[a]\nip = 192.168.1.1\n", fleet)
    assert "is the gateway" in error.reason


def test_without_any_net_explicit_ips_are_free_and_others_use_the_default() -> None:
    """No net known: explicit IPs are taken as given, others come from 127.66.0.0/24."""
    result = plan("[a]\nservices = ssh\nip = 10.9.8.7\n[b]\nservices = ssh\namount = 2\n")
    assert result.net is None
    assert [d.ip for d in result.deckies] == ["10.9.8.7", "127.66.0.1", "127.66.0.2"]


def test_allocation_skips_network_gateway_used_and_explicit_addresses() -> None:
    """Automatic IPs skip .0, the gateway, fleet IPs and IPs later sections ask for."""
    fleet = fleet_of(deployed("v4", "10.0.0.3"), deployed("v6", "fd00::1"), deployment_limit=10)
    result = plan(
        """
        [general]
        net = 10.0.0.0/24
        gw = 10.0.0.1
        [auto]
        services = ssh
        amount = 3
        [fixed]
        services = ssh
        ip = 10.0.0.4
        """,
        fleet,
    )
    assert [d.ip for d in result.deckies] == ["10.0.0.2", "10.0.0.5", "10.0.0.6", "10.0.0.4"]


def test_allocation_uses_the_fleet_net() -> None:
    """Without [general] net the fleet's network and gateway are used and reported."""
    fleet = FleetView(net="192.168.7.0/24", gateway="192.168.7.1", deployment_limit=10)
    result = plan("[a]\nservices = ssh\n", fleet)
    assert (result.net, result.gw, result.deckies[0].ip) == (
        "192.168.7.0/24",
        "192.168.7.1",
        "192.168.7.2",
    )


def test_exhausted_net_is_a_conflict() -> None:
    """A /30 with its gateway leaves one address; asking for two is a conflict."""
    text = "[general]\nnet = 10.0.0.0/30\ngw = 10.0.0.1\n[a]\nservices = ssh\namount = 2\n"
    assert len(plan(text.replace("amount = 2", "amount = 1")).deckies) == 1
    error = refused(FleetConflictError, text)
    assert where(error) == ("a", None)
    assert "no free address" in error.reason
