"""Merkle hashing speed: `pytest tests/bench/test_bench_merkle.py -m bench -s`.

Canonical bytes + leaf hash + compact-tree append + root, from stored events already in memory
(the verification path minus the database read). DECNET_BENCH_MERKLE_EVENTS (default 200,000)
small command events, and as many interaction records in 1,000-record batch events.
"""

from __future__ import annotations

import os
import time
from itertools import islice

import pytest
from eventsourcing.persistence import StoredEvent

from domain.audit.canonical import event_leaf_hash
from domain.audit.merkle import CompactTree
from domain.observations.batch import InteractionBatch, JournalSpan, ObservationsPurge
from domain.shared.meta import CommandMeta
from infrastructure.eventstore.mapper import MsgspecMapper
from tests.bench.synthetic import records

pytestmark = pytest.mark.bench
EVENTS = int(os.environ.get("DECNET_BENCH_MERKLE_EVENTS", "200000"))
MAPPER = MsgspecMapper()


def _small_events(count: int) -> list[StoredEvent]:
    meta = CommandMeta(None, "192.0.2.7", "req-0123456789abcdef")
    one = MAPPER.to_stored_event(ObservationsPurge.purge(meta).collect_events()[0])
    return [one] * count  # identical rows hash at the same cost as distinct ones


def _batch_events(record_count: int) -> list[StoredEvent]:
    stream = records(record_count)
    events = []
    offset = 0
    while batch := list(islice(stream, 1000)):
        span = JournalSpan("bench", offset, offset + len(batch))
        created = InteractionBatch.observe(batch, [], span).collect_events()[0]
        events.append(MAPPER.to_stored_event(created))
        offset += len(batch)
    return events


def _hash_all(events: list[StoredEvent]) -> float:
    tree = CompactTree()
    start = time.perf_counter()
    for position, e in enumerate(events, start=1):
        tree.append(
            event_leaf_hash(position, e.originator_id, e.originator_version, e.topic, e.state)
        )
    tree.root()
    return time.perf_counter() - start


def test_leaf_hashing_throughput() -> None:
    """Events/s for small events and records/s inside batch events, printed for the README."""
    small = _small_events(EVENTS)
    seconds = _hash_all(small)
    rate = EVENTS / seconds
    print(f"\n  small events  {EVENTS:>9} in {seconds:6.2f} s = {rate:>10,.0f} leaves/s")
    batches = _batch_events(EVENTS)
    seconds = _hash_all(batches)
    print(
        f"  batch events  {len(batches):>9} ({EVENTS} records) in {seconds:6.2f} s"
        f" = {EVENTS / seconds:>10,.0f} records/s"
    )
    assert seconds > 0
