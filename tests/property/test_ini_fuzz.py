"""Whatever text arrives, the INI parser answers with a plan or a FleetError, and quickly."""

from __future__ import annotations

import random
import re
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.fleet.catalogue import SERVICES
from domain.fleet.errors import FleetError
from domain.fleet.ini import FleetPlan, FleetView, parse_fleet_ini
from tests.unit.fleet.builders import deployed, fleet_of

FUZZ = settings(
    max_examples=200,
    deadline=timedelta(milliseconds=500),
    suppress_health_check=[HealthCheck.too_slow],
)
NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
FLEETS = st.sampled_from(
    [
        FleetView(),
        fleet_of(
            deployed("web", "10.0.0.2", archetype="web-server", services=("http", "ftp")),
            deployed("web-01", "10.0.0.3"),
            deployed("db", "10.0.0.4", services=("mysql", "redis"), distro="debian-12"),
            net="10.0.0.0/24",
            gateway="10.0.0.1",
            deployment_limit=50,
        ),
        FleetView(net="10.0.0.0/30", deployment_limit=500),
    ]
)
VALID_INI = """[general]
net = 10.0.0.0/24
gw = 10.0.0.1
interface = eth0
mutate_interval = 30m

[web]
archetype = web-server
amount = 3
mutate_interval = 5d

[web.http]
server_header = nginx/1.24.0
body = <h1>It works</h1>

[db]
services = mysql, redis
ip = 10.0.0.20
distro = debian-12
nmap_os = linux

[dc]
archetype = domain-controller

[random]
"""
# Fragments an attacker or a careless operator would plausibly combine.
FRAGMENTS = [
    "[general]", "[web]", "[web.ssh]", "[DEFAULT]", "[db.http]", "[", "]", "[]", "[a.b.c]",
    "net = 10.0.0.0/24", "net = 10.0.0.0/31", "net=fd00::/8", "gw = 10.0.0.1", "gw=10.0.0.0",
    "services = ssh, http", "services = ,", "services = nope", "archetype = printer",
    "archetype = x", "distro = windows-10", "amount = 100", "amount = 0", "amount = 99999999",
    "ip = 10.0.0.7", "ip = 10.0.0.999", "mutate_interval = 5d", "mutate_interval = " + "9" * 30,
    "nmap_os = windows", "interface = eth0", "password = %(x)s", "  continued", "; comment",
    "# comment", "key", "=value", ":", "\t", "\r", "",
]  # fmt: skip


def _parse(text: str, fleet: FleetView, seed: int) -> FleetPlan | None:
    try:
        result = parse_fleet_ini(text, rng=random.Random(seed), existing=fleet)
    except FleetError as error:
        refusal = error
    else:
        _check_plan(result, fleet)
        return result
    assert refusal.reason
    assert str(refusal)
    return None


def _check_plan(result: FleetPlan, fleet: FleetView) -> None:
    names = [d.name for d in result.deckies]
    assert result.deckies or result.unchanged
    assert len(set(names)) == len(names)
    assert not set(names) & fleet.names
    assert set(result.unchanged) <= fleet.names
    assert not {d.ip for d in result.deckies} & fleet.used_ips
    assert all(entry.startswith("[") and "] " in entry for entry in result.ignored)
    assert all(NAME.fullmatch(name) for name in names)
    assert len({d.ip for d in result.deckies}) == len(names)
    assert fleet.decky_count + len(names) <= fleet.deployment_limit
    for decky in result.deckies:
        assert decky.services
        assert set(decky.services) <= set(SERVICES)
        assert set(decky.service_config) <= set(decky.services)


@FUZZ
@given(text=st.text(max_size=2000), fleet=FLEETS, seed=st.integers(0, 3))
def test_arbitrary_text(text: str, fleet: FleetView, seed: int) -> None:
    """Any text yields a consistent plan or a FleetError, never another exception."""
    _parse(text, fleet, seed)


@FUZZ
@given(
    lines=st.lists(st.sampled_from(FRAGMENTS), max_size=40), fleet=FLEETS, seed=st.integers(0, 3)
)
def test_ini_shaped_text(lines: list[str], fleet: FleetView, seed: int) -> None:
    """Recombined INI fragments yield a consistent plan or a FleetError."""
    _parse("\n".join(lines), fleet, seed)


@st.composite
def mutated_ini(draw: st.DrawFn) -> str:
    """The valid INI with a few characters inserted, deleted or lines shuffled."""
    text = VALID_INI
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "swap"]))
        if action == "insert":
            text = text[:position] + draw(st.text(min_size=1, max_size=5)) + text[position:]
        elif action == "delete":
            text = text[:position] + text[position + draw(st.integers(1, 10)) :]
        else:
            lines = text.split("\n")
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
    return text


@FUZZ
@given(text=mutated_ini(), fleet=FLEETS, seed=st.integers(0, 3))
def test_mutated_valid_ini(text: str, fleet: FleetView, seed: int) -> None:
    """Small corruptions of a valid INI yield a consistent plan or a FleetError."""
    _parse(text, fleet, seed)


@FUZZ
@given(seed=st.integers(0, 2**32 - 1))
def test_valid_ini_is_deterministic(seed: int) -> None:
    """The valid INI always plans, and the same seed always gives the same plan."""
    fleet = FleetView(deployment_limit=10)
    first = _parse(VALID_INI, fleet, seed)
    assert first is not None
    assert first == _parse(VALID_INI, fleet, seed)
