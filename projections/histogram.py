"""Histogram read model: per-minute counts, in total and per (decky, service, event type),
and per UTC quarter hour in total.

Separate from the logs model so its upserts run in parallel with the log COPY (another
connection, another core); `/logs/histogram` sums these buckets instead of scanning logs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import anyio
from psycopg import AsyncConnection, AsyncCursor

from projections.base import Envelope, Tabled
from projections.log_quarters import quarter_keys, quarter_of
from projections.logs_schema import DIMENSIONS, HistogramTables
from projections.observed import OBSERVED_TOPICS, Observed, Purge, add_counts, minutes_of, walked
from projections.rows import bucket_text_sql


class HistogramProjection(Tabled[HistogramTables]):
    """One upsert per table per batch (arrays unnested server-side)."""

    name = "histogram"
    # v3: a schema of its own; v4: quarter-hour totals (ADR 0031); v5: key text `COLLATE "C"`;
    # v6: each quarter's bucket text, `label` (ADR 0031, addendum)
    version = 6
    topics = OBSERVED_TOPICS

    def __init__(self, schema: str) -> None:
        super().__init__(schema)
        self.tables = HistogramTables(schema)

    async def apply(self, conn: AsyncConnection[Any], batch: Sequence[Envelope]) -> None:
        async with conn.cursor() as cur:
            for part in await walked(batch):
                if isinstance(part, Purge):
                    await cur.execute(f"TRUNCATE {', '.join(self.tables.all())}")
                else:
                    await self._count(cur, part)

    async def _count(self, cur: AsyncCursor[Any], observed: list[Observed]) -> None:
        # Counted in a worker thread: not on the event loop the API serves from.
        cross, totals, per_dimension = await anyio.to_thread.run_sync(_tally, observed)
        tables = self.tables
        await add_counts(cur, tables.totals, ("minute",), ("timestamptz",), totals)
        quarters = quarter_totals(totals)
        await add_counts(
            cur,
            tables.quarter_totals,
            ("quarter",),
            ("timestamptz",),
            quarters,
            made=(("label", bucket_text_sql("quarter")),),
        )
        for dimension in DIMENSIONS:
            key = (dimension, "minute")
            table = tables.by_dimension(dimension)
            await add_counts(cur, table, key, ("text", "timestamptz"), per_dimension[dimension])
        await add_counts(
            cur,
            tables.cross,
            ("minute", "decky", "service", "event_type"),
            ("timestamptz", "text", "text", "text"),
            cross,
        )


def _tally(
    observed: list[Observed],
) -> tuple[Counter[Any], Counter[Any], dict[str, Counter[Any]]]:
    """Records per (minute, decky, service, event_type), per minute, per (dimension, minute)."""
    # Columns, then one Counter pass in C per table: no Python per record or per key.
    records = [o.record for o in observed]
    minutes = minutes_of([r.timestamp for r in records])
    columns = {
        "decky": [r.decky for r in records],
        "service": [r.service for r in records],
        "event_type": [r.event_type for r in records],
    }
    decky, service, event_type = columns["decky"], columns["service"], columns["event_type"]
    cross = Counter(zip(minutes, decky, service, event_type, strict=True))
    per_dimension = {d: Counter(zip(columns[d], minutes, strict=True)) for d in DIMENSIONS}
    return cross, Counter(minutes), per_dimension


def quarter_totals(minutes: Counter[Any]) -> Counter[Any]:
    """Per-minute counts summed per UTC quarter hour (a batch holds a few distinct minutes)."""
    quarters: Counter[Any] = Counter()
    for key, n in zip(quarter_keys(list(minutes)), minutes.values(), strict=True):
        quarters[quarter_of(key)] += n
    return quarters
