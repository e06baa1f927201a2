"""The Docker runtime's LAN follows the fleet's `[general]` network, which an INI may set later."""

from __future__ import annotations

from collections.abc import Callable

import anyio

from application.ports import ComponentHealth, DeckyRuntime, RuntimeReport
from domain.fleet.decky import DeckySpec
from domain.fleet.fleet import Fleet

Network = tuple[str | None, str | None, str | None]  # the fleet's net, gw, interface


class FleetNetworkRuntime:
    """A `DeckyRuntime` that (re)builds its inner runtime whenever the fleet's network changes.

    The Docker runtime takes its network at construction, but the fleet's net/gw/interface are
    only known once an INI sets them; rebuilding is cheap (containers are kept, found by label).
    """

    name = "docker"

    def __init__(
        self,
        load_fleet: Callable[[], Fleet | None],
        make: Callable[[Network], DeckyRuntime],
    ) -> None:
        self._load_fleet = load_fleet
        self._make = make
        self._inner: DeckyRuntime | None = None
        self._network: Network | None = None

    async def apply(self, spec: DeckySpec) -> RuntimeReport:
        return await (await self._current()).apply(spec)

    async def remove(self, name: str) -> None:
        await (await self._current()).remove(name)

    async def report(self, name: str) -> RuntimeReport:
        return await (await self._current()).report(name)

    async def health(self) -> ComponentHealth:
        return await (await self._current()).health()

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()
            self._inner = None

    async def _current(self) -> DeckyRuntime:
        fleet = await anyio.to_thread.run_sync(self._load_fleet)
        network: Network = (fleet.net, fleet.gw, fleet.interface) if fleet else (None, None, None)
        if self._inner is None or network != self._network:
            await self.close()
            self._inner = self._make(network)
            self._network = network
        return self._inner
