"""The PostgreSQL readers of one set of read models (the live ones, or an as-of view)."""

from __future__ import annotations

from typing import Any

from psycopg_pool import AsyncConnectionPool

from application.reads.ports import Readers
from projections.attackers_queries import AttackerQueries
from projections.fleet_queries import FleetQueries
from projections.logs_queries import LogQueries
from projections.schema import LIVE, Namespace
from projections.stats_queries import StatsQueries


class PostgresReadModels:
    """`ReadModels`: readers bound to the live schemas or to a view's schema."""

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool
        self._live = self.at(LIVE)

    def live(self) -> Readers:
        """Readers of the live read models."""
        return self._live

    def at(self, ns: Namespace) -> Readers:
        """Readers of the read models in `ns`."""
        return Readers(
            logs=LogQueries(self._pool, ns),
            attackers=AttackerQueries(self._pool, ns),
            fleet=FleetQueries(self._pool, ns),
            stats=StatsQueries(self._pool, ns),
        )
