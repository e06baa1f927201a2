"""Fixtures and builders for the observation-pipeline integration tests.

Test modules import what they use from here (`from tests.integration.observations_fixtures
import event_store, ...`), which registers the fixtures for that module only.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
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


def histogram_ranges() -> list[tuple[datetime | None, datetime | None]]:
    """Ranges starting and ending on and inside minutes and quarter hours around `BASE_TIME`,
    naive and zoned, reversed, and at the ends of time."""
    q = timedelta(minutes=15)
    m = timedelta(minutes=1)
    b = BASE_TIME
    india = timezone(timedelta(hours=5, minutes=30))
    return [
        (None, None),
        (b + q, None),
        (None, b + 4 * q),
        (b + q, b + 9 * q),  # whole quarters, the end inclusive
        (b + q + timedelta(seconds=1), b + 9 * q - timedelta(microseconds=1)),
        (b + q + m, b + 9 * q - 2 * m),  # whole minutes, not whole quarters
        (b + 5 * m, None),
        (None, b + 12 * q + 7 * m),
        (b + q - m, b + 2 * q + m),  # one whole quarter and a minute either side
        (b + timedelta(minutes=7, seconds=3), b + timedelta(hours=3, minutes=41, microseconds=3)),
        (b + timedelta(minutes=16), b + timedelta(minutes=29)),  # inside one quarter
        (b + timedelta(minutes=16), b + timedelta(minutes=31)),  # two partial quarters
        (b + timedelta(hours=3), b + timedelta(hours=1)),  # start after end
        ((b + timedelta(minutes=22)).astimezone(india), (b + 7 * q).astimezone(india)),
        (datetime(2026, 4, 18, 3, 7), datetime(2026, 4, 18, 5, 0)),  # naive: the session's zone
        (datetime(1969, 12, 31, 23, 55, tzinfo=UTC), b + 2 * q),
        (datetime(1, 1, 1, tzinfo=UTC), datetime.max.replace(tzinfo=UTC)),
        (datetime.max.replace(tzinfo=UTC) - timedelta(seconds=1), None),
    ]
