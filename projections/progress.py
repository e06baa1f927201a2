"""Read-your-writes where the runner runs in another process (a split `decnet api`).

The projector publishes every live commit with its model and position; this waits on those,
and reads the positions table (one query) when none arrives, so a lost update only costs time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any

import structlog
from psycopg_pool import AsyncConnectionPool

from application.ports import Broadcaster
from projections.positions import POSITIONS

log = structlog.get_logger()
RECHECK_S = 0.25


class PublishedProgress:
    """Positions of the live models as the projector announces them; `run()` follows them."""

    def __init__(
        self, pool: AsyncConnectionPool[Any], broadcaster: Broadcaster, names: Sequence[str]
    ) -> None:
        self._pool = pool
        self._broadcaster = broadcaster
        self._names = list(names)
        self.positions: dict[str, int] = {}
        self._advanced = asyncio.Event()

    async def run(self) -> None:
        """Follow the broadcast until cancelled."""
        subscription = self._broadcaster.subscribe(rows=False)  # positions, not rows
        try:
            while True:
                update = await subscription.next(1.0)
                if update is not None:
                    self._note(update.model, update.position)
        finally:
            subscription.close()

    async def wait_for(
        self, position: int, names: Sequence[str] | None = None, timeout: float = 10.0
    ) -> bool:
        """True once the named live models (default: all) applied `position` within `timeout`."""
        wanted = list(names or self._names)
        deadline = time.monotonic() + timeout
        while not self._reached(wanted, position):
            await self._read(wanted)
            left = deadline - time.monotonic()
            if self._reached(wanted, position) or left <= 0:
                break
            advanced = self._advanced
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(left, RECHECK_S)):
                    await advanced.wait()
        return self._reached(wanted, position)

    def _reached(self, wanted: list[str], position: int) -> bool:
        return all(self.positions.get(n, 0) >= position for n in wanted)

    def _note(self, name: str, position: int) -> None:
        if position > self.positions.get(name, 0):
            self.positions[name] = position
            self._advanced.set()
            self._advanced = asyncio.Event()

    async def _read(self, wanted: list[str]) -> None:
        async with self._pool.connection() as conn:
            rows = await (
                await conn.execute(
                    f"SELECT name, position FROM {POSITIONS} WHERE name = ANY(%s)", (wanted,)
                )
            ).fetchall()
        for name, position in rows:
            self._note(str(name), int(position))
