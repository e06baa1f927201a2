"""The Fleet aggregate: every decky in one consistency boundary, so names, IPs and limit hold."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Literal, cast
from uuid import NAMESPACE_URL, uuid5

from eventsourcing.domain import Aggregate

from domain.fleet.catalogue import SERVICES
from domain.fleet.decky import DeckySpec
from domain.fleet.durations import MAX_MINUTES
from domain.fleet.invariants import check_deployable
from domain.fleet.plan import FleetPlan, FleetView
from domain.fleet.state import RUNTIME_STATUSES, DeckyState, RuntimeStatus
from domain.shared.errors import ConflictError, InvalidError, NotFoundError
from domain.shared.meta import CommandMeta

FLEET_ID = uuid5(NAMESPACE_URL, "https://decnet-es/fleet")
Trigger = Literal["operator", "scheduled"]


class DeckyNotFoundError(NotFoundError):
    """The fleet has no decky of that name."""


class MutationSupersededError(ConflictError):
    """A scheduled mutation lost to a change made after the scheduler looked at the decky."""


class Fleet(Aggregate):
    """The deployed deckies, the fleet's network and each decky's last runtime report."""

    class Started(Aggregate.Created):
        meta: CommandMeta

    class FleetNetworkSet(Aggregate.Event):
        meta: CommandMeta
        net: str | None
        gw: str | None
        interface: str | None

        def apply(self, aggregate: Fleet) -> None:
            aggregate.net, aggregate.gw = self.net, self.gw
            aggregate.interface = self.interface

    class DeckyDeployed(Aggregate.Event):
        meta: CommandMeta
        spec: DeckySpec

        def apply(self, aggregate: Fleet) -> None:
            aggregate.deckies[self.spec.name] = DeckyState(self.spec, deployed_at=self.timestamp)

    class DeckyMutated(Aggregate.Event):
        meta: CommandMeta
        decky: str
        old_services: tuple[str, ...]
        new_services: tuple[str, ...]
        trigger: str

        def apply(self, aggregate: Fleet) -> None:
            state = aggregate.deckies[self.decky]
            state.spec = replace(state.spec, services=self.new_services)
            state.last_mutated = self.timestamp
            # The old listeners are going away: nothing is known to run until the runtime says so.
            state.status, state.detail = "pending", ""
            state.ports = {s: p for s, p in state.ports.items() if s in self.new_services}

    class MutationIntervalSet(Aggregate.Event):
        meta: CommandMeta
        decky: str
        minutes: int

        def apply(self, aggregate: Fleet) -> None:
            state = aggregate.deckies[self.decky]
            state.spec = replace(state.spec, mutate_interval_minutes=self.minutes)

    class MutationIntervalCleared(Aggregate.Event):
        meta: CommandMeta
        decky: str

        def apply(self, aggregate: Fleet) -> None:
            state = aggregate.deckies[self.decky]
            state.spec = replace(state.spec, mutate_interval_minutes=None)

    class DeckyTornDown(Aggregate.Event):
        meta: CommandMeta
        decky: str

        def apply(self, aggregate: Fleet) -> None:
            del aggregate.deckies[self.decky]

    class RuntimeStatusChanged(Aggregate.Event):
        meta: CommandMeta
        decky: str
        status: str
        detail: str
        ports: dict[str, int]

        def apply(self, aggregate: Fleet) -> None:
            state = aggregate.deckies[self.decky]
            state.status = cast(RuntimeStatus, self.status)
            state.detail, state.ports = self.detail, dict(self.ports)

    def __init__(self, meta: CommandMeta) -> None:
        self.deckies: dict[str, DeckyState] = {}
        self.net: str | None = None
        self.gw: str | None = None
        self.interface: str | None = None

    @classmethod
    def start(cls, meta: CommandMeta, at: datetime) -> Fleet:
        """The fleet's stream begins with its first deployment."""
        return cls._create(cls.Started, id=FLEET_ID, meta=meta, timestamp=at)

    def view(self, deployment_limit: int) -> FleetView:
        """What an INI is planned against: names, used IPs, network and the limit."""
        return FleetView(
            deckies={name: state.deployed for name, state in self.deckies.items()},
            net=self.net,
            gateway=self.gw,
            deployment_limit=deployment_limit,
        )

    def deploy(self, meta: CommandMeta, plan: FleetPlan, limit: int, at: datetime) -> None:
        """Add a planned INI's new deckies; refuse anything the fleet as it stands contradicts.

        The plan's `unchanged` deckies are already in the fleet as defined: nothing is recorded.
        """
        check_deployable(self.view(limit), self.interface, plan)
        wanted = (plan.net, plan.gw, plan.interface or self.interface)
        if wanted != (self.net, self.gw, self.interface) and any(wanted):
            net, gw, interface = wanted
            self.trigger_event(
                self.FleetNetworkSet, meta=meta, net=net, gw=gw, interface=interface, timestamp=at
            )
        for spec in plan.deckies:
            if spec.mutate_interval_minutes is None:
                # [general] mutate_interval is the default of the INI's own deckies.
                spec = replace(spec, mutate_interval_minutes=plan.mutate_interval_minutes)
            self.trigger_event(self.DeckyDeployed, meta=meta, spec=spec, timestamp=at)

    def mutate(
        self,
        meta: CommandMeta,
        name: str,
        services: tuple[str, ...],
        trigger: Trigger,
        at: datetime,
        seen: datetime | None = None,
    ) -> None:
        """Give a decky new services; a scheduled one only if nothing changed since `seen`."""
        state = self.decky(name)
        if seen is not None and state.last_changed != seen:
            raise MutationSupersededError(f"decky {name!r} changed since the scheduler read it")
        unknown = [s for s in services if s not in SERVICES]
        if not services or unknown:
            raise InvalidError(f"cannot mutate {name!r} to services {list(services)!r}")
        self.trigger_event(
            self.DeckyMutated,
            meta=meta,
            decky=name,
            old_services=state.spec.services,
            new_services=tuple(services),
            trigger=trigger,
            timestamp=at,
        )

    def set_interval(self, meta: CommandMeta, name: str, minutes: int, at: datetime) -> None:
        """The decky mutates every `minutes` instead of following the global interval."""
        self.decky(name)
        if not 1 <= minutes <= MAX_MINUTES:
            raise InvalidError(f"mutate_interval must be between 1 and {MAX_MINUTES} minutes")
        self.trigger_event(
            self.MutationIntervalSet, meta=meta, decky=name, minutes=minutes, timestamp=at
        )

    def clear_interval(self, meta: CommandMeta, name: str, at: datetime) -> None:
        """The decky follows the global interval again."""
        self.decky(name)
        self.trigger_event(self.MutationIntervalCleared, meta=meta, decky=name, timestamp=at)

    def tear_down(self, meta: CommandMeta, name: str, at: datetime) -> None:
        """Remove the decky from the fleet; its name and IP become free."""
        self.decky(name)
        self.trigger_event(self.DeckyTornDown, meta=meta, decky=name, timestamp=at)

    def record_runtime_status(
        self,
        meta: CommandMeta,
        name: str,
        status: RuntimeStatus,
        detail: str,
        ports: dict[str, int],
        at: datetime,
    ) -> bool:
        """Note what the runtime reported; False (no event) if nothing changed or it is gone."""
        if status not in RUNTIME_STATUSES:
            raise ValueError(f"unknown runtime status {status!r}")
        state = self.deckies.get(name)
        if state is None or (state.status, state.detail, state.ports) == (status, detail, ports):
            return False
        self.trigger_event(
            self.RuntimeStatusChanged,
            meta=meta,
            decky=name,
            status=status,
            detail=detail,
            ports=dict(ports),
            timestamp=at,
        )
        return True

    def decky(self, name: str) -> DeckyState:
        """One decky, or `DeckyNotFound`."""
        state = self.deckies.get(name)
        if state is None:
            raise DeckyNotFoundError(f"decky {name!r} not found")
        return state

    def due_for_mutation(self, now: datetime, global_minutes: int) -> list[tuple[str, datetime]]:
        """(name, last change) of every decky due at `now`, soonest first."""
        due = [(s.next_mutation_at(global_minutes), n) for n, s in self.deckies.items()]
        return [
            (name, self.deckies[name].last_changed) for when, name in sorted(due) if when <= now
        ]
