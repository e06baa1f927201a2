"""Fixtures and builders for the observation-pipeline integration tests.

Test modules import what they use from here (`from tests.integration.observations_fixtures
import event_store, ...`), which registers the fixtures for that module only.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from application.store import EventStoreApp
from domain.observations.batch import InteractionBatch, RejectedLine
from domain.observations.records import InteractionRecord
from domain.shared.topics import topic_of
from tests.integration import stores

BASE_TIME = datetime(2026, 4, 18, 2, 0, tzinfo=UTC)
OBSERVED_TOPIC = topic_of(InteractionBatch.InteractionsObserved)


@pytest.fixture
def event_store(database_url: str) -> Iterator[EventStoreApp]:
    """The production PostgreSQL event store on a fresh database."""
    with stores.event_store(database_url) as store:
        yield store


def record(seq: int, **overrides: Any) -> InteractionRecord:
    """A record whose `fields["seq"]` identifies it."""
    values: dict[str, Any] = {
        "timestamp": BASE_TIME + timedelta(seconds=seq),
        "decky": "decky-01",
        "service": "ssh",
        "event_type": "connect",
        "attacker_ip": "10.0.0.1",
        "msg": f"message {seq}",
        "fields": {"seq": str(seq)},
        "raw_line": f"raw {seq}",
    }
    values.update(overrides)
    return InteractionRecord(**values)


def rejected(n: int) -> RejectedLine:
    """A dead-lettered line."""
    return RejectedLine(
        received_at="2026-04-18T02:00:00Z",
        reason="bad_pri",
        detail="x",
        raw=f"junk {n}",
        source="udp",
    )


def stored_batches(store: EventStoreApp) -> list[InteractionBatch.InteractionsObserved]:
    """Every InteractionsObserved event in the store, in order."""
    notes = store.read(0, 1_000_000, [OBSERVED_TOPIC])
    return [store.mapper.to_domain_event(n) for n in notes]


def stored_seqs(store: EventStoreApp) -> list[int]:
    """The `seq` of every record the store holds, in store order (duplicates kept)."""
    return [int(r.fields["seq"]) for e in stored_batches(store) for r in e.records]


async def kept_and_rebuilt(
    pool: AsyncConnectionPool[Any], table: str, from_rows: tuple[str, list[Any]]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """A count table of the logs model as the live writes kept it, and as a bulk load makes it
    from the rows (`from_rows`, run in a rolled-back transaction), both in key order."""
    order = f"SELECT * FROM {table} AS t ORDER BY t"
    async with pool.connection() as conn:
        kept = await (await conn.execute(order)).fetchall()
        async with conn.transaction(force_rollback=True):
            await conn.execute(f"TRUNCATE {table}")
            await conn.execute(*from_rows)
            rebuilt = await (await conn.execute(order)).fetchall()
    return kept, rebuilt
