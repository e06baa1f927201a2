"""Settings read model: one row with the deployment limit and global mutation interval."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection

from domain.fleet.settings import (
    DEFAULT_DEPLOYMENT_LIMIT,
    DEFAULT_MUTATION_INTERVAL_MINUTES,
    Settings,
)
from domain.shared.topics import stored_topics
from projections.base import Envelope, SchemaBound


def settings_table(schema: str) -> str:
    """The settings model's one-row table."""
    return f"{schema}.settings"


class SettingsProjection(SchemaBound):
    """The current settings; defaults until an event says otherwise."""

    name = "settings"
    version = 2  # v2: a schema of its own
    topics = stored_topics(Settings.DeploymentLimitSet, Settings.GlobalMutationIntervalSet)

    def __init__(self, schema: str) -> None:
        super().__init__(schema)
        self.table = settings_table(schema)

    async def create(self, conn: AsyncConnection[Any]) -> None:
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} (id int PRIMARY KEY CHECK (id = 1),"
            " deployment_limit int NOT NULL, global_mutation_interval_minutes int NOT NULL)"
        )
        await conn.execute(
            f"INSERT INTO {self.table} VALUES (1, %s, %s) ON CONFLICT (id) DO NOTHING",
            (DEFAULT_DEPLOYMENT_LIMIT, DEFAULT_MUTATION_INTERVAL_MINUTES),
        )

    async def drop(self, conn: AsyncConnection[Any]) -> None:
        await conn.execute(f"DROP TABLE IF EXISTS {self.table}")

    async def apply(self, conn: AsyncConnection[Any], batch: Sequence[Envelope]) -> None:
        for envelope in batch:
            event = envelope.event
            if isinstance(event, Settings.DeploymentLimitSet):
                await conn.execute(
                    f"UPDATE {self.table} SET deployment_limit = %s", (event.deployment_limit,)
                )
            elif isinstance(event, Settings.GlobalMutationIntervalSet):
                await conn.execute(
                    f"UPDATE {self.table} SET global_mutation_interval_minutes = %s",
                    (event.minutes,),
                )
