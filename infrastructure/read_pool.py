"""A connection pool that lends autocommit connections without the per-use transaction dance.

`AsyncConnectionPool.connection()` enters the connection as a context manager, which commits
(or rolls back) on the way out: under autocommit there is never a transaction to end, but the
commit still takes the connection's lock and runs its generator. Every read request paid it
(ADR 0022, addendum). Here `connection()` is getconn/putconn and nothing else; explicit
`conn.transaction()` blocks end themselves as before, and a connection left broken or inside a
transaction is checked and reset (or replaced) by `putconn` as it always was.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool


class AutocommitPool(AsyncConnectionPool[AsyncConnection[Any]]):
    """`AsyncConnectionPool` for autocommit connections only (refused otherwise)."""

    def __init__(self, conninfo: str, **options: Any) -> None:
        if not (options.get("kwargs") or {}).get("autocommit"):
            raise ValueError("AutocommitPool needs kwargs={'autocommit': True, ...}")
        super().__init__(conninfo, **options)

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
        self._conn = await self._pool.getconn(self._timeout)
        return self._conn

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await self._pool.putconn(conn)
