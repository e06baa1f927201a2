"""The reconciler: a process manager that drives the decky runtime to what the fleet events say.

It follows the store (woken after each local save, polling for other processes' writes), applies
deployed and mutated deckies, removes torn-down ones, and records what the runtime reports as
`RuntimeStatusChanged` — only when something changed, so re-applying is harmless. On start it
applies every decky of the fleet, which is how a restarted server brings the fleet back up.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import structlog
from eventsourcing.utils import get_topic

from application.fleet.commands import FleetCommands
from application.ports import DeckyRuntime, RuntimeReport
from application.store import EventStoreApp, Position
from application.wakeup import Wakeup, repeat
from domain.fleet.decky import DeckySpec
from domain.fleet.fleet import Fleet

log = structlog.get_logger()
# Only these change what should run; status events (our own output) are not followed.
TOPICS = tuple(get_topic(c) for c in (Fleet.DeckyDeployed, Fleet.DeckyMutated, Fleet.DeckyTornDown))
PAGE = 500


@dataclass(frozen=True, slots=True)
class Settlement:
    """What the runtime reported for some deckies, and the last status position written."""

    reports: dict[str, RuntimeReport | None]
    position: Position


class Reconciler:
    """Applies fleet changes to a `DeckyRuntime`; `settle()` lets a request wait for the outcome."""

    def __init__(
        self,
        store: EventStoreApp,
        commands: FleetCommands,
        runtime: DeckyRuntime,
        *,
        poll_s: float = 1.0,
        retry_failed_s: float = 30.0,
    ) -> None:
        self._store = store
        self._commands = commands
        self._runtime = runtime
        self._poll_s = poll_s
        self._retry_s = retry_failed_s
        self.position: Position = 0
        self.reports: dict[str, RuntimeReport] = {}
        self._status_position: Position = 0
        self._failed_at: dict[str, float] = {}
        self._wakeup = Wakeup()
        self._progress = asyncio.Condition()

    def wake(self, _position: Position = 0) -> None:
        """Thread-safe: the store changed; look now rather than at the next poll."""
        self._wakeup.wake()

    async def run(self) -> None:
        """Bring the whole fleet up, then follow changes until cancelled."""
        self._wakeup.bind()
        while True:
            try:
                await self.start()
                break
            except Exception:  # e.g. the database is not reachable yet: try again shortly
                log.exception("reconciler_start_failed")
                await anyio.sleep(self._poll_s)
        await repeat(self._pass, self._wakeup, self._poll_s, "reconciler_failed")

    async def _pass(self) -> None:
        await self.catch_up()
        await self.follow_up()

    async def start(self) -> None:
        """Apply every decky of the fleet as stored now (the restart path)."""
        head = await anyio.to_thread.run_sync(self._store.head)
        fleet = await anyio.to_thread.run_sync(self._commands.fleet)
        specs = [s.spec for s in fleet.deckies.values()] if fleet else []
        log.info("reconciler_starting", deckies=len(specs), position=head)
        for spec in specs:
            await self._apply(spec)
        await self._advance(head)

    async def catch_up(self) -> None:
        """Apply or remove every decky changed by events since the last catch-up."""
        head = await anyio.to_thread.run_sync(self._store.head)
        if head <= self.position:
            return
        names = await anyio.to_thread.run_sync(self._changed_since, self.position, head)
        if names:
            fleet = await anyio.to_thread.run_sync(self._commands.fleet)
            deckies = fleet.deckies if fleet else {}
            for name in names:
                state = deckies.get(name)
                await (self._apply(state.spec) if state else self._remove(name))
        await self._advance(head)

    async def follow_up(self) -> None:
        """Ask again about deckies still starting; re-apply failed ones now and then."""
        for name, report in list(self.reports.items()):
            if report.status == "pending":
                await self._record(name, await self._runtime.report(name))
        due = [n for n, at in self._failed_at.items() if time.monotonic() - at >= self._retry_s]
        if due:
            fleet = await anyio.to_thread.run_sync(self._commands.fleet)
            for name in due:
                if fleet and name in fleet.deckies:
                    await self._apply(fleet.deckies[name].spec)

    async def settle(self, position: Position, names: Sequence[str], wait_s: float) -> Settlement:
        """Wait up to `wait_s` until events up to `position` are applied and none is pending."""

        def settled() -> bool:
            return self.position >= position and all(
                n in self.reports and self.reports[n].status != "pending" for n in names
            )

        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait_s), self._progress:
                await self._progress.wait_for(settled)
        return Settlement({n: self.reports.get(n) for n in names}, self._status_position)

    def _changed_since(self, after: Position, head: Position) -> list[str]:
        names: dict[str, None] = {}
        while True:
            notes = self._store.read(after, PAGE, TOPICS, stop=head)
            names.update(
                dict.fromkeys(_decky_of(self._store.mapper.to_domain_event(n)) for n in notes)
            )
            if len(notes) < PAGE:
                return list(names)
            after = notes[-1].id

    async def _apply(self, spec: DeckySpec) -> None:
        try:
            report = await self._runtime.apply(spec)
        except Exception as e:  # a runtime bug or outage is this decky's failure, not ours
            log.exception("runtime_apply_failed", decky=spec.name)
            report = RuntimeReport("failed", f"{type(e).__name__}: {e}")
        await self._record(spec.name, report)

    async def _remove(self, name: str) -> None:
        await self._runtime.remove(name)
        self.reports.pop(name, None)
        self._failed_at.pop(name, None)
        await self._notify()

    async def _record(self, name: str, report: RuntimeReport) -> None:
        position = await anyio.to_thread.run_sync(self._commands.record_status, name, report)
        self._status_position = max(self._status_position, position)
        self.reports[name] = report
        if report.status == "failed":
            self._failed_at[name] = time.monotonic()
        else:
            self._failed_at.pop(name, None)
        await self._notify()

    async def _advance(self, position: Position) -> None:
        self.position = max(self.position, position)
        await self._notify()

    async def _notify(self) -> None:
        async with self._progress:
            self._progress.notify_all()


def _decky_of(event: Any) -> str:
    spec: DeckySpec | None = getattr(event, "spec", None)
    return spec.name if spec is not None else str(event.decky)
