"""Leadership by PostgreSQL advisory lock: one projector (one fleet) works, the others wait.

The lock belongs to a dedicated session. When the leader dies, its server backend ends and
PostgreSQL releases the lock; a standby polling every `poll_s` takes it within that time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import psycopg
import structlog

from domain.shared.errors import UnavailableError

log = structlog.get_logger()
POLL_S = 1.0


class LeadershipLostError(UnavailableError):
    """The session holding the leader lock ended; this process must stop working now."""


class AdvisoryLeadership:
    """Waits for, holds and watches one named advisory lock."""

    def __init__(self, url: str, name: str, poll_s: float = POLL_S) -> None:
        self._url = url
        self.name = name
        self._poll_s = poll_s

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[AdvisoryLeadership]:
        """Wait until this process leads; the lock is released when the block exits."""
        conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
        try:
            await self._acquire(conn)
            self._conn: psycopg.AsyncConnection[Any] = conn
            yield self
        finally:
            await conn.close()  # ends the session, which releases the lock

    async def watch(self) -> None:
        """Return never while the lock session lives; raise `LeadershipLostError` when it dies."""
        while True:
            await anyio.sleep(self._poll_s)
            try:
                await self._conn.execute("SELECT 1")
            except psycopg.Error as e:
                raise LeadershipLostError(f"{self.name} leader lock lost: {e}") from e

    async def _acquire(self, conn: psycopg.AsyncConnection[Any]) -> None:
        waiting_logged = False
        while True:
            row = await (
                await conn.execute(
                    "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (self.name,)
                )
            ).fetchone()
            if row and row[0]:
                log.info("leadership_acquired", lock=self.name)
                return
            if not waiting_logged:
                log.info("leadership_standby", lock=self.name)
                waiting_logged = True
            await anyio.sleep(self._poll_s)
