"""Events stored before a domain module moved keep loading, projecting and naming correctly.

The settings aggregate moved from `domain.identity.settings` to `domain.fleet.settings`. The
store keeps the topics events were written under, so the test writes settings events, rewrites
their topics back to the pre-move module in PostgreSQL (exactly what an older release left
behind), and reads them through every path that resolves or filters by topic.
"""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from application.fleet.settings import SettingsCommands
from application.store import EventStoreApp
from domain.fleet.settings import SETTINGS_ID, Settings
from domain.history.catalog import topics_of_names, type_name
from domain.shared.meta import SYSTEM
from domain.shared.topics import stored_topics
from infrastructure.database import EVENTS_SCHEMA
from projections.runner import ProjectionRunner
from projections.schema import live_schema
from projections.settings import SettingsProjection
from tests.integration.stores import event_store

OLD_MODULE = "domain.identity.settings"
NEW_MODULE = "domain.fleet.settings"


def write_pre_move_history(url: str) -> None:
    """Settings events as a release before the move stored them (old topics, old created-topic)."""
    with event_store(url) as store:
        settings = SettingsCommands(store)
        settings.set_deployment_limit(SYSTEM, 42)
        settings.set_global_mutation_interval(SYSTEM, 7)
    with psycopg.connect(url, autocommit=True) as conn:
        (table,) = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (EVENTS_SCHEMA,),
        ).fetchall()[0]
        events = f"{EVENTS_SCHEMA}.{table}"
        conn.execute(
            f"UPDATE {events} SET topic = replace(topic, %s, %s),"
            " state = convert_to(replace(convert_from(state, 'UTF8'), %s, %s), 'UTF8')"
            " WHERE topic LIKE %s",
            (NEW_MODULE, OLD_MODULE, NEW_MODULE, OLD_MODULE, f"{NEW_MODULE}:%"),
        )
        stored = conn.execute(f"SELECT topic FROM {events} ORDER BY notification_id").fetchall()
    assert stored == [
        (f"{OLD_MODULE}:Settings.Initialised",),
        (f"{OLD_MODULE}:Settings.DeploymentLimitSet",),
        (f"{OLD_MODULE}:Settings.GlobalMutationIntervalSet",),
    ]


async def project_settings(url: str, store: EventStoreApp) -> list[tuple[Any, ...]]:
    """The settings read model rebuilt from position 0."""
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True}
    )
    await pool.open(wait=True)
    try:
        runner = ProjectionRunner(store, pool, [SettingsProjection(live_schema("settings"))])
        await runner.setup()
        await runner.rebuild("settings")
        async with pool.connection() as conn:
            cursor = await conn.execute(f"SELECT * FROM {live_schema('settings')}.settings")
            return list(await cursor.fetchall())
    finally:
        await pool.close()


def test_events_written_before_the_move_load_project_and_keep_their_names(
    database_url: str,
) -> None:
    """Given pre-move settings events, the aggregate, the read model and the history read them."""
    write_pre_move_history(database_url)

    with event_store(database_url) as store:
        settings: Settings = store.repository.get(SETTINGS_ID)
        assert (settings.deployment_limit, settings.global_mutation_interval_minutes) == (42, 7)

        names = [type_name(store.mapper.to_domain_event(n)) for n in store.read(0, 10)]
        assert names == [
            "settings.initialised",
            "settings.deployment_limit_set",
            "settings.global_mutation_interval_set",
        ]

        assert asyncio.run(project_settings(database_url, store)) == [(1, 42, 7)]

        # New events get the new topic and append to the same stream.
        SettingsCommands(store).set_deployment_limit(SYSTEM, 43)
        assert store.repository.get(SETTINGS_ID).deployment_limit == 43


def test_filters_by_type_ask_for_the_old_topic_as_well() -> None:
    """A projection or /events filter on a moved type asks for both topics."""
    expected = (
        f"{NEW_MODULE}:Settings.DeploymentLimitSet",
        f"{OLD_MODULE}:Settings.DeploymentLimitSet",
    )
    assert stored_topics(Settings.DeploymentLimitSet) == expected
    assert set(topics_of_names({"settings.deployment_limit_set"})) == set(expected)
    assert set(expected) <= set(SettingsProjection(live_schema("settings")).topics)
