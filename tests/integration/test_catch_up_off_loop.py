"""Catching a read model up does its per-record work off the event loop (issue 12).

`decnet serve` runs the projections on the event loop that serves the API. A model behind the
head (first start on a big store, an upgrade's rebuild, `decnet ingest` while stopped) catches up
200 batch events of 1,000 records per step; decoding, scrubbing, counting and profiling those on
the loop stalled every request for seconds (the console's overview took 15 s and more at 1M
records). This pins where that work runs: in worker threads, never on the loop's thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

import projections.attackers
import projections.histogram
import projections.history
import projections.logs
import projections.merkle
import projections.observed
from application.observations.ingest import IngestCommands
from infrastructure.eventstore.mapper import MsgspecMapper
from projections.catalog import all_projections
from projections.runner import ProjectionRunner
from tests.integration.observations_fixtures import record
from tests.integration.stores import event_store

# (owner, attribute): the per-record (or per-event) work of each observation model.
PER_RECORD: list[tuple[Any, str]] = [
    (MsgspecMapper, "to_domain_event"),  # decoding, every model
    (projections.observed, "has_no_nul"),  # logs, histogram, attackers (walk), per event
    (projections.observed, "scrub"),  # the same, per record of an event holding a NUL
    (projections.logs, "minutes_of"),
    (projections.histogram, "minutes_of"),
    (projections.attackers, "derive_bounties"),
    (projections.attackers, "extract_command"),
    (projections.history, "batch_digest"),
    (projections.merkle, "event_leaf_hash"),
]


@pytest.fixture
def threads_of(monkeypatch: pytest.MonkeyPatch) -> dict[str, set[int]]:
    """The threads each per-record function ran on, by name."""
    seen: dict[str, set[int]] = {}
    for owner, name in PER_RECORD:
        key = f"{getattr(owner, '__name__', owner)}.{name}"
        seen[key] = set()
        monkeypatch.setattr(owner, name, _recording(getattr(owner, name), seen[key]))
    return seen


def _recording(fn: Callable[..., Any], threads: set[int]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        threads.add(threading.get_ident())
        return fn(*args, **kwargs)

    return wrapper


def test_catch_up_decodes_and_projects_records_off_the_event_loop(
    database_url: str, threads_of: dict[str, set[int]]
) -> None:
    """No record of a catch-up is decoded, scrubbed, counted or profiled on the loop's thread."""
    loop_thread = asyncio.run(_catch_up_everything(database_url))
    for name, threads in threads_of.items():
        assert threads, f"{name} never ran: the test no longer covers it"
        assert loop_thread not in threads, f"{name} ran on the event loop"


async def _catch_up_everything(url: str) -> int:
    with event_store(url) as store:
        ingest = IngestCommands(store)
        for batch in range(3):
            records = [
                record(
                    batch * 10 + i,
                    event_type="command" if i % 2 else "login_attempt",
                    # A NUL in the first batch: its records go through `scrub` (ADR 0023).
                    fields={
                        "command": "uname -a",
                        "username": "root",
                        "password": f"pw{i}" + ("\x00" if batch == 0 else ""),
                    },
                )
                for i in range(10)
            ]
            await asyncio.to_thread(ingest.append, records, [], None)
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True}
        )
        await pool.open(wait=True)
        try:
            runner = ProjectionRunner(store, pool, all_projections())
            await runner.setup()
            for name in runner.projections:
                assert await runner.catch_up(name) == store.head()
        finally:
            await pool.close()
    return threading.get_ident()
