"""Wiring of the sniffer worker: which interface, which decky IPs, health."""

from __future__ import annotations

import anyio
import structlog
from anyio.abc import TaskGroup

from application.ports import ComponentHealth, RecordSink
from application.reads.ports import FleetReader
from infrastructure.sniffer import SnifferWorker
from interfaces.services import Core

log = structlog.get_logger()
REFRESH_S = 2.0


class DeckyAddresses:
    """IP → decky name, refreshed from the fleet read model (the sniffer reads it synchronously)."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def ips(self) -> set[str]:
        return set(self.names)

    def name(self, ip: str) -> str | None:
        return self.names.get(ip)

    async def follow(self, fleet: FleetReader) -> None:
        """Refresh until cancelled; a failed read keeps the previous set (and is logged)."""
        while True:
            try:
                self.names = {d.ip: d.name for d in await fleet.deckies()}
            except Exception as e:  # the database may be briefly away; keep sniffing
                log.warning("sniffer_decky_refresh_failed", error=f"{type(e).__name__}: {e}")
            await anyio.sleep(REFRESH_S)


def wire_sniffer(core: Core, sink: RecordSink, runtime: str) -> None:
    """Register the sniffer: on `lo` for the local runtime, else `DECNET_SNIFFER_INTERFACE`."""
    settings = core.settings
    interface = settings.sniffer_interface or ("lo" if runtime == "local" else None)
    if interface is None:
        reason = "set DECNET_SNIFFER_INTERFACE to the host interface that carries decky traffic"

        async def disabled() -> ComponentHealth:
            return ComponentHealth("disabled", reason)

        core.health["sniffer_worker"] = disabled
        return
    addresses = DeckyAddresses()
    worker = SnifferWorker(sink, interface, decky_ips=addresses.ips, decky_name=addresses.name)

    async def health() -> ComponentHealth:
        return worker.health()

    async def start(tg: TaskGroup) -> None:
        tg.start_soon(addresses.follow, core.read_models.live().fleet)
        await worker.start()
        tg.start_soon(_stop_on_cancel, worker)

    core.health["sniffer_worker"] = health
    core.add_worker(start)


async def _stop_on_cancel(worker: SnifferWorker) -> None:
    try:
        await anyio.sleep_forever()
    finally:
        with anyio.CancelScope(shield=True):
            await worker.stop()
