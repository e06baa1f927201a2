"""`GET /events`: pages of the event history, batches expanded from the store when asked."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import msgspec

from application.history.ports import HistoryFilter, HistoryReader, IndexedEvent
from application.reads.rows import HistoryEvent, HistoryPage
from application.store import EventStoreApp
from domain.history.redaction import event_data
from domain.history.summary import summarize

_decode = msgspec.json.Decoder().decode


class EventHistory:
    """The history model's rows, with summaries, and batch records on request."""

    def __init__(self, reader: HistoryReader, store: EventStoreApp) -> None:
        self._reader = reader
        self._store = store

    async def page(self, f: HistoryFilter, limit: int, expand: bool) -> HistoryPage:
        """Events after `f.after` in position order; `next_after` continues where this ends."""
        rows = await self._reader.events(f, limit)
        head = await anyio.to_thread.run_sync(self._store.head)
        if len(rows) == limit:
            next_after = rows[-1].position
        else:  # every indexed event up to the model's position was considered
            next_after = max(f.after, await self._reader.indexed_up_to())
        data = [await self._event(row, expand) for row in rows]
        return HistoryPage(head=head, next_after=next_after, data=data)

    async def _event(self, row: IndexedEvent, expand: bool) -> HistoryEvent:
        data = row.data
        if expand and row.batch:
            data = await anyio.to_thread.run_sync(self._batch, row.position)
        actor = row.actor.username if row.actor else None
        return HistoryEvent(
            position=row.position,
            recorded_at=row.recorded_at,
            type=row.type,
            aggregate_id=row.aggregate_id,
            aggregate_version=row.aggregate_version,
            actor=row.actor,
            client_ip=row.client_ip,
            request_id=row.request_id,
            summary=summarize(row.type, row.data, actor),
            data=data,
        )

    def _batch(self, position: int) -> dict[str, Any]:
        """A batch event's full state, read from the store (its records are evidence)."""
        notes = self._store.read(position - 1, 1)
        if not notes or notes[0].id != position:
            return {}
        return event_data(_decode(notes[0].state))
