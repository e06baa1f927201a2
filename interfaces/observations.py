"""Wiring of the observation intake: syslog listeners → journal → batcher → event store."""

from __future__ import annotations

from dataclasses import dataclass

import anyio
from anyio.abc import TaskGroup

from application.ports import ComponentHealth
from infrastructure.collector.batcher import Batcher
from infrastructure.collector.journal import Journal
from infrastructure.collector.limits import CollectorLimits
from infrastructure.collector.servers import SyslogCollector
from infrastructure.collector.sink import CollectorSink
from interfaces.store_core import StoreCore


@dataclass
class Collection:
    """The observation intake: syslog listeners → journal → batcher → event store."""

    journal: Journal
    sink: CollectorSink
    batcher: Batcher
    listeners: SyslogCollector | None


def build_collection(core: StoreCore, listen: bool = True, journal: str = "journal") -> Collection:
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
