"""Wiring of the sniffer worker: which interface, which decky IPs, health."""

from __future__ import annotations

import contextlib
from typing import Any

import anyio
import structlog
from anyio.abc import TaskGroup

from application.ports import ComponentHealth
from infrastructure.sniffer import SnifferWorker
from interfaces.container import Container

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

    async def follow(self, container: Container) -> None:
        """Refresh until cancelled; a failed read keeps the previous set."""
        fleet = container.extras.get("fleet")
        while fleet is not None:
            with contextlib.suppress(Exception):
                rows = await fleet.queries.deckies()
                self.names = {row["ip"]: row["name"] for row in rows}
            await anyio.sleep(REFRESH_S)


def wire_sniffer(container: Container) -> None:
    """Register the sniffer: on `lo` for the local runtime, else `DECNET_SNIFFER_INTERFACE`."""
    settings = container.settings
    interface = settings.sniffer_interface or ("lo" if settings.runtime == "local" else None)
    if interface is None:
        container.health["sniffer_worker"] = _disabled(
            "set DECNET_SNIFFER_INTERFACE to the host interface that carries decky traffic"
        )
        return
    sink = container.extras["record_sink"]
    addresses = DeckyAddresses()
    worker = SnifferWorker(sink, interface, decky_ips=addresses.ips, decky_name=addresses.name)

    async def health() -> ComponentHealth:
        return worker.health()

    async def start(tg: TaskGroup) -> None:
        tg.start_soon(addresses.follow, container)
        await worker.start()
        tg.start_soon(_stop_on_cancel, worker)

    container.health["sniffer_worker"] = health
    container.extras.setdefault("workers", []).append(start)


async def _stop_on_cancel(worker: SnifferWorker) -> None:
    try:
        await anyio.sleep_forever()
    finally:
        with anyio.CancelScope(shield=True):
            await worker.stop()


def _disabled(reason: str) -> Any:
    async def probe() -> ComponentHealth:
        return ComponentHealth("disabled", reason)

    return probe
