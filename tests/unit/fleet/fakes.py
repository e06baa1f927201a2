"""In-memory collaborators for fleet handler tests: store, clock and runtime (fakes, not mocks)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from application.fleet.commands import FleetCommands
from application.fleet.settings import SettingsCommands
from application.ports import ComponentHealth, RuntimeReport, RuntimeState
from application.store import EventStoreApp
from domain.fleet.decky import DeckySpec

MEMORY_ENV = {
    "PERSISTENCE_MODULE": "eventsourcing.popo",
    "MAPPER_TOPIC": "infrastructure.eventstore.mapper:MsgspecMapper",
}
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def memory_store() -> EventStoreApp:
    """A fresh in-memory event store with the production mapper."""
    return EventStoreApp(env=dict(MEMORY_ENV))


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move forward by a `timedelta(**delta)`."""
        self.now += timedelta(**delta)


def fleet_commands(
    store: EventStoreApp,
    clock: FakeClock | None = None,
    seed: int = 0,
    loopback_only: bool = False,
) -> FleetCommands:
    """Fleet handlers on `store` with a seeded rng (one fresh Random per decision)."""
    return FleetCommands(
        store,
        SettingsCommands(store),
        clock=clock or FakeClock(),
        rng=lambda: random.Random(seed),
        loopback_only=loopback_only,
    )


class FakeRuntime:
    """A `DeckyRuntime` that keeps deckies in a dict and gives each service a distinct port."""

    name = "fake"

    def __init__(self, first_port: int = 20000) -> None:
        self.deckies: dict[str, DeckySpec] = {}
        self.ports: dict[tuple[str, str], int] = {}
        self.calls: list[tuple[str, str]] = []
        self.failures: dict[str, str] = {}  # decky -> reason its apply fails with
        self.states: dict[str, RuntimeState] = {}  # decky -> state reported instead of running
        self.raises: dict[str, Exception] = {}
        self._next_port = first_port

    async def apply(self, spec: DeckySpec) -> RuntimeReport:
        self.calls.append(("apply", spec.name))
        if spec.name in self.raises:
            raise self.raises[spec.name]
        self.deckies[spec.name] = spec
        for key in [k for k in self.ports if k[0] == spec.name and k[1] not in spec.services]:
            del self.ports[key]  # a removed service's socket is closed
        for service in spec.services:
            if (spec.name, service) not in self.ports:
                self.ports[spec.name, service] = self._next_port
                self._next_port += 1
        return await self.report(spec.name)

    async def remove(self, name: str) -> None:
        self.calls.append(("remove", name))
        self.deckies.pop(name, None)
        self.ports = {k: v for k, v in self.ports.items() if k[0] != name}

    async def report(self, name: str) -> RuntimeReport:
        if name not in self.deckies:
            return RuntimeReport("stopped")
        if name in self.failures:
            return RuntimeReport("failed", self.failures[name])
        ports = {s: p for (d, s), p in self.ports.items() if d == name}
        return RuntimeReport(self.states.get(name, "running"), "", ports)

    async def health(self) -> ComponentHealth:
        return ComponentHealth("ok", f"{len(self.deckies)} deckies")

    async def close(self) -> None:
        self.deckies.clear()
        self.ports.clear()


def events_of(store: EventStoreApp, *kinds: type) -> list[Any]:
    """Every stored event (of the given classes, if any), oldest first."""
    events = [store.mapper.to_domain_event(n) for n in store.read(0, 100_000)]
    return [e for e in events if not kinds or isinstance(e, kinds)]
