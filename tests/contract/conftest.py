"""Shared fixtures and fakes for the contract suites."""

from __future__ import annotations

import pytest

from domain.fleet.decky import DeckySpec
from tests.fakes import MemorySink


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio only (the runtimes are asyncio code)."""
    return "asyncio"


@pytest.fixture
def sink() -> MemorySink:
    """A fresh in-memory record sink."""
    return MemorySink()


def make_spec(
    name: str,
    ip: str,
    services: tuple[str, ...],
    service_config: dict[str, dict[str, str]] | None = None,
    hostname: str = "files-01",
) -> DeckySpec:
    """A decky spec with plausible defaults for everything the runtime does not care about."""
    octets = [int(part) for part in ip.split(".")]
    return DeckySpec(
        name=name,
        ip=ip,
        mac="02:42:" + ":".join(f"{o:02x}" for o in octets),
        hostname=hostname,
        distro="ubuntu-22.04",
        archetype=None,
        nmap_os="linux",
        services=services,
        service_config=service_config or {},
    )
