"""Publishes read-model statuses when they change, at most once a second (admins' stream frames)."""

from __future__ import annotations

import anyio
import structlog

from application.ports import Broadcaster, LiveUpdate
from application.readmodels.status import StatusSources, projection_statuses
from application.reads.rows import ProjectionStatus
from application.wakeup import stopping

log = structlog.get_logger()
INTERVAL_S = 1.0


def _signature(status: ProjectionStatus) -> tuple[object, ...]:
    """What counts as a change: the state, an error, or a rebuild's progress."""
    rebuild = status.rebuild.position if status.rebuild else None
    return (status.state, status.last_error, rebuild)


class ProjectionStatusFeed:
    """Runs where the projector runs, so each change is published once for every API process."""

    def __init__(self, sources: StatusSources, broadcaster: Broadcaster) -> None:
        self._sources = sources
        self._broadcaster = broadcaster
        self._last: dict[str, tuple[object, ...]] = {}

    async def run(self) -> None:
        """Publish changed statuses until cancelled."""
        while True:
            try:
                await self.publish_changes()
            except Exception as e:  # the database may be away: the next tick tries again
                if not stopping():
                    log.warning("projection_status_feed_failed", error=f"{type(e).__name__}: {e}")
            await anyio.sleep(INTERVAL_S)

    async def publish_changes(self) -> list[ProjectionStatus]:
        """One tick: the statuses that changed since the last, published if any."""
        changed = []
        for status in await projection_statuses(self._sources):
            signature = _signature(status)
            if self._last.get(status.name) != signature:
                self._last[status.name] = signature
                changed.append(status)
        if changed:
            self._broadcaster.publish(
                LiveUpdate(0, model="projections", projections=tuple(changed))
            )
        return changed
