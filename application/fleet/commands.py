"""Fleet commands: deploy an INI, mutate, set/clear an interval, tear down, record runtime status.

Every command loads the Fleet, decides, and saves with optimistic concurrency: if another
command (in this or another process) saved first, the store refuses the stale version and we
reload and decide again — so the second of two deploys racing for the last slot sees the first
and gets a 409. Random picks are drawn while deciding and recorded in the events.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from application.fleet.repository import FleetRepository, utc_now
from application.fleet.settings import SettingsCommands
from application.ports import RuntimeReport
from application.store import EventStoreApp, Position
from domain.fleet.fleet import Fleet, Trigger
from domain.fleet.ini import FleetPlan, parse_fleet_ini
from domain.fleet.mutation import choose_mutation
from domain.fleet.placement import require_loopback
from domain.shared.meta import SYSTEM, CommandMeta

T = TypeVar("T")
Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Deployment:
    """What a deploy wrote: its position and the new deckies' names, in INI order.

    `unchanged`: the INI's deckies already in the fleet as defined (kept, nothing written);
    `ignored`: `[section] key` settings no emulator reads (kept in `service_config`).
    """

    position: Position
    names: tuple[str, ...]
    unchanged: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Mutation:
    """What a mutation wrote: its position and the decky's new services."""

    position: Position
    services: tuple[str, ...]


class FleetCommands:
    """Handlers for the fleet commands; each returns the position it wrote (0: nothing to write)."""

    def __init__(
        self,
        store: EventStoreApp,
        settings: SettingsCommands,
        *,
        clock: Clock = utc_now,
        rng: Callable[[], random.Random] = random.Random,
        loopback_only: bool = False,
    ) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self._rng = rng
        self._loopback_only = loopback_only
        self.repository = FleetRepository(store)

    @property
    def clock(self) -> Clock:
        """The clock events are stamped with (the scheduler shares it)."""
        return self._clock

    def fleet(self) -> Fleet | None:
        """The fleet as stored now (a private copy), None before the first deployment."""
        return self.repository.load()

    def deploy(self, meta: CommandMeta, ini_text: str) -> Deployment:
        """Add an INI's deckies (422 invalid INI, 409 conflicts with the fleet or the limit)."""

        def decide(fleet: Fleet) -> FleetPlan:
            limit = self._settings.current().deployment_limit
            plan = parse_fleet_ini(ini_text, rng=self._rng(), existing=fleet.view(limit))
            if self._loopback_only:
                require_loopback(plan)
            fleet.deploy(meta, plan, limit, self._clock())
            return plan

        plan, position = self._decide(decide)
        names = tuple(spec.name for spec in plan.deckies)
        return Deployment(position, names, plan.unchanged, plan.ignored)

    def mutate(
        self,
        meta: CommandMeta,
        name: str,
        trigger: Trigger = "operator",
        seen: datetime | None = None,
    ) -> Mutation:
        """Redraw a decky's services (404 unknown; a stale scheduled `seen` is superseded)."""

        def decide(fleet: Fleet) -> tuple[str, ...]:
            state = fleet.decky(name)
            services = choose_mutation(state.spec.services, state.spec.archetype, self._rng())
            fleet.mutate(meta, name, services, trigger, self._clock(), seen=seen)
            return services

        services, position = self._decide(decide)
        return Mutation(position, services)

    def set_interval(self, meta: CommandMeta, name: str, minutes: int | None) -> Position:
        """Give a decky its own mutation interval, or (None) make it follow the global one."""

        def decide(fleet: Fleet) -> None:
            if minutes is None:
                fleet.clear_interval(meta, name, self._clock())
            else:
                fleet.set_interval(meta, name, minutes, self._clock())

        return self._decide(decide)[1]

    def tear_down(self, meta: CommandMeta, name: str) -> Position:
        """Remove a decky from the fleet (404 unknown)."""
        return self._decide(lambda fleet: fleet.tear_down(meta, name, self._clock()))[1]

    def record_status(self, name: str, report: RuntimeReport) -> Position:
        """Note a runtime report; 0 when it changes nothing or the decky is gone."""

        def decide(fleet: Fleet) -> None:
            fleet.record_runtime_status(
                SYSTEM, name, report.status, report.detail, dict(report.ports), self._clock()
            )

        return self._decide(decide)[1]

    def _decide(self, decide: Callable[[Fleet], T]) -> tuple[T, Position]:
        def attempt() -> tuple[T, list[Fleet]]:
            stored = self.repository.load()
            # Before the first deployment an unsaved, empty fleet answers every question.
            fleet = stored or Fleet.start(SYSTEM, self._clock())
            result = decide(fleet)
            changed = len(fleet.pending_events) > (0 if stored else 1)
            return result, [fleet] if changed else []

        return self._store.save_decided(attempt, "the fleet")
