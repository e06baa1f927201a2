"""Observed interactions enter the store as batches; each batch is its own aggregate.

A batch's id derives from where its first record sits in the collector's journal, so appending
the same batch twice (a replay after a crash) collides in the store instead of duplicating.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate

from domain.observations.records import InteractionRecord
from domain.shared.meta import CommandMeta

BATCH_NAMESPACE = uuid5(NAMESPACE_URL, "https://decnet-es/interaction-batches")
MAX_BATCH_RECORDS = 1000


@dataclass(frozen=True, slots=True)
class RejectedLine:
    """A line the collector could not parse, kept with the reason (the dead-letter store)."""

    received_at: str
    reason: str
    detail: str
    raw: str
    source: str


@dataclass(frozen=True, slots=True)
class JournalSpan:
    """Where a batch came from: a journal segment and the byte range it covers."""

    journal: str
    first_offset: int
    end_offset: int


def batch_id(journal: str, first_offset: int) -> UUID:
    """The same journal position always gives the same batch id."""
    return uuid5(BATCH_NAMESPACE, f"{journal}:{first_offset}")


class InteractionBatch(Aggregate):
    """One append of attacker interactions (never changed after it is recorded)."""

    class InteractionsObserved(Aggregate.Created):
        records: list[InteractionRecord]
        rejected: list[RejectedLine]
        span: JournalSpan | None

    def __init__(
        self,
        records: list[InteractionRecord],
        rejected: list[RejectedLine],
        span: JournalSpan | None,
    ) -> None:
        self.span = span

    @classmethod
    def observe(
        cls,
        records: list[InteractionRecord],
        rejected: list[RejectedLine],
        span: JournalSpan | None,
    ) -> InteractionBatch:
        """A new batch; ids come from the journal span (or are random without one)."""
        if len(records) > MAX_BATCH_RECORDS:
            raise ValueError(f"a batch holds at most {MAX_BATCH_RECORDS} records")
        ident = batch_id(span.journal, span.first_offset) if span else uuid4()
        return cls._create(
            cls.InteractionsObserved, id=ident, records=records, rejected=rejected, span=span
        )


class ObservationsPurge(Aggregate):
    """Developer-mode reinit: read models forget everything observed before this event."""

    class ObservationsPurged(Aggregate.Created):
        meta: CommandMeta

    def __init__(self, meta: CommandMeta) -> None:
        pass

    @classmethod
    def purge(cls, meta: CommandMeta) -> ObservationsPurge:
        """Record a purge."""
        return cls._create(cls.ObservationsPurged, id=uuid4(), meta=meta)
