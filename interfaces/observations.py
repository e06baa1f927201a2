"""Wiring of the observation intake (journal → batcher → store) and of live log fan-out."""

from __future__ import annotations

import anyio
from anyio.abc import TaskGroup

from application.ports import Broadcaster, ComponentHealth, LiveUpdate
from infrastructure.collector.batcher import Batcher
from infrastructure.collector.journal import Journal
from infrastructure.collector.limits import CollectorLimits
from infrastructure.collector.servers import SyslogCollector
from infrastructure.collector.sink import CollectorSink
from interfaces.services import Collection, Core
from projections.base import Effect, LogsCommitted
from projections.runner import Listener


def build_collection(core: Core) -> Collection:
    """The intake pipeline, its health probes and its workers."""
    settings = core.settings
    journal = Journal(settings.data_dir / "journal", fsync=settings.journal_fsync)
    batcher = Batcher(journal, core.ingest)
    sink = CollectorSink(journal, lambda: batcher.stats.bytes_committed, batcher.notify)
    batcher.on_commit = sink.committed
    limits = CollectorLimits.of(settings)
    listeners = SyslogCollector(sink, settings.syslog_host, settings.syslog_port, limits)
    collection = Collection(journal=journal, sink=sink, batcher=batcher, listeners=listeners)

    async def ingestion() -> ComponentHealth:
        return batcher.health()

    async def collector() -> ComponentHealth:
        return listeners.health()

    async def start(tg: TaskGroup) -> None:
        await listeners.start()
        tg.start_soon(batcher.run)
        tg.start_soon(_stop_on_cancel, collection)

    core.health["ingestion_worker"] = ingestion
    core.health["collector_worker"] = collector
    core.add_worker(start)
    return collection


def publish_commits(broadcaster: Broadcaster) -> Listener:
    """A runner listener handing logs commits (with their rows) and history commits on."""

    def publish(name: str, position: int, effect: Effect) -> None:
        if name == "logs" and isinstance(effect, LogsCommitted):
            broadcaster.publish(LiveUpdate(position, effect.rows, effect.purged))
        elif name == "history":
            broadcaster.publish(LiveUpdate(position, model="history"))

    return publish


async def _stop_on_cancel(collection: Collection) -> None:
    """Close the listeners and the journal when the process shuts down.

    Records still in the journal are not lost: the next start appends them.
    """
    try:
        await anyio.sleep_forever()
    finally:
        with anyio.CancelScope(shield=True):
            await collection.listeners.stop()
            collection.journal.close()
