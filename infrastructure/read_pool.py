"""A connection pool that lends autocommit connections without the per-use transaction dance.

`AsyncConnectionPool.connection()` enters the connection as a context manager, which commits
(or rolls back) on the way out: under autocommit there is never a transaction to end, but the
commit still takes the connection's lock and runs its generator. Every read request paid it
(ADR 0022, addendum). Here `connection()` is getconn/putconn and nothing else; explicit
`conn.transaction()` blocks end themselves as before, and a connection left broken or inside a
transaction is checked and reset (or replaced) by `putconn` as it always was.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolClosed, PoolTimeout

# The read pool's session settings. Timestamps are read and written in UTC whatever the server's
# default zone. A broad search's bitmap of matching rows stays exact (no lossy pages whose every
# row is rechecked) up to several million rows with 32 MB, against 4 MB by default. No JIT: a
# read walks an index for a page, and a plan's estimate (a count it never runs, a walk it stops
# after 50 rows) passes `jit_above_cost` at 10M rows, when compiling costs ~9 ms of a ~1 ms
# query; the one scan-heavy read, a free-text histogram, gains nothing measurable from it.
# Random page reads priced near sequential ones (1.1, not 4): the read models are read from
# memory, and a search is planned for its values (`logs_queries.planned_once`); at 4 the
# histogram of a field term held by 10% of 1M rows scanned every row (450 ms) rather than
# visit them through the pair index (136 ms).
READ_SESSION = "-c TimeZone=UTC -c work_mem=32MB -c jit=off -c random_page_cost=1.1"
# After a wait for a connection timed out (the database unreachable, or out of slots), the next
# requests wait this long at most: they answer 503 at once instead of each waiting the full
# timeout, until one gets a connection again.
FAILING_WAIT_S = 1.0


class AutocommitPool(AsyncConnectionPool[AsyncConnection[Any]]):
    """`AsyncConnectionPool` for autocommit connections only (refused otherwise)."""

    def __init__(self, conninfo: str, **options: Any) -> None:
        if not (options.get("kwargs") or {}).get("autocommit"):
            raise ValueError("AutocommitPool needs kwargs={'autocommit': True, ...}")
        super().__init__(conninfo, **options)
        self.failing = False  # the last wait for a connection timed out
        self._checking = asyncio.Lock()

    async def lost_one(self) -> None:
        """A lent connection came back broken (the server restarted, or ended the sessions):
        the idle ones likely are too. Test them now, once, rather than let each fail a request
        of its own (the request that found it has failed already; this delays its answer by a
        round trip per idle connection)."""
        if not self._checking.locked():
            async with self._checking:
                with contextlib.suppress(PoolClosed):  # closing meanwhile: nothing to test
                    await self.check()

    def connection(  # type: ignore[override]
        self, timeout: float | None = None
    ) -> _Lent:
        """A connection for an `async with` block, back in the pool after it."""
        return _Lent(self, timeout)


class _Lent:
    __slots__ = ("_conn", "_pool", "_timeout")

    def __init__(self, pool: AutocommitPool, timeout: float | None) -> None:
        self._pool = pool
        self._timeout = timeout
        self._conn: AsyncConnection[Any] | None = None

    async def __aenter__(self) -> AsyncConnection[Any]:
        pool, timeout = self._pool, self._timeout
        if pool.failing:
            timeout = min(timeout or pool.timeout, FAILING_WAIT_S)
        try:
            self._conn = await pool.getconn(timeout)
        except PoolTimeout:
            pool.failing = True
            raise
        pool.failing = False
        return self._conn

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            broken = conn.broken or conn.closed
            await self._pool.putconn(conn)
            if broken:
                await self._pool.lost_one()
