"""Shared helpers for the emulator tests: a local runtime serving real emulators on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.to_thread

from domain.observations.records import InteractionRecord
from infrastructure.artifacts.store import ArtifactStore
from infrastructure.emulators.registry import EmulatorDeps, emulator_handlers
from infrastructure.runtime.handlers import HandlerFactory
from infrastructure.runtime.local import LocalRuntime, LocalRuntimeOptions
from tests.contract.conftest import make_spec
from tests.fakes import MemorySink

CLIENT_TIMEOUT_S = 10.0  # every client socket operation; a hung emulator fails the test
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Deployed:
    """One running decky: where it listens and what it recorded."""

    name: str
    ip: str
    ports: Mapping[str, int]
    sink: MemorySink
    store: ArtifactStore

    def records(self, service: str, event_type: str) -> list[InteractionRecord]:
        """Records of this decky for a service and event type, in emission order."""
        return self.sink.matching(decky=self.name, service=service, event_type=event_type)

    async def wait_for(self, service: str, event_type: str, **fields: str) -> InteractionRecord:
        """The first record of that service and type carrying `fields` (waits up to 3 s)."""
        return await self.sink.wait_for_event(self.name, service, event_type, **fields)


@asynccontextmanager
async def deploy(
    tmp_path: Path,
    ip: str,
    services: tuple[str, ...],
    config: dict[str, dict[str, str]] | None = None,
    *,
    store: ArtifactStore | None = None,
    handlers: Mapping[str, HandlerFactory] | None = None,
    distro: str = "ubuntu-22.04",
) -> AsyncIterator[Deployed]:
    """Run a decky with the real emulators (or `handlers`) on `ip`, on free ports."""
    sink = MemorySink()
    artifacts = store or ArtifactStore(tmp_path / "artifacts")
    registry = handlers or emulator_handlers(EmulatorDeps(artifacts, tmp_path / "tls"))
    options = LocalRuntimeOptions(idle_timeout=5.0, prefer_standard_ports=False)
    runtime = LocalRuntime(sink, options, handlers=registry)
    name = "web-" + ip.replace(".", "-")
    try:
        spec = replace(make_spec(name, ip, services, config, hostname="files-01"), distro=distro)
        report = await runtime.apply(spec)
        assert report.status == "running", report
        yield Deployed(name, ip, report.ports, sink, artifacts)
    finally:
        await runtime.close()


async def in_thread(function: Callable[[], T], timeout: float = 20.0) -> T:
    """Run a blocking client call off the event loop (the emulator runs on it), bounded."""
    with anyio.fail_after(timeout):
        return await anyio.to_thread.run_sync(function)
