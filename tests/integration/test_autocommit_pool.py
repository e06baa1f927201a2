"""`AutocommitPool` on real PostgreSQL: lends autocommit connections and takes every one back,
whatever happened in the block."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.pq import TransactionStatus

from infrastructure.read_pool import AutocommitPool

pytestmark = pytest.mark.anyio


def test_a_pool_of_transactional_connections_is_refused(database_url: str) -> None:
    """Without autocommit there would be transactions to end: the lean lending is refused."""
    with pytest.raises(ValueError, match="autocommit"):
        AutocommitPool(database_url, open=False, kwargs={})


async def test_a_lent_connection_comes_back_for_the_next_use(
    autocommit_pool: AutocommitPool,
) -> None:
    """One connection in the pool serves one block after another."""
    for n in range(3):
        async with autocommit_pool.connection() as conn:
            row = await (await conn.execute("SELECT %s::int", (n,))).fetchone()
            assert row == (n,)
    assert autocommit_pool.get_stats()["pool_available"] == 1


async def test_a_failed_statement_or_an_open_transaction_is_reset_on_return(
    autocommit_pool: AutocommitPool,
) -> None:
    """A block that raised, or left a transaction open, hands back an idle connection."""
    with pytest.raises(psycopg.errors.DivisionByZero):
        async with autocommit_pool.connection() as conn:
            await conn.execute("SELECT 1 / 0")
    async with autocommit_pool.connection() as conn:
        await conn.execute("BEGIN")
        await conn.execute("CREATE TEMP TABLE left_open (x int)")
    async with autocommit_pool.connection() as conn:
        assert conn.pgconn.transaction_status == TransactionStatus.IDLE
        found = await (await conn.execute("SELECT to_regclass('pg_temp.left_open')")).fetchone()
        assert found == (None,)


async def test_after_the_server_ends_every_session_one_use_fails_not_each(
    database_url: str,
) -> None:
    """Every pooled session ended (a PostgreSQL restart, an admin's terminate): the use that
    finds its connection dead fails, and the pool then tests the idle ones rather than let each
    fail a request of its own."""
    pool = AutocommitPool(database_url, min_size=4, max_size=4, kwargs={"autocommit": True})
    async with pool:
        await pool.wait(timeout=10)
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as other:
            await other.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        failed = 0
        for _ in range(8):
            try:
                async with pool.connection() as conn:
                    await conn.execute("SELECT 1")
            except psycopg.OperationalError:
                failed += 1
                await pool.wait(timeout=10)  # a request retried by its client a moment later
        assert failed == 1
