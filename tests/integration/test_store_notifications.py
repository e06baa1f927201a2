"""An append by another store instance (another process's) wakes a PostgreSQL listener."""

from __future__ import annotations

import anyio
import anyio.to_thread
import pytest

from application.observations.ingest import IngestCommands
from application.store import EventStoreApp
from infrastructure.eventstore.notifications import follow_notifications, store_channel
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
