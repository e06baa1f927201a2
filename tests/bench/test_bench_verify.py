"""Whole-log verification speed: `pytest tests/bench/test_bench_verify.py -m bench -s`.

Needs DECNET_TEST_PG_URL. Fills a fresh database's event store through COPY, builds the tree
model with the real projection, signs a checkpoint of the whole tree, then times `verify_log`:
every row read back, re-hashed, compared with its recorded leaf and with every checkpoint.
Two logs, because an interaction batch costs per record:

- DECNET_BENCH_VERIFY_EVENTS (default 1,000,000) command-sized events → events/min;
- DECNET_BENCH_VERIFY_BATCHES (default 200) batches of 1,000 records → records/min.

The requirement is ≥ 1,000,000 a minute for both; the figures go in the README.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import Any
from uuid import uuid4

import anyio
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from application.store import EventStoreApp
from domain.audit.checkpoint import Checkpoint
from domain.history.tamper import TreeCheckpoint
from domain.observations.batch import InteractionBatch, JournalSpan, ObservationsPurge
from domain.shared.meta import CommandMeta
from infrastructure.audit.signing import SigningKey
from infrastructure.database import Database, prepare_schemas
from infrastructure.eventstore.mapper import MsgspecMapper
from projections.base import Envelope
from projections.merkle import MerkleProjection
from projections.merkle_queries import TreeQueries
from projections.merkle_verify import EVENTS_TABLE, verify_log
from projections.schema import CONTROL_SCHEMA
from tests.api.harness import EXTERNAL_SKIP_REASON, PG_URL_ENV, fresh_database
from tests.bench.synthetic import records

pytestmark = pytest.mark.bench
EVENTS = int(os.environ.get("DECNET_BENCH_VERIFY_EVENTS", "1000000"))
BATCHES = int(os.environ.get("DECNET_BENCH_VERIFY_BATCHES", "200"))
SCHEMA = "bench_merkle"
MAPPER = MsgspecMapper()
CHUNK = 5000


def _small_events(count: int) -> Iterator[tuple[Any, ...]]:
    """One purge event's stored state under fresh aggregate ids (hashing costs the same)."""
    meta = CommandMeta(None, "192.0.2.7", "req-0123456789abcdef")
    one = MAPPER.to_stored_event(ObservationsPurge.purge(meta).collect_events()[0])
    for _ in range(count):
        yield (uuid4(), one.originator_version, one.topic, one.state)


def _batch_events(count: int) -> Iterator[tuple[Any, ...]]:
    """Batches of 1,000 synthetic interaction records."""
    stream = records(count * 1000)
    for i in range(count):
        batch = list(islice(stream, 1000))
        event = InteractionBatch.observe(batch, [], JournalSpan("bench", i, i + 1))
        e = MAPPER.to_stored_event(event.collect_events()[0])
        yield (e.originator_id, e.originator_version, e.topic, e.state)


def _fill(url: str, rows: Iterator[tuple[Any, ...]]) -> None:
    prepare_schemas(url, CONTROL_SCHEMA, SCHEMA)
    store = EventStoreApp(Database(url).event_store_env())
    store.close()  # the table exists now
    with (
        psycopg.connect(url) as conn,
        conn.cursor() as cur,
        cur.copy(
            f"COPY {EVENTS_TABLE} (originator_id, originator_version, topic, state) FROM STDIN"
        ) as copy,
    ):
        for row in rows:
            copy.write_row(row)


class _Note:
    """What the runner hands a projection: the stored row's columns."""

    def __init__(self, row: tuple[Any, ...]) -> None:
        self.id, self.originator_id, self.originator_version, self.topic, self.state = row


async def _project(url: str) -> None:
    projection = MerkleProjection(SCHEMA)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await projection.create(conn)
        after = 0
        while True:
            cur = await conn.execute(
                "SELECT notification_id, originator_id, originator_version, topic, state"
                f" FROM {EVENTS_TABLE} WHERE notification_id > %s ORDER BY notification_id"
                " LIMIT %s",
                (after, CHUNK),
            )
            rows = await cur.fetchall()
            if not rows:
                return
            batch = [Envelope(r[0], None, _Note(r)) for r in rows]
            async with conn.transaction():
                await projection.apply(conn, batch)
            after = rows[-1][0]


async def _sign(url: str, key: SigningKey) -> None:
    async with AsyncConnectionPool(
        url, min_size=1, max_size=2, kwargs={"autocommit": True}
    ) as pool:
        head = await TreeQueries(pool, SCHEMA).head()
    signed = key.sign(Checkpoint.at(head.size, head.root, datetime.now(UTC)))
    stored = MAPPER.to_stored_event(
        TreeCheckpoint.record(signed, key.fingerprint()).collect_events()[0]
    )
    with psycopg.connect(url) as conn:
        conn.execute(
            f"INSERT INTO {EVENTS_TABLE} (originator_id, originator_version, topic, state)"
            " VALUES (%s, %s, %s, %s)",
            (stored.originator_id, stored.originator_version, stored.topic, stored.state),
        )


def _measure(rows: Iterator[tuple[Any, ...]], count: int) -> tuple[float, float]:
    """(seconds to build the tree model, seconds to verify) for a fresh log of `count` rows."""
    admin_url = os.environ.get(PG_URL_ENV)
    if not admin_url:
        pytest.skip(EXTERNAL_SKIP_REASON)
    key = SigningKey.generate()
    public = key.public_key()
    with fresh_database(admin_url) as url:
        _fill(url, rows)
        started = time.perf_counter()
        anyio.run(_project, url)
        projected = time.perf_counter() - started
        anyio.run(_sign, url, key)
        started = time.perf_counter()
        outcome = verify_log(
            url, lambda cp, sig: public.verify_message(cp.message(), sig), schema=SCHEMA
        )
        seconds = time.perf_counter() - started
    check = outcome.check
    assert check.ok, check.first_mismatch
    assert check.events == count + 1  # and the checkpoint
    assert check.checkpoints_checked == 1
    return projected, seconds


def test_verification_throughput() -> None:
    """Events/min and records/min `verify` re-hashes and compares, printed for the README."""
    projected, seconds = _measure(_small_events(EVENTS), EVENTS)
    events_rate = EVENTS / seconds * 60
    print(
        f"\n  command events: tree model built at {EVENTS / projected:,.0f} events/s;"
        f" verify {EVENTS:,} in {seconds:.1f} s = {events_rate:,.0f} events/min"
    )
    projected, seconds = _measure(_batch_events(BATCHES), BATCHES)
    records_rate = BATCHES * 1000 / seconds * 60
    print(
        f"  interaction batches: tree model built at {BATCHES * 1000 / projected:,.0f} records/s;"
        f" verify {BATCHES:,} batches ({BATCHES * 1000:,} records) in {seconds:.1f} s"
        f" = {records_rate:,.0f} records/min"
    )
    assert events_rate >= 1_000_000, f"verification ran at {events_rate:,.0f} events/min"
    assert records_rate >= 1_000_000, f"verification ran at {records_rate:,.0f} records/min"
