"""The Docker runtime: one base container per decky on a macvlan/ipvlan LAN, one per service.

The base container holds the decky's IP, MAC and hostname; each service container joins its
network namespace (`network_mode="container:<base>"`), so a service can be replaced without
the decky's address ever changing. Ownership is by label (`decnet.managed`, `decnet.decky`,
`decnet.service`), never by name guessing.

`close()` deliberately leaves the containers running: production deckies must survive a
control-plane restart, and the next `apply()` adopts them by label.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from typing import Any

import docker
import structlog
from docker.errors import APIError, DockerException, NotFound
from docker.types import IPAMConfig, IPAMPool

from application.ports import ComponentHealth, RuntimeReport, RuntimeState
from domain.fleet.decky import DeckySpec
from infrastructure.runtime.docker_specs import (
    FINGERPRINT,
    ROLE,
    SERVICE,
    DockerRuntimeOptions,
    base_run_kwargs,
    container_state,
    decky_filter,
    service_run_kwargs,
    summarize,
)

log = structlog.get_logger()

# The SDK raises its own errors, but a dead socket surfaces as a `requests` error, which is
# an OSError (requests is the SDK's transport, not a dependency of ours).
ENGINE_ERRORS = (DockerException, OSError)
KEEP_STATES = {"running", "restarting"}


class NetworkSetupError(Exception):
    """The decky LAN is missing and cannot be created from the options."""


def engine_reason(exc: BaseException) -> str:
    """The engine's own explanation when it gave one, else the error text."""
    explanation = exc.explanation if isinstance(exc, APIError) else None
    return str(explanation or exc)


class DockerRuntime:
    """`DeckyRuntime` on a Docker engine via the docker SDK (calls run in worker threads)."""

    name = "docker"

    def __init__(
        self,
        options: DockerRuntimeOptions | None = None,
        *,
        client: docker.DockerClient | None = None,
        client_factory: Callable[[], docker.DockerClient] = docker.from_env,
    ) -> None:
        self._options = options or DockerRuntimeOptions()
        self._client = client
        # Built lazily: `docker.from_env()` already talks to the engine, and a runtime must be
        # constructible (and report `failing`) while no engine answers.
        self._client_factory = client_factory
        self._lock = asyncio.Lock()

    @property
    def options(self) -> DockerRuntimeOptions:
        """What this runtime builds containers from."""
        return self._options

    async def apply(self, spec: DeckySpec) -> RuntimeReport:
        """Converge the decky's containers on `spec`; replace only what changed."""
        async with self._lock:
            return await asyncio.to_thread(self._apply_sync, spec)

    async def remove(self, name: str) -> None:
        """Remove every container labelled with this decky (services first)."""
        async with self._lock:
            await asyncio.to_thread(self._remove_sync, name)

    async def report(self, name: str) -> RuntimeReport:
        """State read from the engine; `stopped` when it holds nothing for the decky."""
        try:
            return await asyncio.to_thread(self._report_sync, name, None, {})
        except ENGINE_ERRORS as exc:
            return RuntimeReport("failed", f"docker engine error: {engine_reason(exc)}")

    async def health(self) -> ComponentHealth:
        """`ok` when the engine answers a ping, else `failing` with the reason."""
        try:
            await asyncio.to_thread(lambda: self._engine().ping())
        except ENGINE_ERRORS as exc:
            where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
            return ComponentHealth("failing", f"no Docker engine answers at {where}: {exc}")
        return ComponentHealth("ok", "docker engine answers")

    async def close(self) -> None:
        """Release the engine connection; containers keep running (see module docstring)."""
        if self._client is not None:
            await asyncio.to_thread(self._client.close)
            self._client = None

    def _engine(self) -> docker.DockerClient:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def _apply_sync(self, spec: DeckySpec) -> RuntimeReport:
        errors: dict[str, str] = {}
        try:
            self._ensure_network()
            base = self._ensure_base(spec)
            errors = self._converge_services(spec, base)
            report = self._report_sync(spec.name, spec.services, errors)
        except (*ENGINE_ERRORS, NetworkSetupError) as exc:
            report = RuntimeReport("failed", engine_reason(exc))
        log.info(
            "runtime_decky_applied",
            decky=spec.name,
            status=report.status,
            detail=report.detail,
            runtime=self.name,
        )
        return report

    def _ensure_network(self) -> None:
        net = self._options.network
        client = self._engine()
        # The engine's name filter matches substrings, so compare names exactly.
        if any(n.name == net.name for n in client.networks.list(names=[net.name])):
            return
        if not net.subnet:
            raise NetworkSetupError(
                f"network {net.name!r} does not exist and no subnet is configured to create it"
            )
        pool = IPAMPool(subnet=net.subnet, gateway=net.gateway)
        client.networks.create(
            net.name,
            driver=net.driver,
            options=net.driver_options(),
            ipam=IPAMConfig(pool_configs=[pool]),
            labels={"decnet.managed": "true"},
        )
        log.info("runtime_network_created", network=net.name, driver=net.driver, subnet=net.subnet)

    def _containers(self, decky: str) -> list[Any]:
        return list(self._engine().containers.list(all=True, filters=decky_filter(decky)))

    def _ensure_base(self, spec: DeckySpec) -> Any:
        """Keep a running base built from the same inputs; otherwise rebuild the whole decky."""
        wanted = base_run_kwargs(self._options, spec)
        current = self._containers(spec.name)
        bases = [c for c in current if c.labels.get(ROLE) == "base"]
        if len(bases) == 1 and _same(bases[0], wanted) and bases[0].status == "running":
            return bases[0]
        # Service containers live in the base's network namespace: they go with it.
        self._remove_containers(current)
        return self._engine().containers.run(**wanted)

    def _converge_services(self, spec: DeckySpec, base: Any) -> dict[str, str]:
        """Replace stale service containers, start missing ones; return per-service errors."""
        wanted = {
            svc: service_run_kwargs(self._options, spec, svc, base.id)
            for svc in dict.fromkeys(spec.services)
        }
        current = {
            c.labels.get(SERVICE): c
            for c in self._containers(spec.name)
            if c.labels.get(ROLE) == "service"
        }
        kept = {
            svc
            for svc, c in current.items()
            if svc in wanted and _same(c, wanted[svc]) and c.status in KEEP_STATES
        }
        self._remove_containers([c for svc, c in current.items() if svc not in kept])
        missing = {svc: kwargs for svc, kwargs in wanted.items() if svc not in kept}
        return self._start_services(spec.name, missing)

    def _start_services(self, decky: str, run_kwargs: Mapping[str, Any]) -> dict[str, str]:
        errors: dict[str, str] = {}
        for svc, kwargs in run_kwargs.items():
            try:
                self._engine().containers.run(**kwargs)
            except ENGINE_ERRORS as exc:
                errors[svc] = engine_reason(exc)
                log.warning("runtime_service_failed", decky=decky, service=svc, error=errors[svc])
        return errors

    def _report_sync(
        self, name: str, services: tuple[str, ...] | None, errors: Mapping[str, str]
    ) -> RuntimeReport:
        containers = self._containers(name)
        if not containers:
            if services is None:
                return RuntimeReport("stopped")
            return RuntimeReport("failed", "no container of this decky exists after apply")
        states: dict[str, tuple[RuntimeState, str]] = {"base": ("failed", "base container missing")}
        for c in containers:
            key = "base" if c.labels.get(ROLE) == "base" else c.labels.get(SERVICE, c.name)
            states[key] = container_state(c.attrs)
        listed = services if services is not None else [k for k in states if k != "base"]
        for svc in listed:
            states.setdefault(svc, ("failed", "container missing"))
        states.update({svc: ("failed", why) for svc, why in errors.items()})
        return summarize(states, dict.fromkeys(listed))

    def _remove_sync(self, name: str) -> None:
        self._remove_containers(self._containers(name))
        log.info("runtime_decky_removed", decky=name, runtime=self.name)

    @staticmethod
    def _remove_containers(containers: list[Any]) -> None:
        # Services first: removing a base under live services leaves them without a network.
        for c in sorted(containers, key=lambda c: c.labels.get(ROLE) == "base"):
            try:
                c.remove(force=True)
            except NotFound:
                continue  # already gone: removal is idempotent


def _same(container: Any, wanted: Mapping[str, Any]) -> bool:
    return bool(container.labels.get(FINGERPRINT) == wanted["labels"][FINGERPRINT])
