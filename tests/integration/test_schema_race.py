"""Processes that start together on an empty database create its schemas and tables once.

`docker compose up` starts api x2, projector x2, collector and fleet at the same moment on a
fresh PostgreSQL; each creates the event store's schema and tables if missing. PostgreSQL's
`CREATE ... IF NOT EXISTS` is not safe against a concurrent identical statement (both pass the
check, the later fails on a catalog unique index), so without the schema lock some of them
crashed on first start (found by tests/integration/test_compose_live.py as restarts).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from application.store import EventStoreApp
from infrastructure.database import Database, prepare_schemas
from projections.schema import CONTROL_SCHEMA
from tests.api.harness import fresh_database

STARTERS = 8


@pytest.fixture
def empty_url(pg_admin_url: str) -> Iterator[str]:
    """A database nobody has created anything in."""
    with fresh_database(pg_admin_url) as url:
        yield url


def start_like_a_process(url: str, gate: threading.Barrier, out: list[object]) -> None:
    """What every decnet process does first: schemas, then the event store (tables if missing)."""
    gate.wait()
    try:
        prepare_schemas(url, CONTROL_SCHEMA)
        store = Database(url).open_store(pool_size=1)
        out.append(store)
    except Exception as exc:  # the test reports every starter's failure, whatever its type
        out.append(exc)


def test_concurrent_first_starts_all_succeed(empty_url: str) -> None:
    """Eight starters released at once on an empty database: every one gets a working store."""
    # given an empty database and eight starters waiting at one gate
    gate = threading.Barrier(STARTERS)
    out: list[object] = []
    threads = [
        threading.Thread(target=start_like_a_process, args=(empty_url, gate, out))
        for _ in range(STARTERS)
    ]
    # when they all start at once
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # then none failed, and the stores they opened share one working table
    failures = [repr(o) for o in out if not isinstance(o, EventStoreApp)]
    assert failures == [], failures
    stores = [o for o in out if isinstance(o, EventStoreApp)]
    assert len(stores) == STARTERS
    try:
        assert {s.head() for s in stores} == {0}
    finally:
        for store in stores:
            store.close()
