"""Fixtures and builders for the observation-pipeline integration tests.

Test modules import what they use from here (`from tests.integration.observations_fixtures
import event_store, ...`), which registers the fixtures for that module only.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest
from psycopg_pool import AsyncConnectionPool

from application.reads.ports import LogFilter
from application.store import EventStoreApp
from domain.observations.batch import InteractionBatch, RejectedLine
from domain.observations.records import InteractionRecord
from domain.observations.search import parse_search
from domain.shared.topics import topic_of
from projections.logs_queries import LogQueries
from projections.logs_schema import LogTables
from projections.logs_search import Dictionary, where
from projections.rows import tuples_of
from projections.schema import live_schema
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


def scattered_time(rng: random.Random, i: int, on_quarters: int) -> datetime:
    """Record `i`'s time in six hours from `BASE_TIME`, a microsecond off the minute or not; every
    `on_quarters`-th on a quarter hour or a microsecond before one, every 53rd just before or
    after the epoch."""
    ts = BASE_TIME + timedelta(seconds=rng.randrange(6 * 3600), microseconds=rng.choice((0, 3)))
    if i % on_quarters == 0:
        ts = BASE_TIME + timedelta(minutes=15 * rng.randrange(24))
        ts -= timedelta(microseconds=rng.choice((0, 0, 1)))
    if i % 53 == 0:
        ts = datetime(1969, 12, 31, 23, 50, tzinfo=UTC) + timedelta(minutes=rng.randrange(30))
    return ts


async def histograms_as_rows(
    pool: AsyncConnectionPool[Any], searches: tuple[str, ...], intervals: tuple[int, ...]
) -> int:
    """Every histogram of the live logs and histogram models, for each search, range of
    `histogram_ranges` and interval, equals a plain `date_bin` over the rows the search
    matches, as buckets and as the route's JSON; how many were not empty."""
    logs = LogQueries(pool)
    tables = LogTables(live_schema("logs"))
    answered = 0
    async with pool.connection() as conn:
        for search in searches:
            for start, end in histogram_ranges():
                f = LogFilter(parse_search(search), start, end)
                for interval in intervals:
                    buckets = await logs.histogram(f, interval)
                    got = [(b.bucket, b.count) for b in buckets]
                    plain = await _plain_histogram(conn, f, interval, tables)
                    assert got == plain, (search, start, end, interval)
                    encoded = await logs.histogram_json(f, interval)
                    assert encoded == msgspec.json.encode(buckets), (search, start, end, interval)
                    answered += bool(got)
    return answered


async def _plain_histogram(
    conn: Any, f: LogFilter, interval: int, tables: LogTables
) -> list[tuple[str, int]]:
    """`date_bin` over the rows the filter matches, found without the dictionaries."""
    sql, params = where(f, Dictionary(tables.tokens, absent=True))
    cur = tuples_of(conn)  # buckets as ISO-Z text, 1 BC's too (a datetime has no year 0)
    await cur.execute(
        f"SELECT date_bin('{interval * 60} seconds', ts, 'epoch'::timestamptz), count(*)"
        f" FROM {tables.logs}{sql} GROUP BY 1 ORDER BY 1",
        params,
    )
    return [(bucket, int(n)) for bucket, n in await cur.fetchall()]
