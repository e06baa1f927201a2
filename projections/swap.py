"""The blue/green swap: a caught-up shadow model replaces the live one in one transaction.

Inside one transaction the live model's position row is locked (its applier waits), the shadow
applies whatever the live model had applied beyond it, the live schema is renamed away, the
shadow schema takes its name, the old one is dropped, and the live position row takes the
shadow's version. PostgreSQL DDL is transactional: readers see the old model or the new one,
never an empty or half-built one; a reader blocked on the old tables re-resolves the name when
the swap commits (dropping the old tables also invalidates every prepared plan that used them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import structlog
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from projections.base import Envelope, Projection
from projections.positions import POSITIONS
from projections.schema import live_schema

log = structlog.get_logger()
LOCK_TIMEOUT = "5s"
Reader = Callable[[Projection, int, int, int], Awaitable[tuple[list[Envelope], int]]]


@dataclass(frozen=True, slots=True)
class SwapOutcome:
    """Whether the shadow went live, and at which position; `gone` when its tracked position
    was no longer there (another process swapped it in: `position` is then the live one's)."""

    swapped: bool
    position: int
    gone: bool = False

    @property
    def ended(self) -> bool:
        """Whether the shadow is over: swapped in here, or by another process."""
        return self.swapped or self.gone


async def swap_in(
    pool: AsyncConnectionPool[Any],
    shadow: Projection,
    live_key: str,
    shadow_key: str,
    read: Reader,
    *,
    live_frozen: bool = False,
) -> SwapOutcome:
    """Replace the live model by its shadow if the shadow is not ahead of it; else do nothing.

    A frozen live model (its version changed: it serves its old tables and applies nothing) never
    catches up, so there the shadow may be ahead and goes live at its own position.
    """
    try:
        async with pool.connection() as conn, conn.transaction():
            await conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            live = await _locked_position(conn, live_key)
            position = await _locked_position(conn, shadow_key)
            if position is None:
                return SwapOutcome(False, live or 0, gone=live is not None)
            if live is None or (position > live and not live_frozen):
                return SwapOutcome(False, position)
            while position < live:  # what the live model applied since: apply it here too
                batch, position = await read(shadow, position, shadow.batch_events, live)
                if batch:
                    await shadow.apply(conn, batch)
            target = max(live, position)
            await _rename(conn, shadow.schema, live_schema(shadow.name))
            await conn.execute(
                f"UPDATE {POSITIONS} SET position = %s, version = %s, started_at = now(),"
                f" request = (SELECT request FROM {POSITIONS} WHERE name = %s) WHERE name = %s",
                (target, shadow.version, shadow_key, live_key),
            )
            await conn.execute(f"DELETE FROM {POSITIONS} WHERE name = %s", (shadow_key,))
            return SwapOutcome(True, target)
    except psycopg.errors.LockNotAvailable:
        log.info("projection_swap_postponed", projection=shadow.name, reason="readers hold locks")
        return SwapOutcome(False, 0)


async def _locked_position(conn: AsyncConnection[Any], key: str) -> int | None:
    row = await (
        await conn.execute(f"SELECT position FROM {POSITIONS} WHERE name = %s FOR UPDATE", (key,))
    ).fetchone()
    return int(row[0]) if row else None


async def _rename(conn: AsyncConnection[Any], shadow: str, live: str) -> None:
    old = f"{live}__old"
    exists = await (
        await conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (live,))
    ).fetchone()
    await conn.execute(f"DROP SCHEMA IF EXISTS {old} CASCADE")
    if exists:
        await conn.execute(f"ALTER SCHEMA {live} RENAME TO {old}")
    await conn.execute(f"ALTER SCHEMA {shadow} RENAME TO {live}")
    await conn.execute(f"DROP SCHEMA IF EXISTS {old} CASCADE")
