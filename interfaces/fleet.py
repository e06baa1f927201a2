"""Wiring of the fleet: runtime (local or docker), commands, reconciler, scheduler."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Sequence

import anyio
import structlog
from anyio.abc import TaskGroup

from application.fleet.commands import FleetCommands
from application.fleet.reconciler import Reconciler, Settlement
from application.fleet.scheduler import MutationScheduler
from application.ports import (
    ComponentHealth,
    DeckyRuntime,
    RecordSink,
    RuntimeReport,
    RuntimeState,
)
from application.reads.ports import FleetReader, ProjectionProgress
from infrastructure.artifacts.store import ArtifactStore
from infrastructure.emulators.registry import EmulatorDeps, emulator_handlers
from infrastructure.runtime import DockerRuntime, DockerRuntimeOptions, LocalRuntime
from infrastructure.runtime.docker_specs import DockerNetworkOptions
from infrastructure.settings import AppSettings, ConfigError
from interfaces.fleet_runtime import FleetNetworkRuntime, Network
from interfaces.metrics import CountingRuntime
from interfaces.services import Core, FleetWorkers

log = structlog.get_logger()
RUNTIMES = ("local", "docker")
SETTLE_POLL_S = 0.2
SETTLED: dict[str, RuntimeState] = {"running": "running", "failed": "failed", "stopped": "stopped"}


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


def fleet_commands(core: Core) -> FleetCommands:
    """The fleet's commands (every process that takes fleet requests has them)."""
    return FleetCommands(core.store, core.config, loopback_only=core.settings.runtime == "local")


def build_fleet(core: Core, commands: FleetCommands, sink: RecordSink | None) -> FleetWorkers:
    """The runtime, the process managers driving it, the `docker` health probe and workers."""
    runtime = CountingRuntime(build_runtime(core, commands, sink))
    reconciler = Reconciler(core.store, commands, runtime)
    core.store.on_saved(reconciler.wake)
    fleet = FleetWorkers(
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


class ReadModelSettler:
    """Where the runtime runs in another process: wait until `/deckies` shows the outcome.

    A decky counts as settled once the fleet model has applied `position` and shows it other
    than `pending` (a redeploy of a running decky shows its previous status meanwhile).
    """

    def __init__(self, progress: ProjectionProgress, fleet: FleetReader) -> None:
        self._progress = progress
        self._fleet = fleet

    async def settle(self, position: int, names: Sequence[str], wait_s: float) -> Settlement:
        """The reports the fleet model shows, once all are settled or `wait_s` has passed."""
        deadline = time.monotonic() + wait_s
        while True:
            left = deadline - time.monotonic()
            reached = await self._progress.wait_for(position, ["fleet"], max(0.0, min(left, 1)))
            reports = await self._reports(names)
            if (reached and all(reports.values())) or left <= 0:
                return Settlement(reports, position)
            await anyio.sleep(SETTLE_POLL_S)

    async def _reports(self, names: Sequence[str]) -> dict[str, RuntimeReport | None]:
        shown = {d.name: d for d in await self._fleet.deckies()}
        reports: dict[str, RuntimeReport | None] = {}
        for name in names:
            decky = shown.get(name)
            status = decky.status if decky else "pending"
            settled = decky is not None and status in SETTLED
            reports[name] = (
                RuntimeReport(SETTLED[status], decky.status_detail, decky.ports)
                if settled and decky
                else None
            )
        return reports


async def _run_until_cancelled(fleet: FleetWorkers) -> None:
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(fleet.reconciler.run)
            tg.start_soon(fleet.scheduler.run)
    finally:
        # Local deckies live in this process: stop their listeners before the process ends.
        with anyio.CancelScope(shield=True):
            await fleet.runtime.close()
