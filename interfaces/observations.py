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


def build_collection(core: Core, listen: bool = True, journal: str = "journal") -> Collection:
    """The intake pipeline, its health probes and its workers; `journal` names its directory
    under the data dir (one journal per process: its batcher alone tails it).

    Without `listen` (a fleet process beside a separate collector) only this process's own
    emulators and sniffer feed it: journal → batcher, no syslog listeners.
    """
    settings = core.settings
    journal_ = Journal(settings.data_dir / journal, fsync=settings.journal_fsync)
    batcher = Batcher(journal_, core.ingest)
    sink = CollectorSink(journal_, lambda: batcher.stats.bytes_committed, batcher.notify)
    batcher.on_commit = sink.committed
    listeners = (
        SyslogCollector(
            sink, settings.syslog_host, settings.syslog_port, CollectorLimits.of(settings)
        )
        if listen
        else None
    )
    collection = Collection(journal=journal_, sink=sink, batcher=batcher, listeners=listeners)

    async def ingestion() -> ComponentHealth:
        return batcher.health()

    async def collector() -> ComponentHealth:
        if listeners is None:
            return ComponentHealth("disabled", "syslog listeners run in the collector process")
        return listeners.health()

    async def start(tg: TaskGroup) -> None:
        if listeners is not None:
            await listeners.start()
        tg.start_soon(batcher.run)
        tg.start_soon(_stop_on_cancel, collection)

    core.health["ingestion_worker"] = ingestion
    core.health["collector_worker"] = collector
    core.add_worker(start)
    return collection


def publish_commits(broadcaster: Broadcaster) -> Listener:
    """A runner listener handing on every live commit: logs with their rows, others as
    "model M projected up to P" (history streams and other processes' read-your-writes)."""

    def publish(name: str, position: int, effect: Effect) -> None:
        if name == "logs" and isinstance(effect, LogsCommitted):
            # The rows are built on first use: not at all when nobody could receive them.
            rows = effect.rows if broadcaster.listened else ()
            broadcaster.publish(LiveUpdate(position, rows, effect.purged))
        else:
            broadcaster.publish(LiveUpdate(position, model=name))

    return publish


async def _stop_on_cancel(collection: Collection) -> None:
    """Close the listeners and the journal when the process shuts down.

    Records still in the journal are not lost: the next start appends them.
    """
    try:
        await anyio.sleep_forever()
    finally:
        with anyio.CancelScope(shield=True):
            if collection.listeners is not None:
                await collection.listeners.stop()
            collection.journal.close()
