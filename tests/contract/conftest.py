"""Shared fixtures and fakes for the contract suites."""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio
import pytest

from domain.fleet.decky import DeckySpec
from domain.observations.records import InteractionRecord


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio only (the runtimes are asyncio code)."""
    return "asyncio"


class MemorySink:
    """A `RecordSink` that keeps every record, with a helper to wait for one."""

    def __init__(self) -> None:
        self.records: list[InteractionRecord] = []

    async def submit(self, record: InteractionRecord) -> None:
        self.records.append(record)

    def matching(self, **attrs: str) -> list[InteractionRecord]:
        """Records whose attributes equal every given value."""
        return [r for r in self.records if all(getattr(r, k) == v for k, v in attrs.items())]

    async def wait_for(
        self, predicate: Callable[[InteractionRecord], bool], timeout: float = 3.0
    ) -> InteractionRecord:
        """The first record satisfying `predicate`, waiting up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for record in self.records:
                if predicate(record):
                    return record
            await anyio.sleep(0.01)
        raise AssertionError(f"no matching record within {timeout}s; got {self.records!r}")

    async def wait_for_event(
        self, decky: str, service: str, event_type: str, **fields: str
    ) -> InteractionRecord:
        """The first record of that decky, service and event type carrying `fields`."""

        def matches(record: InteractionRecord) -> bool:
            return (record.decky, record.service, record.event_type) == (
                decky,
                service,
                event_type,
            ) and all(record.fields.get(k) == v for k, v in fields.items())

        return await self.wait_for(matches)


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
