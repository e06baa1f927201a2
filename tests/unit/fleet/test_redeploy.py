"""Re-deploying an INI: existing deckies that agree are kept, contradicting ones are 409."""

from __future__ import annotations

import pytest

from domain.fleet.errors import FleetConflictError
from tests.unit.fleet.builders import deployed, fleet_of, plan, refused, where

WEB = deployed(
    "web",
    "127.66.0.5",
    archetype="web-server",
    services=("http", "ftp"),
    distro="ubuntu-22.04",
    service_config={"ftp": {"users": "bob:builder1"}},
    mutate_interval_minutes=60,
)


@pytest.mark.parametrize(
    "section",
    [
        "",  # nothing explicit: whatever was drawn stands
        "archetype = web-server\n",
        "services = ftp, http\n",  # a set: order does not matter
        "ip = 127.66.0.5\n",
        "distro = ubuntu-22.04\nnmap_os = linux\n",
        "mutate_interval = 60\n",
        "archetype = web-server\n[web.ftp]\nusers = bob:builder1\n",
    ],
)
def test_agreeing_existing_decky_is_kept(section: str) -> None:
    """A name the fleet has, with no explicit value contradicting it, is unchanged, not new."""
    result = plan(f"[web]\n{section}[new]\nservices = ssh\n", fleet_of(WEB))
    assert result.unchanged == ("web",)
    assert [d.name for d in result.deckies] == ["new"]
    assert result.deckies[0].ip != WEB.ip


@pytest.mark.parametrize(
    ("section", "where_", "reason"),
    [
        ("archetype = linux-server\n", ("web", "archetype"), "archetype web-server"),
        ("services = http\n", ("web", "services"), "services ftp, http; the INI asks for http"),
        ("ip = 127.66.0.6\n", ("web", "ip"), "ip 127.66.0.5; the INI asks for 127.66.0.6"),
        ("distro = debian-12\n", ("web", "distro"), "distro ubuntu-22.04"),
        ("nmap_os = windows\n", ("web", "nmap_os"), "nmap_os linux"),
        ("mutate_interval = 120\n", ("web", "mutate_interval"), "60m; the INI asks for 120m"),
        ("[web.ftp]\nusers = bob:other\n", ("web.ftp", None), "differing: users"),
        ("[web.ftp]\nusers = bob:builder1\nbanner = x\n", ("web.ftp", None), "differing: banner"),
    ],
)
def test_contradicting_existing_decky_is_a_conflict(
    section: str, where_: tuple[str, str | None], reason: str
) -> None:
    """Any explicit value unlike the deployed decky is a 409 naming the decky and the key."""
    text = f"[web]\nservices = http, ftp\n{section}" if "[web." in section else f"[web]\n{section}"
    error = refused(FleetConflictError, text, fleet_of(WEB))
    assert where(error) == where_
    assert "decky 'web' already exists" in error.reason
    assert reason in error.reason
    assert "builder1" not in str(error)


def test_general_interval_is_compared_when_the_section_gives_none() -> None:
    """`[general] mutate_interval` is the INI's explicit interval for each of its deckies."""
    fleet = fleet_of(WEB)
    assert plan("[general]\nmutate_interval = 60\n[web]\n", fleet).unchanged == ("web",)
    error = refused(FleetConflictError, "[general]\nmutate_interval = 5d\n[web]\n", fleet)
    assert where(error) == ("web", "mutate_interval")


def test_expanded_names_mix_kept_and_new() -> None:
    """`amount = 3` with box-01 and box-02 deployed alike adds only box-03."""
    fleet = fleet_of(deployed("box-01"), deployed("box-02"), deployment_limit=3)
    result = plan("[box]\nservices = ssh\namount = 3\n", fleet)
    assert result.unchanged == ("box-01", "box-02")
    assert [d.name for d in result.deckies] == ["box-03"]


def test_kept_deckies_do_not_count_against_the_limit() -> None:
    """A fleet at its limit accepts an INI that only repeats it; one new decky is too many."""
    fleet = fleet_of(deployed("a"), deployed("b"), deployment_limit=2)
    assert plan("[a]\nservices = ssh\n[b]\n", fleet).unchanged == ("a", "b")
    error = refused(FleetConflictError, "[a]\n[b]\n[c]\n", fleet)
    assert where(error) == ("c", None)
    assert "past the deployment limit of 2" in error.reason


def test_an_explicit_ip_held_by_another_decky_names_it() -> None:
    """A new decky asking for an address a different decky holds is a 409 naming the holder."""
    error = refused(FleetConflictError, "[api]\nservices = ssh\nip = 127.66.0.5\n", fleet_of(WEB))
    assert where(error) == ("api", "ip")
    assert "used in the fleet by decky 'web'" in error.reason
