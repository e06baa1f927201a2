"""The mutation scheduler: a process manager that mutates deckies whose interval has elapsed.

Safe with several `decnet serve` processes on one database without a lock (docs/adr/0009): it passes
the decky's last change as it read it, and the Fleet refuses a scheduled mutation if the decky
changed since — so when two schedulers race, the store's optimistic concurrency makes the
loser re-decide, see the winner's mutation, and skip.
"""

from __future__ import annotations

import anyio
import structlog

from application.fleet.commands import Clock, FleetCommands
from application.fleet.settings import SettingsCommands
from domain.fleet.fleet import DeckyNotFoundError, MutationSupersededError
from domain.shared.meta import SYSTEM

log = structlog.get_logger()
TICK_S = 10.0


class MutationScheduler:
    """Every tick, mutates each due decky once with trigger `scheduled`."""

    def __init__(
        self,
        commands: FleetCommands,
        settings: SettingsCommands,
        clock: Clock,
        tick_s: float = TICK_S,
    ) -> None:
        self._commands = commands
        self._settings = settings
        self._clock = clock
        self._tick_s = tick_s

    def tick(self) -> list[str]:
        """Mutate what is due now (synchronous: the store is); return the names mutated."""
        fleet = self._commands.fleet()
        if fleet is None:
            return []
        # The global interval is read on every tick so a change applies without a restart.
        global_minutes = self._settings.current().global_mutation_interval_minutes
        mutated = []
        for name, seen in fleet.due_for_mutation(self._clock(), global_minutes):
            try:
                result = self._commands.mutate(SYSTEM, name, "scheduled", seen=seen)
            except (MutationSupersededError, DeckyNotFoundError) as e:
                log.info("scheduled_mutation_skipped", decky=name, reason=str(e))
                continue
            log.info("scheduled_mutation", decky=name, services=result.services)
            mutated.append(name)
        return mutated

    async def run(self) -> None:
        """Tick until cancelled; a failing tick is logged and retried at the next one."""
        while True:
            try:
                await anyio.to_thread.run_sync(self.tick)
            except Exception:  # an outage must not end scheduling for the process's lifetime
                log.exception("mutation_scheduler_failed")
            await anyio.sleep(self._tick_s)
