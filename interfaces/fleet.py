"""Wiring of the fleet: runtime (local or docker), commands, reconciler, scheduler."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import anyio
import structlog
from anyio.abc import TaskGroup

from application.fleet.commands import FleetCommands
from application.fleet.reconciler import Reconciler
from application.fleet.scheduler import MutationScheduler
from application.ports import ComponentHealth, DeckyRuntime, RecordSink
from infrastructure.artifacts.store import ArtifactStore
from infrastructure.emulators.registry import EmulatorDeps, emulator_handlers
from infrastructure.runtime import DockerRuntime, DockerRuntimeOptions, LocalRuntime
from infrastructure.runtime.docker_specs import DockerNetworkOptions
from infrastructure.settings import AppSettings, ConfigError
from interfaces.fleet_runtime import FleetNetworkRuntime, Network
from interfaces.metrics import CountingRuntime
from interfaces.services import Core, FleetServices

log = structlog.get_logger()
RUNTIMES = ("local", "docker")


def build_runtime(core: Core, commands: FleetCommands, sink: RecordSink | None) -> DeckyRuntime:
    """The runtime `DECNET_RUNTIME` names (`local` by default)."""
    kind = core.settings.runtime
    if kind == "local":
        if sink is None:
            raise ConfigError("the local runtime needs the collector in the same process")
        return LocalRuntime(sink, handlers=emulator_handlers(_deps(core.settings, core.artifacts)))
    if kind == "docker":
        return FleetNetworkRuntime(commands.fleet, docker_factory(core.settings))
    raise ConfigError(f"DECNET_RUNTIME must be one of {', '.join(RUNTIMES)}, not {kind!r}")


def _deps(settings: AppSettings, artifacts: ArtifactStore) -> EmulatorDeps:
    return EmulatorDeps(
        artifacts=artifacts,
        tls_dir=settings.data_dir / "tls",
        ssh_keys_dir=settings.data_dir / "ssh-host-keys",
    )


def docker_factory(settings: AppSettings) -> Callable[[Network], DeckyRuntime]:
    """Builds the Docker runtime for the fleet's (net, gw, interface) from `DECNET_DOCKER_*`."""

    def make(network: Network) -> DeckyRuntime:
        subnet, gateway, parent = network
        lan = DockerNetworkOptions(
            name=settings.docker_network,
            driver=settings.docker_network_driver,
            subnet=subnet,
            gateway=gateway,
            parent=parent,
        )
        artifacts = settings.docker_artifacts_volume or str(settings.artifacts_dir.resolve())
        options = DockerRuntimeOptions(
            network=lan,
            base_image=settings.docker_base_image,
            emulator_image=settings.docker_emulator_image,
            syslog_target=_syslog_target(settings, subnet, gateway),
            artifacts_volume=artifacts,
            name_prefix=settings.docker_name_prefix,
        )
        return DockerRuntime(options)

    return make


def _syslog_target(settings: AppSettings, subnet: str | None, gateway: str | None) -> str:
    """`DECNET_DOCKER_SYSLOG_TARGET`, else this host as the deckies' gateway sees it.

    The default fits a bridge network (the gateway is the host's bridge address); on macvlan the
    host cannot reach its own children through the parent NIC, so set the target explicitly.
    """
    if settings.docker_syslog_target:
        return settings.docker_syslog_target
    if gateway is None and subnet is not None:
        gateway = str(next(ipaddress.ip_network(subnet, strict=False).hosts()))
    return f"tcp://{gateway}:{settings.syslog_port}" if gateway else ""


def build_fleet(core: Core, sink: RecordSink | None) -> FleetServices:
    """The fleet services, the `docker` health probe and the fleet workers."""
    settings = core.settings
    commands = FleetCommands(core.store, core.config, loopback_only=settings.runtime == "local")
    runtime = CountingRuntime(build_runtime(core, commands, sink))
    reconciler = Reconciler(core.store, commands, runtime)
    core.store.on_saved(reconciler.wake)
    fleet = FleetServices(
        commands=commands,
        runtime=runtime,
        reconciler=reconciler,
        scheduler=MutationScheduler(commands, core.config, commands.clock),
    )

    async def probe() -> ComponentHealth:
        health = await runtime.health()
        return ComponentHealth(health.status, f"{runtime.name} runtime: {health.detail}")

    async def start(tg: TaskGroup) -> None:
        tg.start_soon(_run_until_cancelled, fleet)

    core.health["docker"] = probe
    core.add_worker(start)
    return fleet


async def _run_until_cancelled(fleet: FleetServices) -> None:
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(fleet.reconciler.run)
            tg.start_soon(fleet.scheduler.run)
    finally:
        # Local deckies live in this process: stop their listeners before the process ends.
        with anyio.CancelScope(shield=True):
            await fleet.runtime.close()
