"""Logs read model: log rows, the total counter, dead letters (buckets: `histogram.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from psycopg import AsyncConnection, AsyncCursor

from domain.observations.batch import InteractionBatch
from domain.observations.records import InteractionRecord
from domain.observations.search import fields_text
from projections.base import Envelope
from projections.logs_queries import log_row
from projections.logs_schema import (
    COUNTERS,
    DEAD,
    LOGS,
    PURGES,
    create_logs,
    drop_logs,
)
from projections.observed import (
    OBSERVED_TOPICS,
    Observed,
    Purge,
    clean,
    forget_observations,
    walk,
)

_encode = msgspec.json.Encoder().encode


@dataclass
class LogsCommitted:
    """What listeners (the SSE broadcaster) hear after a commit: new rows and their records."""

    rows: list[tuple[tuple[Any, ...], InteractionRecord]] = field(default_factory=list)
    purged: bool = False

    def api_rows(self) -> list[tuple[dict[str, Any], InteractionRecord]]:
        """Rows in SPEC's shape, oldest first."""
        return [(log_row(r[:9]), record) for r, record in self.rows]


class LogsProjection:
    """Appends rows with COPY; buckets and counters are upserted once per batch."""

    name = "logs"
    version = 2  # v2: no jsonb copy of the fields (fields_text answers lookups)
    topics = OBSERVED_TOPICS
    # ~8,000 records per transaction: big enough to amortise, small enough for live latency.
    batch_events = 8

    async def create(self, conn: AsyncConnection[Any]) -> None:
        await create_logs(conn)

    async def drop(self, conn: AsyncConnection[Any]) -> None:
        await drop_logs(conn)

    async def apply(self, conn: AsyncConnection[Any], batch: Sequence[Envelope]) -> object:
        committed = LogsCommitted()
        async with conn.cursor() as cur:
            await self._dead_letters(cur, batch)
            for part in walk(batch):
                if isinstance(part, Purge):
                    await self._purge(cur, part.position)
                    committed = LogsCommitted(purged=True)
                else:
                    committed.rows.extend(await self._insert(cur, part))
        return committed

    async def _insert(
        self, cur: AsyncCursor[Any], observed: list[Observed]
    ) -> list[tuple[tuple[Any, ...], InteractionRecord]]:
        rows = [_row(o) for o in observed]
        async with cur.copy(
            f"COPY {LOGS} (id, ts, decky, service, event_type, attacker_ip, msg,"
            " fields_text, raw_line, search_text) FROM STDIN"
        ) as copy:
            for row in rows:
                await copy.write_row(row)
        await cur.execute(
            f"UPDATE {COUNTERS} SET value = value + %s WHERE name = 'total_logs'", (len(rows),)
        )
        return [(row, o.record) for row, o in zip(rows, observed, strict=True)]

    async def _dead_letters(self, cur: AsyncCursor[Any], batch: Sequence[Envelope]) -> None:
        rows = [
            (
                e.position * 1024 + i,
                r.received_at,
                r.reason,
                clean(r.detail),
                clean(r.raw),
                r.source,
            )
            for e in batch
            if isinstance(e.event, InteractionBatch.InteractionsObserved)
            for i, r in enumerate(e.event.rejected)
        ]
        if rows:
            await cur.executemany(
                f"INSERT INTO {DEAD} (id, received_at, reason, detail, raw, source)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                rows,
            )

    async def _purge(self, cur: AsyncCursor[Any], position: int) -> None:
        await forget_observations(
            cur,
            position,
            counted=(COUNTERS, "total_logs"),
            purges=(PURGES, "logs"),
            tables=LOGS,
            reset=f"UPDATE {COUNTERS} SET value = 0 WHERE name = 'total_logs'",
        )


def _row(o: Observed) -> tuple[Any, ...]:
    r = o.record  # already scrubbed of NUL by `walk`
    text = fast_fields_text(r.fields)
    return (
        o.log_id,
        r.timestamp,
        r.decky,
        r.service,
        r.event_type,
        r.attacker_ip,
        r.msg,
        text,
        r.raw_line,
        search_text(r.raw_line, r.msg, text, r.decky, r.service, r.attacker_ip or ""),
    )


def fast_fields_text(fields: dict[str, str]) -> str:
    """`search.fields_text`, via msgspec (same bytes, checked by a property test)."""
    try:
        return _encode(fields).decode()
    except (UnicodeEncodeError, msgspec.EncodeError):
        return fields_text(fields)  # lone surrogates: the reference encoder copes


def search_text(raw_line: str, *parts: str) -> str:
    """Lower-cased union of the searchable columns; a part inside earlier ones adds nothing."""
    text = raw_line.lower()
    for part in parts:
        lowered = clean(part).lower()
        if lowered and lowered not in text:
            text = f"{text}\x1f{lowered}"
    return text
