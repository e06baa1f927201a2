"""SPEC's `/stats`: totals from the logs, attackers and fleet read models."""

from __future__ import annotations

from application.reads.ports import Readers
from application.reads.rows import Stats


async def current_stats(readers: Readers) -> Stats:
    """Logs projected, distinct attackers, deckies running and deckies in the fleet."""
    deployed, active = await readers.fleet.counts()
    return Stats(
        total_logs=await readers.logs.total_logs(),
        unique_attackers=await readers.attackers.unique_attackers(),
        active_deckies=active,
        deployed_deckies=deployed,
    )
