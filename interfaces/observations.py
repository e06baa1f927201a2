"""Wiring of the observation pipeline: journal → batcher → store → projections → broadcaster."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
from anyio.abc import TaskGroup
from litestar.connection import ASGIConnection

from application.observations.ingest import IngestCommands
from application.ports import ComponentHealth, LiveLog, LiveUpdate
from domain.shared.meta import CommandMeta
from infrastructure.broadcast.memory import MemoryBroadcaster
from infrastructure.collector.batcher import Batcher
from infrastructure.collector.journal import Journal
from infrastructure.collector.servers import SyslogCollector
from infrastructure.collector.sink import CollectorSink
from interfaces.container import Container
from interfaces.http.commands import in_thread
from projections.attackers_queries import AttackerQueries
from projections.logs import LogsCommitted
from projections.logs_queries import LogQueries

PURGE_WAIT_S = 30.0


@dataclass
class Observations:
    """The observation side of one process."""

    journal: Journal
    ingest: IngestCommands
    batcher: Batcher
    sink: CollectorSink
    collector: SyslogCollector
    logs: LogQueries
    attackers: AttackerQueries
    broadcaster: MemoryBroadcaster

    async def stats(self, container: Container) -> dict[str, int]:
        """SPEC's `/stats`: every figure from a read model."""
        fleet_counts = container.extras.get("fleet_counts")
        deployed, active = await fleet_counts() if fleet_counts else (0, 0)
        return {
            "total_logs": await self.logs.total_logs(),
            "unique_attackers": await self.attackers.unique_attackers(),
            "active_deckies": active,
            "deployed_deckies": deployed,
        }

    async def purge(self, container: Container, meta: CommandMeta) -> dict[str, int]:
        """Record a purge and report what the read models dropped."""
        position = await in_thread(self.ingest.purge, meta)
        await container.runner.wait_for(
            position, ["logs", "histogram", "attackers"], timeout=PURGE_WAIT_S
        )
        logs = await self.logs.purged_logs(position)
        bounties = await self.attackers.purged_bounties(position)
        return {"logs": logs or 0, "bounties": bounties or 0}


def observations_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Observations:
    """The observation services of the app's container."""
    observations: Observations = connection.app.state.container.extras["observations"]
    return observations


def wire_observations(container: Container) -> Observations:
    """Build the pipeline, register health probes, the record sink and the workers."""
    settings = container.settings
    journal = Journal(settings.data_dir / "journal")
    ingest = IngestCommands(container.store)
    batcher = Batcher(journal, ingest)
    sink = CollectorSink(journal, lambda: batcher.stats.bytes_committed, batcher.notify)
    batcher.on_commit = sink.committed
    collector = SyslogCollector(sink, settings.syslog_host, settings.syslog_port)
    observations = Observations(
        journal,
        ingest,
        batcher,
        sink,
        collector,
        LogQueries(container.pool),
        AttackerQueries(container.pool),
        MemoryBroadcaster(),
    )
    container.runner.add_listener(_publisher(observations.broadcaster))
    container.extras["observations"] = observations
    container.extras["record_sink"] = sink
    container.extras.setdefault("workers", []).append(_starter(observations))
    container.extras["purge_observations"] = lambda meta: observations.purge(container, meta)
    _register_health(container, observations)
    return observations


def _publisher(broadcaster: MemoryBroadcaster) -> Any:
    def publish(name: str, position: int, effects: object) -> None:
        if name == "logs" and isinstance(effects, LogsCommitted):
            logs = tuple(LiveLog(row, record) for row, record in effects.api_rows())
            broadcaster.publish(LiveUpdate(position, logs, effects.purged))

    return publish


def _starter(observations: Observations) -> Any:
    async def start(tg: TaskGroup) -> None:
        await observations.collector.start()
        tg.start_soon(observations.batcher.run)
        tg.start_soon(_stop_on_cancel, observations)

    return start


async def _stop_on_cancel(observations: Observations) -> None:
    """Close the listeners and the journal when the process shuts down.

    Records still in the journal are not lost: the next start appends them.
    """
    try:
        await anyio.sleep_forever()
    finally:
        with anyio.CancelScope(shield=True):
            await observations.collector.stop()
            observations.journal.close()


def _register_health(container: Container, observations: Observations) -> None:
    async def ingestion() -> ComponentHealth:
        return observations.batcher.health()

    async def collector() -> ComponentHealth:
        return observations.collector.health()

    async def attacker() -> ComponentHealth:
        error = container.runner.errors.get("attackers")
        if error:
            return ComponentHealth("failing", error)
        head = await in_thread(container.store.head)
        lag = head - container.runner.positions.get("attackers", 0)
        return ComponentHealth("ok", f"attacker profiles {lag} events behind the store")

    container.health["ingestion_worker"] = ingestion
    container.health["collector_worker"] = collector
    container.health["attacker_worker"] = attacker
