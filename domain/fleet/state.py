"""One decky as the Fleet aggregate holds it, and when it is next due for mutation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from domain.fleet.decky import DeckySpec

RuntimeStatus = Literal["pending", "running", "failed", "stopped"]
RUNTIME_STATUSES: tuple[RuntimeStatus, ...] = ("pending", "running", "failed", "stopped")


@dataclass(slots=True)
class DeckyState:
    """The current spec (services and interval as mutated), when it changed, and runtime state.

    `deployed` is the spec as `DeckyDeployed` recorded it: what a re-deployed INI is compared to.
    """

    spec: DeckySpec
    deployed_at: datetime
    last_mutated: datetime | None = None
    status: RuntimeStatus = "pending"
    detail: str = ""
    ports: dict[str, int] = field(default_factory=dict)
    deployed: DeckySpec = field(init=False)

    def __post_init__(self) -> None:
        self.deployed = self.spec

    @property
    def last_changed(self) -> datetime:
        """When the decky last took its current services: the clock mutation counts from."""
        return self.last_mutated or self.deployed_at

    def effective_interval(self, global_minutes: int) -> int:
        """The decky's own interval in minutes, else the fleet-wide one."""
        own = self.spec.mutate_interval_minutes
        return own if own is not None else global_minutes

    def next_mutation_at(self, global_minutes: int) -> datetime:
        """When the scheduler will mutate this decky next."""
        return self.last_changed + timedelta(minutes=self.effective_interval(global_minutes))

    def is_due(self, now: datetime, global_minutes: int) -> bool:
        """Whether the scheduler should mutate it at `now`."""
        return now >= self.next_mutation_at(global_minutes)
