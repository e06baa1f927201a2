"""Prometheus metrics of one decnet-es process: event-driven families and scrape-time snapshots.

Two kinds of family:
- counted where the thing happens (HTTP requests, logins, ingest batches, emulator sessions,
  runtime failures): the `METRICS` families below, incremented by the code that sees the event;
- read at scrape time from state the process already keeps (collector counters, journal
  backlog, projection positions, SSE clients): `Snapshot`, filled by the scrape handler just
  before rendering, so nothing on the hot ingest path pays for metrics.

`METRICS` is one per process (module level, as prometheus-client's families are meant to be)
with its own registry, so nothing leaks in from the library's default registry.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

NS = "decnet"


@dataclass(slots=True)
class ModelPosition:
    """One read model's place in the event store."""

    position: int
    lag_events: int
    lag_seconds: float


@dataclass(slots=True)
class Snapshot:
    """State read at scrape time; absent parts (a process without that role) export nothing."""

    journaled: Mapping[str, int] = field(default_factory=dict)  # by transport
    dead_lettered: Mapping[str, int] = field(default_factory=dict)  # by transport
    accepted: int | None = None  # journaled and durable (the collector's `accepted`)
    udp_overflow: int | None = None
    udp_disk_full: int | None = None
    journal_disk_full: bool | None = None
    journal_backlog_bytes: int | None = None
    models: Mapping[str, ModelPosition] = field(default_factory=dict)
    sse_clients: int | None = None


class SnapshotCollector(Collector):
    """Renders the latest `Snapshot` (set by the scrape handler before each render)."""

    def __init__(self) -> None:
        self.snapshot = Snapshot()

    def collect(self) -> Iterator[Metric]:
        """The snapshot's families (prometheus-client calls this on each render)."""
        s = self.snapshot
        yield _by_transport(
            "records_journaled",
            "Records written to the collector's journal, by transport (udp, tcp, emulator)",
            s.journaled,
        )
        yield _by_transport(
            "records_dead_lettered",
            "Lines the collector could not parse, by transport",
            s.dead_lettered,
        )
        if s.accepted is not None:
            yield CounterMetricFamily(
                f"{NS}_records_accepted", "Records journaled and durable", value=s.accepted
            )
        if s.udp_overflow is not None:
            yield CounterMetricFamily(
                f"{NS}_records_udp_overflow",
                "UDP records counted instead of journaled (store far behind)",
                value=s.udp_overflow,
            )
        if s.udp_disk_full is not None:
            yield CounterMetricFamily(
                f"{NS}_records_udp_disk_full",
                "UDP records dropped because the journal's disk was full",
                value=s.udp_disk_full,
            )
        if s.journal_disk_full is not None:
            yield GaugeMetricFamily(
                f"{NS}_journal_disk_full",
                "1 while the journal's disk refuses writes (TCP senders and emulators wait)",
                value=int(s.journal_disk_full),
            )
        if s.journal_backlog_bytes is not None:
            yield GaugeMetricFamily(
                f"{NS}_journal_backlog_bytes",
                "Journal bytes not yet appended to the event store",
                value=s.journal_backlog_bytes,
            )
        yield from _model_families(s.models)
        if s.sse_clients is not None:
            yield GaugeMetricFamily(
                f"{NS}_sse_clients", "Open /stream subscriptions", value=s.sse_clients
            )


def _by_transport(name: str, documentation: str, counts: Mapping[str, int]) -> Metric:
    family = CounterMetricFamily(f"{NS}_{name}", documentation, labels=["transport"])
    for transport, n in sorted(counts.items()):
        family.add_metric([transport], n)
    return family


def _model_families(models: Mapping[str, ModelPosition]) -> Iterator[Metric]:
    position = GaugeMetricFamily(
        f"{NS}_projection_position", "Last event position applied, per read model", labels=["model"]
    )
    lag_events = GaugeMetricFamily(
        f"{NS}_projection_lag_events", "Events behind the store's head", labels=["model"]
    )
    lag_seconds = GaugeMetricFamily(
        f"{NS}_projection_lag_seconds",
        "Age of the oldest event not yet applied (0 when caught up)",
        labels=["model"],
    )
    for name, m in sorted(models.items()):
        position.add_metric([name], m.position)
        lag_events.add_metric([name], m.lag_events)
        lag_seconds.add_metric([name], m.lag_seconds)
    yield from (position, lag_events, lag_seconds)


class Metrics:
    """Every family of the process, on its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.snapshot = SnapshotCollector()
        r.register(self.snapshot)
        self.batch_records = Histogram(
            f"{NS}_ingest_batch_records",
            "Records per event-store append of the batcher",
            buckets=(1, 5, 10, 50, 100, 250, 500, 1000),
            registry=r,
        )
        self.append_seconds = Histogram(
            f"{NS}_ingest_append_seconds",
            "Duration of one successful batch append to the event store",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )
        self.http_seconds = Histogram(
            f"{NS}_http_request_duration_seconds",
            "HTTP request latency by route template, method and status",
            ["route", "method", "status"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.login_failures = Counter(
            f"{NS}_login_failures", "Logins refused for a wrong user or password", registry=r
        )
        self.logins_throttled = Counter(
            f"{NS}_logins_throttled", "Logins refused by the login throttle", registry=r
        )
        self.emulator_sessions = Counter(
            f"{NS}_emulator_sessions",
            "Connections accepted by emulators in this process, by service",
            ["service"],
            registry=r,
        )
        self.runtime_reconcile_errors = Counter(
            f"{NS}_runtime_reconcile_errors",
            "Decky applies that raised or reported failed",
            ["runtime"],
            registry=r,
        )

    def render(self, snapshot: Snapshot) -> bytes:
        """The text exposition with `snapshot` as the scrape-time state."""
        self.snapshot.snapshot = snapshot
        return generate_latest(self.registry)


METRICS = Metrics()
