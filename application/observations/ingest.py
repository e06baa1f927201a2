"""Appending observed interactions and purging what was observed (developer reinit)."""

from __future__ import annotations

from application.store import EventStoreApp, IntegrityError, Position
from domain.observations.batch import (
    InteractionBatch,
    JournalSpan,
    ObservationsPurge,
    RejectedLine,
    batch_id,
)
from domain.observations.records import InteractionRecord
from domain.shared.meta import CommandMeta


class IngestCommands:
    """Batches go in whole or not at all; a batch appended twice is stored once."""

    def __init__(self, store: EventStoreApp) -> None:
        self._store = store

    def append(
        self,
        records: list[InteractionRecord],
        rejected: list[RejectedLine],
        span: JournalSpan | None,
    ) -> Position | None:
        """The position written, or None when this journal span was already appended."""
        batch = InteractionBatch.observe(records, rejected, span)
        try:
            return self._store.save_all(batch)
        except IntegrityError:
            if span is None:
                raise
            return None

    def committed_span(self, journal: str, first_offset: int) -> JournalSpan | None:
        """The span of the batch already stored for this journal position, if any."""
        ident = batch_id(journal, first_offset)
        if ident not in self._store.repository:
            return None
        batch: InteractionBatch = self._store.repository.get(ident)
        return batch.span

    def purge(self, meta: CommandMeta) -> Position:
        """Read models forget every observation recorded before this point."""
        return self._store.save_all(ObservationsPurge.purge(meta))
