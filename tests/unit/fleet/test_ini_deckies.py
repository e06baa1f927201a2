"""Decky sections: services, archetype, distro, amount, names, intervals, subsections (SPEC §4)."""

from __future__ import annotations

import re

import pytest

from domain.fleet.catalogue import ARCHETYPES, SERVICES
from domain.fleet.errors import IniInvalidError
from domain.fleet.ini import FleetView
from tests.unit.fleet.builders import plan, refused, where


def test_services_are_trimmed_and_deduplicated() -> None:
    """The comma list keeps its order, drops blanks and repeats."""
    result = plan("[web]\nservices = ssh , http,,ssh\n")
    assert result.deckies[0].services == ("ssh", "http")


@pytest.mark.parametrize(
    ("value", "reason"), [("ssh, nope", "unknown service 'nope'"), (" , ", "no services")]
)
def test_bad_services(value: str, reason: str) -> None:
    """Services outside the catalogue, or none at all, are refused on the services key."""
    error = refused(IniInvalidError, f"[web]\nservices = {value}\n")
    assert where(error) == ("web", "services")
    assert reason in error.reason


def test_archetype_gives_services_os_and_distro() -> None:
    """An archetype alone fills services, nmap_os and the distro."""
    decky = plan("[dc]\narchetype = domain-controller\n").deckies[0]
    assert decky.services == ("ldap", "smb", "rdp", "llmnr")
    assert (decky.archetype, decky.nmap_os, decky.distro) == (
        "domain-controller",
        "windows",
        "windows-server-2019",
    )


def test_listed_services_override_archetype() -> None:
    """Explicit services win over the archetype's; the archetype still sets the OS."""
    decky = plan("[p]\narchetype = printer\nservices = http\n").deckies[0]
    assert (decky.services, decky.nmap_os) == (("http",), "embedded")


def test_distro_and_nmap_os_precedence() -> None:
    """An explicit distro sets nmap_os over the archetype; an explicit nmap_os wins over both."""
    bsd = plan("[a]\narchetype = linux-server\ndistro = freebsd-14\n").deckies[0]
    assert (bsd.distro, bsd.nmap_os) == ("freebsd-14", "bsd")
    forced = plan("[a]\ndistro = debian-12\nnmap_os = cisco\n").deckies[0]
    assert (forced.distro, forced.nmap_os) == ("debian-12", "cisco")


@pytest.mark.parametrize(
    ("key", "value"),
    [("archetype", "mainframe"), ("distro", "temple-os"), ("nmap_os", "Linux")],
)
def test_unknown_archetype_distro_or_os(key: str, value: str) -> None:
    """Unknown archetypes, distros and OS families are refused on their key."""
    error = refused(IniInvalidError, f"[a]\n{key} = {value}\n")
    assert where(error) == ("a", key)
    assert repr(value) in error.reason


def test_random_services_when_nothing_is_given() -> None:
    """Without services or archetype, 1-3 catalogue services are drawn, varying by seed."""
    draws = {plan("[a]\n", seed=seed).deckies[0].services for seed in range(30)}
    assert len(draws) > 5
    for services in draws:
        assert 1 <= len(services) <= 3
        assert set(services) <= set(SERVICES)


def test_amount_expands_names() -> None:
    """amount = 3 yields <name>-01, -02, -03 sharing the section's settings."""
    deckies = plan("[web]\narchetype = web-server\namount = 3\n").deckies
    assert [d.name for d in deckies] == ["web-01", "web-02", "web-03"]
    assert {d.services for d in deckies} == {ARCHETYPES["web-server"].services}


def test_amount_one_still_expands_and_hundred_is_the_maximum() -> None:
    """amount = 1 gives <name>-01; amount = 100 ends at <name>-100."""
    assert [d.name for d in plan("[a]\nservices = ssh\namount = 1\n").deckies] == ["a-01"]
    hundred = plan("[a]\nservices = ssh\namount = 100\n").deckies
    assert (len(hundred), hundred[-1].name) == (100, "a-100")


@pytest.mark.parametrize("value", ["0", "101", "x", "-1", "1.5", "", "1000", "٣"])
def test_bad_amount(value: str) -> None:
    """amount must be a whole number from 1 to 100."""
    error = refused(IniInvalidError, f"[a]\namount = {value}\n")
    assert where(error) == ("a", "amount")


def test_amount_with_ip() -> None:
    """amount cannot be combined with a fixed ip."""
    error = refused(IniInvalidError, "[a]\namount = 2\nip = 127.66.0.9\n")
    assert where(error) == ("a", "amount")
    assert "cannot be combined with ip" in error.reason


@pytest.mark.parametrize("name", ["Web", "-web", "we_b", "web 1", "é", "a" * 64])
def test_bad_decky_names(name: str) -> None:
    """Decky names must match ^[a-z0-9][a-z0-9-]{0,62}$."""
    error = refused(IniInvalidError, f"[{name}]\nservices = ssh\n")
    assert where(error) == (name, None)
    assert "must match" in error.reason


def test_name_length_is_checked_after_expansion() -> None:
    """A 63-character name is fine alone but too long once -01 is appended."""
    assert plan(f"[{'a' * 63}]\nservices = ssh\n").deckies[0].name == "a" * 63
    error = refused(IniInvalidError, f"[{'a' * 61}]\nservices = ssh\namount = 2\n")
    assert "a" * 61 + "-02" in error.reason


def test_unknown_decky_key() -> None:
    """A typo such as `service` is refused rather than ignored."""
    error = refused(IniInvalidError, "[a]\nservice = ssh\n")
    assert where(error) == ("a", "service")


@pytest.mark.parametrize(("value", "minutes"), [("30m", 30), ("90", 90), ("2d", 2880)])
def test_decky_mutate_interval(value: str, minutes: int) -> None:
    """mutate_interval takes the duration syntax or whole minutes."""
    decky = plan(f"[a]\nservices = ssh\nmutate_interval = {value}\n").deckies[0]
    assert decky.mutate_interval_minutes == minutes


def test_bad_decky_mutate_interval() -> None:
    """A bad interval is refused on its key with the duration's reason."""
    error = refused(IniInvalidError, "[a]\nmutate_interval = 5x\n")
    assert where(error) == ("a", "mutate_interval")
    assert "'5x'" in error.reason


def test_service_subsection_applies_to_every_expanded_decky() -> None:
    """[web.ssh] settings, unknown keys included, reach every web-NN as separate copies."""
    deckies = plan(
        """
        [web.ssh]
        password = hunter2
        colour = blue
        [web]
        services = ssh, http
        amount = 2
        """
    ).deckies
    assert [d.service_config for d in deckies] == [
        {"ssh": {"password": "hunter2", "colour": "blue"}}
    ] * 2
    assert deckies[0].service_config["ssh"] is not deckies[1].service_config["ssh"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[web]\nservices = http\n[web.ssh]\n", "not one of the services of [web]"),
        ("[web]\n[web.ssh]\n", "not one of the services of [web]"),
        ("[web]\nservices = ssh\n[web.gopher]\n", "unknown service 'gopher'"),
        ("[web]\nservices = ssh\n[db.ssh]\n", "no [db] decky section"),
    ],
)
def test_bad_service_subsections(text: str, reason: str) -> None:
    """A subsection needs its decky, a catalogue service, and that service on the decky."""
    error = refused(IniInvalidError, text)
    assert error.key is None
    assert error.section is not None
    assert "." in error.section
    assert reason in error.reason


def test_mac_and_hostname() -> None:
    """MACs are locally administered unicast and unique; every decky gets a hostname."""
    deckies = plan("[a]\nservices = ssh\namount = 50\n").deckies
    for decky in deckies:
        assert re.fullmatch(r"02(:[0-9a-f]{2}){5}", decky.mac)
        assert decky.hostname
    assert len({d.mac for d in deckies}) == 50


def test_same_seed_same_plan() -> None:
    """The plan is a pure function of the INI, the fleet and the rng seed."""
    text = "[a]\namount = 5\n[b]\narchetype = iot-device\n"
    assert plan(text, seed=4) == plan(text, seed=4)
    assert plan(text, seed=4) != plan(text, seed=5)


def test_fleet_view_rejects_malformed_network() -> None:
    """A FleetView with an unparseable net is a caller bug and fails on construction."""
    with pytest.raises(ValueError, match="netmask"):
        FleetView(net="10.0.0.0/33")
