"""Settings read model: one row with the deployment limit and global mutation interval."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection

from domain.identity.settings import (
    DEFAULT_DEPLOYMENT_LIMIT,
    DEFAULT_MUTATION_INTERVAL_MINUTES,
    Settings,
)
from projections.base import Envelope, topic_of
from projections.schema import READ_SCHEMA

SETTINGS = f"{READ_SCHEMA}.settings"


class SettingsProjection:
    """The current settings; defaults until an event says otherwise."""

    name = "settings"
    version = 1
    topics = (topic_of(Settings.DeploymentLimitSet), topic_of(Settings.GlobalMutationIntervalSet))

    async def create(self, conn: AsyncConnection[Any]) -> None:
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {SETTINGS} (id int PRIMARY KEY CHECK (id = 1),"
            " deployment_limit int NOT NULL, global_mutation_interval_minutes int NOT NULL)"
        )
        await conn.execute(
            f"INSERT INTO {SETTINGS} VALUES (1, %s, %s) ON CONFLICT (id) DO NOTHING",
            (DEFAULT_DEPLOYMENT_LIMIT, DEFAULT_MUTATION_INTERVAL_MINUTES),
        )

    async def drop(self, conn: AsyncConnection[Any]) -> None:
        await conn.execute(f"DROP TABLE IF EXISTS {SETTINGS}")

    async def apply(self, conn: AsyncConnection[Any], batch: Sequence[Envelope]) -> object:
        for envelope in batch:
            event = envelope.event
            if isinstance(event, Settings.DeploymentLimitSet):
                await conn.execute(
                    f"UPDATE {SETTINGS} SET deployment_limit = %s", (event.deployment_limit,)
                )
            elif isinstance(event, Settings.GlobalMutationIntervalSet):
                await conn.execute(
                    f"UPDATE {SETTINGS} SET global_mutation_interval_minutes = %s",
                    (event.minutes,),
                )
        return None
