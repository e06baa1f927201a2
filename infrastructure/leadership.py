"""Leadership by PostgreSQL advisory lock: one projector (one fleet) works, the others wait.

The lock belongs to a dedicated session. When the leader dies, its server backend ends and
PostgreSQL releases the lock; a standby polling every `poll_s` takes it within that time.
`decnet serve` holds the same locks, so a second server (or a split projector or fleet) on its
database is refused instead of running a second fleet beside it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import psycopg
import structlog

from domain.shared.errors import UnavailableError

log = structlog.get_logger()
POLL_S = 1.0
# A session whose client died (killed, or cut off) ends within this: PostgreSQL sees the socket
# close at once on a local or reset connection. A process taking a lock without waiting as a
# standby gives its predecessor's session this long.
SESSION_END_S = 10.0


class LeadershipLostError(UnavailableError):
    """The session holding the leader lock ended; this process must stop working now."""


class LeadershipTakenError(UnavailableError):
    """Another process holds the leader lock this one may not wait for (`decnet serve`)."""


class AdvisoryLeadership:
    """Waits for, holds and watches one named advisory lock."""

    def __init__(
        self, url: str, name: str, poll_s: float = POLL_S, takeover_s: float = SESSION_END_S
    ) -> None:
        self._url = url
        self.name = name
        self._poll_s = poll_s
        self._takeover_s = takeover_s  # how long `keep` waits for its lost session to end

    @asynccontextmanager
    async def hold(self, wait_s: float | None = None) -> AsyncIterator[AdvisoryLeadership]:
        """Wait until this process leads (at most `wait_s`, then `LeadershipTakenError`); the
        lock is released when the block exits."""
        self._conn: psycopg.AsyncConnection[Any] = await psycopg.AsyncConnection.connect(
            self._url, autocommit=True
        )
        try:
            await self._acquire(self._conn, wait_s)
            yield self
        finally:
            await self._conn.close()  # ends the session (`keep` may have opened another)

    async def watch(self) -> None:
        """Return never while the lock session lives; raise `LeadershipLostError` when it dies."""
        while True:
            await anyio.sleep(self._poll_s)
            try:
                await self._conn.execute("SELECT 1")
            except psycopg.Error as e:
                raise LeadershipLostError(f"{self.name} leader lock lost: {e}") from e

    async def keep(self) -> None:
        """Hold the lock for good: a session lost with the database (a restart) is opened again
        and the lock taken again; `LeadershipTakenError` if another process took it meanwhile."""
        while True:
            try:
                await self.watch()
            except LeadershipLostError as e:
                log.warning("leadership_session_lost", lock=self.name, error=str(e))
            await self._retake()

    async def _retake(self) -> None:
        with contextlib.suppress(psycopg.Error):
            await self._conn.close()
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
                try:
                    await self._acquire(conn, self._takeover_s)
                except BaseException:  # taken by another process, down again, or cancelled
                    await conn.close()
                    raise
            except psycopg.OperationalError:
                await anyio.sleep(self._poll_s)  # the database is still down
                continue
            self._conn = conn
            return

    async def _acquire(self, conn: psycopg.AsyncConnection[Any], wait_s: float | None) -> None:
        deadline = None if wait_s is None else anyio.current_time() + wait_s
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
            if deadline is not None and anyio.current_time() >= deadline:
                raise LeadershipTakenError(
                    f"another process leads this database ({self.name} is held by a"
                    " `decnet serve`, or by a split projector or fleet, on the same database)"
                )
            if not waiting_logged:
                log.info("leadership_standby", lock=self.name)
                waiting_logged = True
            await anyio.sleep(self._poll_s)
