"""Projection health facts the projector writes each second, for every process to read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import class_row
from psycopg_pool import AsyncConnectionPool

from projections.positions import POSITIONS, STATUS


@dataclass(frozen=True, slots=True)
class SlotFacts:
    """What the runner knows of one slot that the positions table does not say."""

    key: str
    last_error: str | None
    events_per_second: float
    frozen: bool


@dataclass(frozen=True, slots=True)
class ModelFacts:
    """One live model and its rebuild, as stored."""

    name: str
    version: int
    position: int
    last_error: str | None
    events_per_second: float
    frozen: bool
    shadow_position: int | None
    shadow_started_at: datetime | None
    shadow_events_per_second: float
    shadow_error: str | None


async def write_status(pool: AsyncConnectionPool[Any], facts: Sequence[SlotFacts]) -> None:
    """Upsert every slot's facts in one statement."""
    if not facts:
        return
    async with pool.connection() as conn:
        await conn.execute(
            f"INSERT INTO {STATUS} (name, last_error, events_per_second, frozen, updated_at)"
            " SELECT *, now() FROM unnest(%s::text[], %s::text[], %s::float8[], %s::bool[])"
            " ON CONFLICT (name) DO UPDATE SET last_error = EXCLUDED.last_error,"
            " events_per_second = EXCLUDED.events_per_second, frozen = EXCLUDED.frozen,"
            " updated_at = EXCLUDED.updated_at",
            (
                [f.key for f in facts],
                [f.last_error for f in facts],
                [f.events_per_second for f in facts],
                [f.frozen for f in facts],
            ),
        )


class PostgresProjectionFacts:
    """Reads the positions and status tables as one row per live model."""

    def __init__(self, pool: AsyncConnectionPool[Any], names: Sequence[str]) -> None:
        self._pool = pool
        self._names = list(names)

    async def positions(self) -> dict[str, int]:
        """Each live model's tracked position (a model without one is absent)."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT name, position FROM {POSITIONS} WHERE name = ANY(%s)", (self._names,)
            )
            return {str(name): int(position) for name, position in await cur.fetchall()}

    async def models(self) -> list[ModelFacts]:
        """Every live model of this build, with its rebuild if one is under way."""
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=class_row(ModelFacts))
            await cur.execute(
                "SELECT m.name, coalesce(p.version, 0) AS version,"
                " coalesce(p.position, 0) AS position, s.last_error,"
                " coalesce(s.events_per_second, 0) AS events_per_second,"
                " coalesce(s.frozen, false) AS frozen, n.position AS shadow_position,"
                " n.started_at AS shadow_started_at,"
                " coalesce(ns.events_per_second, 0) AS shadow_events_per_second,"
                " ns.last_error AS shadow_error"
                " FROM unnest(%s::text[]) WITH ORDINALITY AS m(name, ord)"
                f" LEFT JOIN {POSITIONS} p ON p.name = m.name"
                f" LEFT JOIN {STATUS} s ON s.name = m.name"
                f" LEFT JOIN {POSITIONS} n ON n.name = m.name || '@next'"
                f" LEFT JOIN {STATUS} ns ON ns.name = m.name || '@next'"
                " ORDER BY m.ord",
                (self._names,),
            )
            rows: list[ModelFacts] = await cur.fetchall()
            return rows
