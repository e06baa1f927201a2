"""What an intake process tells the process that started it: its counters and its health.

`decnet serve` runs its syslog intake in a child process; the child writes one of these per
line on its stdout, and the parent shows them on `/health` and `/metrics` as its own.
"""

from __future__ import annotations

import msgspec

from application.ports import ComponentHealth, HealthState
from infrastructure.collector.sink import CollectorSink


class IntakeReport(msgspec.Struct, frozen=True, kw_only=True):
    """One snapshot of the intake's counters and of its two components' health."""

    journaled: dict[str, int]
    dead_lettered: dict[str, int]
    accepted: int
    udp_overflow: int
    udp_disk_full: int = 0
    journal_disk_full: bool = False
    backlog_bytes: int
    collector_status: HealthState
    collector_detail: str
    ingestion_status: HealthState
    ingestion_detail: str

    @classmethod
    def of(
        cls, sink: CollectorSink, collector: ComponentHealth, ingestion: ComponentHealth
    ) -> IntakeReport:
        """The sink's counters now, with the listeners' and the batcher's health."""
        stats = sink.stats
        return cls(
            journaled=dict(stats.journaled_by_transport),
            dead_lettered=dict(stats.rejected_by_transport),
            accepted=stats.accepted,
            udp_overflow=stats.udp_overflow,
            udp_disk_full=stats.udp_disk_full,
            journal_disk_full=bool(sink.disk_full),
            backlog_bytes=sink.lag_bytes,
            collector_status=collector.status,
            collector_detail=collector.detail,
            ingestion_status=ingestion.status,
            ingestion_detail=ingestion.detail,
        )

    @property
    def collector(self) -> ComponentHealth:
        """The syslog listeners' health as the child saw it."""
        return ComponentHealth(self.collector_status, self.collector_detail)

    @property
    def ingestion(self) -> ComponentHealth:
        """The batcher's health as the child saw it."""
        return ComponentHealth(self.ingestion_status, self.ingestion_detail)


ENCODER = msgspec.json.Encoder()
DECODER = msgspec.json.Decoder(IntakeReport)
