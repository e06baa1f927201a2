"""An append by another store instance (another process's) wakes a PostgreSQL listener."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import anyio
import anyio.to_thread
import pytest
import structlog

from application.observations.ingest import IngestCommands
from application.store import EventStoreApp
from infrastructure.eventstore.notifications import follow_notifications, store_channel
from tests.api.harness import EXTERNAL_SKIP_REASON, PG_URL_ENV
from tests.api.pg_proxy import pg_proxy
from tests.integration import stores
from tests.integration.observations_fixtures import event_store, record

__all__ = ["event_store"]  # the fixture, re-exported for pytest


@pytest.mark.anyio
async def test_an_append_elsewhere_wakes_the_listener(
    event_store: EventStoreApp, database_url: str
) -> None:
    """Listening on the recorder's channel, each append through a second store on the same
    database (as `decnet serve`'s intake child appends) wakes the listener; no append, no wake."""
    wakes = anyio.Event()
    count = 0

    def wake() -> None:
        nonlocal count
        count += 1
        if count >= 2:  # one wake on connecting, then one per append
            wakes.set()

    channel = store_channel(event_store.recorder)
    async with anyio.create_task_group() as tg:
        tg.start_soon(follow_notifications, database_url, channel, wake)
        with anyio.fail_after(10):
            while count < 1:
                await anyio.sleep(0.01)
        await anyio.sleep(0.3)
        assert count == 1, "woken without an append"
        with stores.event_store(database_url) as other:
            ingest = IngestCommands(other)
            await anyio.to_thread.run_sync(ingest.append, [record(1)], [], None)
        with anyio.fail_after(5):
            await wakes.wait()
        tg.cancel_scope.cancel()


def test_a_store_without_notifications_is_refused() -> None:
    """A recorder without a PostgreSQL channel cannot be followed (a wiring error, said at once)."""
    with pytest.raises(TypeError, match="no PostgreSQL notifications"):
        store_channel(object())


@pytest.mark.anyio
async def test_an_outage_is_logged_once_and_its_end_once() -> None:
    """While the database cannot be reached the listener retries, backing off, and says so
    once; when it answers again the listener says so once and wakes the runner. (The machine's
    PostgreSQL over TCP, through a proxy the test cuts: LISTEN changes nothing there.)"""
    database_url = os.environ.get(PG_URL_ENV)
    if not database_url:
        pytest.skip(EXTERNAL_SKIP_REASON)
    parts = urlsplit(database_url)
    woken = anyio.Event()
    with (
        pg_proxy((parts.hostname or "127.0.0.1", parts.port or 5432), listening=False) as proxy,
        structlog.testing.capture_logs() as logs,
    ):
        via = urlunsplit(
            parts._replace(netloc=f"{parts.username or 'postgres'}@127.0.0.1:{proxy.port}")
        )
        async with anyio.create_task_group() as tg:
            tg.start_soon(follow_notifications, via, "decnet_test_channel", woken.set)
            await anyio.sleep(4.0)  # tries at 0, 0.5, 1.5 and 3.5 s
            assert not woken.is_set()
            proxy.restore()
            with anyio.fail_after(10):  # the next try, at most 5 s later
                await woken.wait()
            tg.cancel_scope.cancel()
    events = [entry["event"] for entry in logs]
    assert events.count("store_notifications_lost") == 1, logs
    assert events.count("store_notifications_resumed") == 1, logs
    resumed = next(e for e in logs if e["event"] == "store_notifications_resumed")
    assert resumed["down_s"] >= 4.0
