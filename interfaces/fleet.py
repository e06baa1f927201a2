"""Wiring of the fleet: runtime (local or docker), commands, reconciler, scheduler, read side."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
import structlog
from anyio.abc import TaskGroup
from litestar.connection import ASGIConnection

from application.fleet.commands import FleetCommands
from application.fleet.reconciler import Reconciler
from application.fleet.scheduler import MutationScheduler
from application.ports import ComponentHealth, DeckyRuntime
from domain.observations.records import InteractionRecord
from infrastructure.artifacts.store import ArtifactStore
from infrastructure.emulators.registry import EmulatorDeps, emulator_handlers
from infrastructure.runtime import DockerRuntime, DockerRuntimeOptions, LocalRuntime
from infrastructure.runtime.docker_specs import DockerNetworkOptions
from infrastructure.settings import ConfigError
from interfaces.container import Container
from interfaces.fleet_runtime import FleetNetworkRuntime
from projections.fleet_queries import FleetQueries

log = structlog.get_logger()
RUNTIMES = ("local", "docker")


@dataclass
class FleetServices:
    """The fleet side of one process."""

    commands: FleetCommands
    queries: FleetQueries
    runtime: DeckyRuntime
    reconciler: Reconciler
    scheduler: MutationScheduler


def fleet_of(connection: ASGIConnection[Any, Any, Any, Any]) -> FleetServices:
    """The fleet services of the app's container."""
    services: FleetServices = connection.app.state.container.extras["fleet"]
    return services


class _ContainerSink:
    """The record sink the collector registers, looked up per record so wiring order is free.

    Until a collector is wired (a build without observations) records are dropped with a
    debug log: the local runtime's listeners still answer attackers either way.
    """

    def __init__(self, container: Container) -> None:
        self._extras = container.extras

    async def submit(self, record: InteractionRecord) -> None:
        sink = self._extras.get("record_sink")
        if sink is None:
            log.debug("record_dropped", reason="no record sink wired", decky=record.decky)
            return
        await sink.submit(record)


def build_runtime(container: Container, commands: FleetCommands) -> DeckyRuntime:
    """The runtime `DECNET_RUNTIME` names (`local` by default)."""
    kind = container.settings.runtime
    if kind == "local":
        return LocalRuntime(_ContainerSink(container), handlers=emulator_handlers(_deps(container)))
    if kind == "docker":
        return FleetNetworkRuntime(commands.fleet, _docker_for)
    raise ConfigError(f"DECNET_RUNTIME must be one of {', '.join(RUNTIMES)}, not {kind!r}")


def _deps(container: Container) -> EmulatorDeps:
    settings = container.settings
    return EmulatorDeps(
        artifacts=ArtifactStore(settings.artifacts_dir),
        tls_dir=settings.data_dir / "tls",
        ssh_keys_dir=settings.data_dir / "ssh-host-keys",
    )


def _docker_for(network: DockerNetworkOptions) -> DeckyRuntime:
    return DockerRuntime(DockerRuntimeOptions(network=network))


def wire_fleet(container: Container) -> FleetServices:
    """Build the fleet services, register the `docker` probe, stats counts and the workers."""
    settings = container.settings
    commands = FleetCommands(
        container.store, container.config, loopback_only=settings.runtime == "local"
    )
    runtime = build_runtime(container, commands)
    reconciler = Reconciler(container.store, commands, runtime)
    container.store.on_saved(reconciler.wake)
    services = FleetServices(
        commands,
        FleetQueries(container.pool),
        runtime,
        reconciler,
        MutationScheduler(commands, container.config, commands.clock),
    )
    container.extras["fleet"] = services
    container.extras["fleet_counts"] = services.queries.counts
    container.extras.setdefault("workers", []).append(_starter(services))
    container.health["docker"] = _runtime_probe(runtime)
    return services


def _starter(services: FleetServices) -> Any:
    async def start(tg: TaskGroup) -> None:
        tg.start_soon(_run_until_cancelled, services)

    return start


async def _run_until_cancelled(services: FleetServices) -> None:
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(services.reconciler.run)
            tg.start_soon(services.scheduler.run)
    finally:
        # Local deckies live in this process: stop their listeners before the process ends.
        with anyio.CancelScope(shield=True):
            await services.runtime.close()


def _runtime_probe(runtime: DeckyRuntime) -> Any:
    async def probe() -> ComponentHealth:
        health = await runtime.health()
        return ComponentHealth(health.status, f"{runtime.name} runtime: {health.detail}")

    return probe
