"""Developer-mode reinit: record a purge and report what the read models dropped."""

from __future__ import annotations

import anyio.to_thread

from application.observations.ingest import IngestCommands
from application.reads.ports import ProjectionProgress, Readers
from application.reads.rows import PurgeResult
from domain.shared.meta import CommandMeta

PURGE_WAIT_S = 30.0
PURGED_MODELS = ("logs", "histogram", "attackers")


class PurgeObservations:
    """The purge is an event; the counts come from the read models once they applied it."""

    def __init__(
        self, ingest: IngestCommands, progress: ProjectionProgress, readers: Readers
    ) -> None:
        self._ingest = ingest
        self._progress = progress
        self._readers = readers

    async def purge(self, meta: CommandMeta) -> PurgeResult:
        """Append the purge, wait (bounded) for the models, report what they removed."""
        position = await anyio.to_thread.run_sync(self._ingest.purge, meta)
        await self._progress.wait_for(position, PURGED_MODELS, timeout=PURGE_WAIT_S)
        logs = await self._readers.logs.purged_logs(position)
        bounties = await self._readers.attackers.purged_bounties(position)
        return PurgeResult(logs=logs or 0, bounties=bounties or 0)
