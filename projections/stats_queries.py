"""SPEC's `/stats` in one statement: the logs, attackers and fleet models' counters.

One round trip instead of one per model (each costs a pooled connection and a network turn, most
of a quiet `/stats` request), and one snapshot: the three figures are read together.
"""

from __future__ import annotations

from typing import Any

from psycopg_pool import AsyncConnectionPool

from application.reads.rows import Stats
from projections.attackers_schema import AttackerTables
from projections.fleet import deckies_table
from projections.logs_schema import LogTables
from projections.schema import LIVE, Namespace


class StatsQueries:
    """`StatsReader` over the read models of a namespace (the live ones, or a view's)."""

    def __init__(self, pool: AsyncConnectionPool[Any], ns: Namespace = LIVE) -> None:
        self._pool = pool
        logs = LogTables(ns.schema("logs")).counters
        attackers = AttackerTables(ns.schema("attackers")).counters
        deckies = deckies_table(ns.schema("fleet"))
        self._sql = (
            f"SELECT (SELECT coalesce(sum(value), 0) FROM {logs} WHERE name = 'total_logs'),"
            f" (SELECT coalesce(sum(value), 0) FROM {attackers} WHERE name = 'unique_attackers'),"
            " f.running, f.deployed FROM (SELECT count(*) FILTER (WHERE status = 'running'),"
            f" count(*) FROM {deckies}) AS f(running, deployed)"
        )

    async def stats(self) -> Stats:
        """Logs projected, distinct attackers, deckies running and deckies in the fleet."""
        async with self._pool.connection() as conn:
            row = await (await conn.execute(self._sql)).fetchone()
        assert row is not None, "an aggregate query returns one row"
        logs, attackers, running, deployed = (int(v) for v in row)
        return Stats(
            total_logs=logs,
            unique_attackers=attackers,
            active_deckies=running,
            deployed_deckies=deployed,
        )
