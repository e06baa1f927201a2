"""Shorthands for planning an INI and catching its refusal in fleet tests."""

from __future__ import annotations

import random
import textwrap

import pytest

from domain.fleet.decky import DeckySpec
from domain.fleet.errors import FleetError
from domain.fleet.ini import FleetPlan, FleetView, parse_fleet_ini

EMPTY_FLEET = FleetView(deployment_limit=500)


def plan(text: str, existing: FleetView = EMPTY_FLEET, seed: int = 0) -> FleetPlan:
    """Parse a (dedented) INI against `existing` with a seeded rng."""
    return parse_fleet_ini(textwrap.dedent(text), rng=random.Random(seed), existing=existing)


def refused(
    kind: type[FleetError], text: str, existing: FleetView = EMPTY_FLEET, seed: int = 0
) -> FleetError:
    """Parse an INI that must be refused with exactly `kind`; return the error."""
    with pytest.raises(FleetError) as caught:
        plan(text, existing, seed)
    assert type(caught.value) is kind, caught.value
    return caught.value


def where(error: FleetError) -> tuple[str | None, str | None]:
    """The (section, key) an error points at."""
    return error.section, error.key


def deployed(name: str, ip: str = "", **fields: object) -> DeckySpec:
    """A decky as some earlier INI deployed it (ssh on ubuntu unless `fields` say otherwise)."""
    spec: dict[str, object] = {
        "name": name,
        "ip": ip or f"127.77.{len(name)}.{sum(map(ord, name)) % 250 + 2}",
        "mac": "02:00:00:00:00:01",
        "hostname": f"{name}-host",
        "distro": "ubuntu-22.04",
        "archetype": None,
        "nmap_os": "linux",
        "services": ("ssh",),
        **fields,
    }
    # Defaults merged with overrides of mixed types; DeckySpec checks them.
    return DeckySpec(**spec)  # type: ignore[arg-type]


def fleet_of(*specs: DeckySpec, **view: object) -> FleetView:
    """A fleet view holding `specs` (by name), with `net`, `gateway` or `deployment_limit`."""
    # Optional fields of mixed types; FleetView checks them.
    return FleetView(deckies={spec.name: spec for spec in specs}, **view)  # type: ignore[arg-type]
