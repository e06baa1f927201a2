"""The production PostgreSQL event store, for integration tests that need one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from application.store import EventStoreApp
from infrastructure.database import Database, prepare_schemas
from projections.schema import CONTROL_SCHEMA


@contextmanager
def event_store(url: str) -> Iterator[EventStoreApp]:
    """The event store on `url` (schemas created), closed on exit."""
    prepare_schemas(url, CONTROL_SCHEMA)
    store = EventStoreApp(Database(url).event_store_env(pool_size=2))
    try:
        yield store
    finally:
        store.close()
