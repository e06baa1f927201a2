"""History read model: one indexed row per stored event, for auditors to page, filter and follow.

It holds the facts every filter needs (type, aggregate, actor, time) and the event's data with
secrets redacted; an interaction batch keeps a digest instead of its records (the records stay in
the store and are read from there when asked for). Actors' usernames are kept for good — a
deleted user's acts still say who they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import msgspec
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from domain.history.catalog import type_name
from domain.history.redaction import event_data, without_nul
from domain.history.summary import batch_digest
from domain.identity.user import User
from domain.observations.batch import InteractionBatch
from projections.base import Envelope, Tabled

_decode = msgspec.json.Decoder().decode


def _dumps(value: Any) -> str:
    return msgspec.json.encode(value).decode()


@dataclass(frozen=True, slots=True)
class HistoryTables:
    """The history model's tables in one schema."""

    schema: str

    @property
    def events(self) -> str:
        return f"{self.schema}.event_index"

    @property
    def actors(self) -> str:
        return f"{self.schema}.actors"

    def all(self) -> tuple[str, ...]:
        """Every table of the model."""
        return (self.events, self.actors)

    def statements(self) -> tuple[str, ...]:
        """DDL creating every table and index (idempotent)."""
        events = self.events
        return (
            f"CREATE TABLE IF NOT EXISTS {events} (position bigint PRIMARY KEY,"
            " recorded_at timestamptz NOT NULL, type text NOT NULL, aggregate_id uuid NOT NULL,"
            " aggregate_version int NOT NULL, actor_id uuid, client_ip text, request_id text,"
            " batch boolean NOT NULL, data jsonb NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS event_index_type ON {events} (type, position)",
            f"CREATE INDEX IF NOT EXISTS event_index_aggregate ON {events}"
            " (aggregate_id, position)",
            f"CREATE INDEX IF NOT EXISTS event_index_actor ON {events} (actor_id, position)",
            f"CREATE INDEX IF NOT EXISTS event_index_time ON {events} (recorded_at, position)",
            f"CREATE TABLE IF NOT EXISTS {self.actors} (uuid uuid PRIMARY KEY,"
            " username text NOT NULL)",
        )


class HistoryProjection(Tabled[HistoryTables]):
    """Indexes every event of the store (all topics)."""

    name = "history"
    version = 1
    topics: tuple[str, ...] = ()  # every event

    def __init__(self, schema: str) -> None:
        super().__init__(schema)
        self.tables = HistoryTables(schema)

    async def apply(self, conn: AsyncConnection[Any], batch: Sequence[Envelope]) -> None:
        # Digesting batches is CPU work: in a worker thread, off the event loop the API serves from.
        rows = await anyio.to_thread.run_sync(lambda: [_row(envelope) for envelope in batch])
        async with conn.cursor() as cur:
            async with cur.copy(
                f"COPY {self.tables.events} (position, recorded_at, type, aggregate_id,"
                " aggregate_version, actor_id, client_ip, request_id, batch, data) FROM STDIN"
            ) as copy:
                for row in rows:
                    await copy.write_row(row)
            actors = [
                (e.event.originator_id, e.event.username)
                for e in batch
                if isinstance(e.event, User.Registered)
            ]
            if actors:
                await cur.executemany(
                    f"INSERT INTO {self.tables.actors} (uuid, username) VALUES (%s, %s)"
                    " ON CONFLICT (uuid) DO NOTHING",
                    actors,
                )


def _row(envelope: Envelope) -> tuple[Any, ...]:
    event, stored = envelope.event, envelope.stored
    meta = getattr(event, "meta", None)
    is_batch = isinstance(event, InteractionBatch.InteractionsObserved)
    if is_batch:
        data: dict[str, Any] = without_nul(
            {"digest": batch_digest(event.records), "rejected": len(event.rejected)}
        )
    else:
        data = event_data(_decode(stored.state))
    return (
        envelope.position,
        event.timestamp,
        type_name(event),
        stored.originator_id,
        stored.originator_version,
        getattr(meta, "actor_id", None),
        _clean(getattr(meta, "client_ip", None)),
        _clean(getattr(meta, "request_id", None)),
        is_batch,
        Jsonb(data, dumps=_dumps),
    )


def _clean(text: str | None) -> str | None:
    return text.replace("\x00", "") if text else text
