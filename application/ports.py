"""Ports: the protocols the outer layers implement for the application."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from domain.fleet.decky import DeckySpec
from domain.observations.records import InteractionRecord

RuntimeState = Literal["pending", "running", "failed", "stopped"]
HealthState = Literal["ok", "failing", "disabled"]


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    """How one component is doing, as `/health` reports it."""

    status: HealthState
    detail: str = ""


@dataclass(frozen=True, slots=True)
class RuntimeReport:
    """What a runtime says about one decky after acting on it."""

    status: RuntimeState
    detail: str = ""
    ports: dict[str, int] = field(default_factory=dict)


class RecordSink(Protocol):
    """Where emulators and the collector hand interaction records for ingestion."""

    async def submit(self, record: InteractionRecord) -> None:
        """Accept one record; may wait (back-pressure) but never drops silently."""
        ...


class DeckyRuntime(Protocol):
    """Drives real decoy hosts to the state the fleet's events describe.

    Every method is idempotent: applying the same spec twice leaves one decky running
    exactly `spec.services`; removing an unknown decky is a no-op.
    """

    name: str

    async def apply(self, spec: DeckySpec) -> RuntimeReport:
        """Make the decky exist with exactly `spec.services` running; report the outcome."""
        ...

    async def remove(self, name: str) -> None:
        """Stop and delete everything the runtime holds for this decky."""
        ...

    async def report(self, name: str) -> RuntimeReport:
        """Current state of one decky (`stopped` when the runtime holds nothing for it)."""
        ...

    async def health(self) -> ComponentHealth:
        """Whether the runtime can act at all (engine reachable, addresses usable)."""
        ...

    async def close(self) -> None:
        """Stop every decky this process started and release resources."""
        ...
