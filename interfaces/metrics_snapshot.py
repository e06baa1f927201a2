"""What a process of the full composition root reports at scrape time: its collection (if any),
`decnet serve`'s intake child, every read model's position and lag, and its SSE clients."""

from __future__ import annotations

from collections import Counter
from functools import partial

from application.readmodels.status import projection_statuses
from infrastructure.collector.report import IntakeReport
from infrastructure.metrics import ModelPosition, Snapshot
from interfaces.metrics import collection_snapshot, serve_metrics
from interfaces.services import Core, Services
from interfaces.status import status_sources


async def snapshot_of(services: Services) -> Snapshot:
    """What this process knows right now: collector counters, projections, SSE clients."""
    collection = services.collection
    snapshot = collection_snapshot(collection) if collection is not None else Snapshot()
    snapshot.sse_clients = _subscribers(services)
    report = await services.intake() if services.intake is not None else None
    if report is not None:
        _add_intake(snapshot, report)
    core = services.core
    statuses = await projection_statuses(status_sources(core.store, core.projection_facts))
    snapshot.models = {
        s.name: ModelPosition(s.position, s.lag_events, s.lag_seconds) for s in statuses
    }
    return snapshot


def _add_intake(snapshot: Snapshot, report: IntakeReport) -> None:
    """`decnet serve`: its intake process's counters added to this process's own."""
    snapshot.journaled = dict(Counter(snapshot.journaled) + Counter(report.journaled))
    snapshot.dead_lettered = dict(Counter(snapshot.dead_lettered) + Counter(report.dead_lettered))
    snapshot.accepted = (snapshot.accepted or 0) + report.accepted
    snapshot.udp_overflow = (snapshot.udp_overflow or 0) + report.udp_overflow
    snapshot.udp_disk_full = (snapshot.udp_disk_full or 0) + report.udp_disk_full
    snapshot.journal_disk_full = bool(snapshot.journal_disk_full) or report.journal_disk_full
    snapshot.journal_backlog_bytes = (snapshot.journal_backlog_bytes or 0) + report.backlog_bytes


def _subscribers(services: Services) -> int | None:
    # Not part of the Broadcaster port: an adapter that counts its subscribers (the in-process
    # one does) exposes `subscribers`; one that does not exports no SSE gauge.
    count = getattr(services.api.broadcaster, "subscribers", None)
    return count if isinstance(count, int) else None


def add_metrics(core: Core, services: Services) -> None:
    """Start the metrics listener with the process when `DECNET_METRICS_PORT` is set."""
    serve_metrics(core, partial(snapshot_of, services))
