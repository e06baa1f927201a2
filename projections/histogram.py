"""Histogram read model: per-minute counts, in total and per (decky, service, event type).

Separate from the logs model so its upserts run in parallel with the log COPY (another
connection, another core); `/logs/histogram` sums these buckets instead of scanning logs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection, AsyncCursor

from projections.base import Envelope
from projections.logs_schema import (
    BY_DIMENSION,
    HISTOGRAM,
    TOTALS,
    create_histogram,
    drop_histogram,
    histogram_tables,
)
from projections.observed import OBSERVED_TOPICS, Observed, Purge, clean, minute_of, walk


class HistogramProjection:
    """One upsert per table per batch (arrays unnested server-side)."""

    name = "histogram"
    version = 2  # v2: per-dimension minute tables
    topics = OBSERVED_TOPICS

    async def create(self, conn: AsyncConnection[Any]) -> None:
        await create_histogram(conn)

    async def drop(self, conn: AsyncConnection[Any]) -> None:
        await drop_histogram(conn)

    async def apply(self, conn: AsyncConnection[Any], batch: Sequence[Envelope]) -> object:
        async with conn.cursor() as cur:
            for part in walk(batch):
                if isinstance(part, Purge):
                    await cur.execute(f"TRUNCATE {', '.join(histogram_tables())}")
                else:
                    await self._count(cur, part)
        return None

    async def _count(self, cur: AsyncCursor[Any], observed: list[Observed]) -> None:
        totals = Counter(minute_of(o.record.timestamp) for o in observed)
        minutes, counts = zip(*sorted(totals.items()), strict=True)
        await cur.execute(
            f"INSERT INTO {TOTALS} (minute, count)"
            " SELECT * FROM unnest(%s::timestamptz[], %s::bigint[])"
            f" ON CONFLICT (minute) DO UPDATE SET count = {TOTALS}.count + EXCLUDED.count",
            (list(minutes), list(counts)),
        )
        for dimension, table in BY_DIMENSION.items():
            await _upsert_dimension(cur, table, dimension, observed)
        dims = Counter(
            (minute_of(r.timestamp), clean(r.decky), clean(r.service), clean(r.event_type))
            for r in (o.record for o in observed)
        )
        keys = sorted(dims)
        await cur.execute(
            f"INSERT INTO {HISTOGRAM} (minute, decky, service, event_type, count)"
            " SELECT * FROM unnest(%s::timestamptz[], %s::text[], %s::text[], %s::text[],"
            " %s::bigint[]) ON CONFLICT (minute, decky, service, event_type)"
            f" DO UPDATE SET count = {HISTOGRAM}.count + EXCLUDED.count",
            (
                [k[0] for k in keys],
                [k[1] for k in keys],
                [k[2] for k in keys],
                [k[3] for k in keys],
                [dims[k] for k in keys],
            ),
        )


async def _upsert_dimension(
    cur: AsyncCursor[Any], table: str, dimension: str, observed: list[Observed]
) -> None:
    counts = Counter(
        (clean(getattr(o.record, dimension)), minute_of(o.record.timestamp)) for o in observed
    )
    keys = sorted(counts)
    await cur.execute(
        f"INSERT INTO {table} ({dimension}, minute, count)"
        " SELECT * FROM unnest(%s::text[], %s::timestamptz[], %s::bigint[])"
        f" ON CONFLICT ({dimension}, minute) DO UPDATE SET count = {table}.count + EXCLUDED.count",
        ([k[0] for k in keys], [k[1] for k in keys], [counts[k] for k in keys]),
    )
