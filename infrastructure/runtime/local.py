"""The local runtime: each decky is a loopback IP with one real asyncio listener per service.

This is the embedded default (DESIGN decision 7): no containers, real sockets, and every
interaction goes straight to the `RecordSink` the process ingests from.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import structlog

from application.ports import ComponentHealth, RecordSink, RuntimeReport
from domain.fleet.decky import DeckySpec
from infrastructure.runtime.banners import profile_for
from infrastructure.runtime.handlers import HandlerFactory, ServiceContext, resolve_handler
from infrastructure.runtime.listeners import Listener, ListenerLimits, TcpListener, UdpListener
from infrastructure.runtime.loopback import LoopbackError, check_loopback, ensure_bindable
from infrastructure.runtime.recording import Recorder

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class LocalRuntimeOptions:
    """Tunables of the local runtime."""

    idle_timeout: float = 60.0  # a silent peer is dropped after this many seconds
    max_session_s: float = 600.0  # no connection lives longer, however chatty
    max_connections: int = 64  # per listener; extra connections are closed at once
    prefer_standard_ports: bool = True  # try the service's usual port before a free one


@dataclass(slots=True)
class _Service:
    listener: Listener
    config: dict[str, str]
    hostname: str


@dataclass(slots=True)
class _Decky:
    spec: DeckySpec
    services: dict[str, _Service] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    failure: str | None = None  # the whole decky could not be placed (bad IP)


async def start_listener(
    ctx: ServiceContext,
    handlers: Mapping[str, HandlerFactory],
    sink: RecordSink,
    limits: ListenerLimits,
    ip: str,
    ports: Sequence[int],
) -> Listener:
    """One service's listener on the first free port of `ports`, recording into `sink`.

    The one way a service is served: the local runtime calls it per decky service, and
    `decnet emulate` calls it once inside a Docker decky's network namespace.
    """
    recorder = Recorder(sink, ctx.decky, ctx.service)
    listener: TcpListener | UdpListener
    if profile_for(ctx.service).transport == "udp":
        listener = UdpListener(recorder)
    else:
        listener = TcpListener(resolve_handler(handlers, ctx), recorder, limits)
    port = await listener.start(ip, ports)
    log.info("runtime_service_started", decky=ctx.decky, service=ctx.service, ip=ip, port=port)
    return listener


class LocalRuntime:
    """`DeckyRuntime` on loopback sockets; `handlers` plugs protocol emulators per service."""

    name = "local"

    def __init__(
        self,
        sink: RecordSink,
        options: LocalRuntimeOptions | None = None,
        *,
        handlers: Mapping[str, HandlerFactory] | None = None,
    ) -> None:
        self._sink = sink
        self._options = options or LocalRuntimeOptions()
        self._limits = ListenerLimits(
            idle_timeout=self._options.idle_timeout,
            max_session_s=self._options.max_session_s,
            max_connections=self._options.max_connections,
        )
        self._handlers: Mapping[str, HandlerFactory] = dict(handlers or {})
        self._deckies: dict[str, _Decky] = {}
        # One lock for the whole runtime: applies are short, and serialising them keeps the
        # diff against the current listeners race-free.
        self._lock = asyncio.Lock()

    async def apply(self, spec: DeckySpec) -> RuntimeReport:
        """Converge the decky's listeners on `spec.services`, keeping unchanged ones."""
        async with self._lock:
            try:
                check_loopback(spec.ip)
                await ensure_bindable(spec.ip)
            except LoopbackError as exc:
                await self._stop(spec.name)
                self._deckies[spec.name] = _Decky(spec, failure=str(exc))
                log.warning("runtime_decky_failed", decky=spec.name, reason=str(exc))
                return self._report_of(self._deckies[spec.name])
            return await self._converge(spec)

    async def remove(self, name: str) -> None:
        """Stop every listener of the decky and forget it."""
        async with self._lock:
            await self._stop(name)

    async def report(self, name: str) -> RuntimeReport:
        """Current state: running with actual ports, failed with the reason, or stopped."""
        decky = self._deckies.get(name)
        return self._report_of(decky) if decky else RuntimeReport("stopped")

    async def health(self) -> ComponentHealth:
        """Always able to act: loopback needs no engine."""
        listeners = sum(len(d.services) for d in self._deckies.values())
        return ComponentHealth("ok", f"{len(self._deckies)} deckies, {listeners} listeners")

    async def close(self) -> None:
        """Stop every decky this runtime started."""
        async with self._lock:
            for name in list(self._deckies):
                await self._stop(name)

    def listeners(self, name: str) -> Mapping[str, Listener]:
        """The live listeners of one decky by service (for inspection and tests)."""
        decky = self._deckies.get(name)
        return {svc: s.listener for svc, s in decky.services.items()} if decky else {}

    async def _converge(self, spec: DeckySpec) -> RuntimeReport:
        current = self._deckies.get(spec.name)
        if current is not None and (current.spec.ip != spec.ip or current.failure):
            await self._stop(spec.name)  # a new address means every socket moves
            current = None
        decky = current or _Decky(spec)
        decky.spec = spec
        self._deckies[spec.name] = decky
        previous_ports = await self._stop_stale(decky)
        await self._start_missing(decky, previous_ports)
        report = self._report_of(decky)
        log.info("runtime_decky_applied", decky=spec.name, status=report.status, ports=report.ports)
        return report

    async def _stop_stale(self, decky: _Decky) -> dict[str, int]:
        """Stop services no longer wanted or whose settings changed; return reusable ports."""
        wanted = set(decky.spec.services)
        stale = {
            svc: s
            for svc, s in decky.services.items()
            if svc not in wanted
            or s.config != decky.spec.service_config.get(svc, {})
            or s.hostname != decky.spec.hostname
        }
        await asyncio.gather(*(s.listener.stop() for s in stale.values()))
        for svc in stale:
            del decky.services[svc]
        decky.errors = {}
        # A reconfigured service comes back on the port it had, so attackers see no change.
        return {svc: s.listener.port for svc, s in stale.items() if svc in wanted}

    async def _start_missing(self, decky: _Decky, previous_ports: Mapping[str, int]) -> None:
        for svc in dict.fromkeys(decky.spec.services):
            if svc in decky.services:
                continue
            try:
                decky.services[svc] = await self._start(decky.spec, svc, previous_ports.get(svc))
            except OSError as exc:
                decky.errors[svc] = str(exc)
                log.warning(
                    "runtime_service_failed", decky=decky.spec.name, service=svc, error=str(exc)
                )

    async def _start(self, spec: DeckySpec, service: str, previous_port: int | None) -> _Service:
        config = dict(spec.service_config.get(service, {}))
        ctx = ServiceContext(spec.name, spec.hostname, service, config, spec.distro)
        ports = self._candidate_ports(profile_for(service).port, previous_port)
        listener = await start_listener(
            ctx, self._handlers, self._sink, self._limits, spec.ip, ports
        )
        return _Service(listener, config, spec.hostname)

    def _candidate_ports(self, standard: int, previous: int | None) -> list[int]:
        candidates = [previous] if previous else []
        if self._options.prefer_standard_ports and standard:
            candidates.append(standard)
        return [*dict.fromkeys(candidates), 0]  # 0: any free port, the last resort

    async def _stop(self, name: str) -> None:
        decky = self._deckies.pop(name, None)
        if decky is None:
            return
        await asyncio.gather(*(s.listener.stop() for s in decky.services.values()))
        log.info("runtime_decky_stopped", decky=name, services=sorted(decky.services))

    @staticmethod
    def _report_of(decky: _Decky) -> RuntimeReport:
        ports = {svc: s.listener.port for svc, s in decky.services.items()}
        if decky.failure:
            return RuntimeReport("failed", decky.failure)
        if decky.errors:
            detail = "; ".join(f"{svc}: {err}" for svc, err in sorted(decky.errors.items()))
            return RuntimeReport("failed", detail, ports)
        return RuntimeReport("running", "", ports)
