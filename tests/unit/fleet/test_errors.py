"""Fleet errors carry section, key and reason, and read like `[web-01] ip: reason`."""

from __future__ import annotations

import pickle

import pytest

from domain.fleet.errors import FleetConflictError, FleetError, IniInvalidError


def test_str_names_section_key_and_reason() -> None:
    """A located error reads `[section] key: reason`."""
    error = IniInvalidError("web-01", "ip", "'10.0.0.999' is not a valid IPv4 address")
    assert str(error) == "[web-01] ip: '10.0.0.999' is not a valid IPv4 address"


def test_str_without_key_or_section() -> None:
    """The key and then the section are left out when they are None."""
    assert str(FleetConflictError("web", None, "decky 'web' already exists")) == (
        "[web] decky 'web' already exists"
    )
    assert str(IniInvalidError(None, None, "the INI defines no decky sections")) == (
        "the INI defines no decky sections"
    )


@pytest.mark.parametrize("kind", [IniInvalidError, FleetConflictError])
def test_both_kinds_are_fleet_errors_with_attributes(kind: type[FleetError]) -> None:
    """IniInvalid and FleetConflict share the FleetError base and its attributes."""
    error = kind("db", "amount", "bad")
    assert isinstance(error, FleetError)
    assert (error.section, error.key, error.reason) == ("db", "amount", "bad")


def test_errors_survive_pickling() -> None:
    """Errors can cross process boundaries with their fields intact."""
    copy = pickle.loads(pickle.dumps(FleetConflictError("a", "ip", "taken")))  # noqa: S301 - own bytes
    assert (type(copy), copy.section, copy.key, copy.reason) == (
        FleetConflictError,
        "a",
        "ip",
        "taken",
    )
