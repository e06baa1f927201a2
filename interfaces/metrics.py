"""`/metrics` for Prometheus on its own port (`DECNET_METRICS_PORT`), unauthenticated.

Why a separate port and no token: Prometheus scrapes with static configuration, and a bearer
token in a scrape config is one more long-lived secret; the families hold counts and latencies,
no attacker data and no credentials. The port binds `DECNET_METRICS_HOST` (127.0.0.1 by
default): expose it only to the monitoring network. Unset `DECNET_METRICS_PORT`: no listener.

What a scrape shows is the snapshot its composition root hands `serve_metrics`: a collection's
counters alone in `decnet collector` (`interfaces.intake_bootstrap`), everything a process of
`bootstrap()` knows in the others (`interfaces.metrics_snapshot`).

Also here: the runtime wrapper counting failed applies, feeding `infrastructure.metrics.METRICS`
(HTTP requests are timed per route template by `interfaces.http.request_id`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from anyio.abc import TaskGroup
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4

from application.ports import ComponentHealth, DeckyRuntime, RuntimeReport
from domain.fleet.decky import DeckySpec
from infrastructure.metrics import METRICS, Snapshot
from interfaces.observations import Collection
from interfaces.store_core import StoreCore, Worker

log = structlog.get_logger()
SCRAPE_TIMEOUT_S = 10.0
Snapshotter = Callable[[], Awaitable[Snapshot]]


def collection_snapshot(collection: Collection) -> Snapshot:
    """The counters of a process's collection (listeners, journal, batcher) right now."""
    stats = collection.sink.stats
    return Snapshot(
        journaled=dict(stats.journaled_by_transport),
        dead_lettered=dict(stats.rejected_by_transport),
        accepted=stats.accepted,
        udp_overflow=stats.udp_overflow,
        udp_disk_full=stats.udp_disk_full,
        journal_disk_full=bool(collection.sink.disk_full),
        journal_backlog_bytes=collection.sink.lag_bytes,
    )


class MetricsServer:
    """A minimal HTTP/1.1 endpoint: `GET /metrics` renders, anything else is 404."""

    def __init__(self, snapshot: Snapshotter, host: str, port: int) -> None:
        self._snapshot = snapshot
        self._host = host
        self._port = port
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Bind; `port` is the bound port afterwards."""
        self._server = await asyncio.start_server(self._serve, self._host, self._port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("metrics_listening", host=self._host, port=self.port)

    async def stop(self) -> None:
        """Close the listener."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(SCRAPE_TIMEOUT_S):
                head = await reader.readuntil(b"\r\n\r\n")
                method, _, rest = head.decode("latin-1").partition(" ")
                path = rest.partition(" ")[0].partition("?")[0]
                if method == "GET" and path == "/metrics":
                    body = METRICS.render(await self._snapshot())
                    await _respond(writer, "200 OK", CONTENT_TYPE_PLAIN_0_0_4, body)
                else:
                    await _respond(writer, "404 Not Found", "text/plain", b"GET /metrics\n")
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass  # a scraper that went away or spoke nonsense: nothing to answer
        except Exception:  # a failing read (database away) must not end the listener
            log.exception("metrics_scrape_failed")
            await _respond(writer, "500 Internal Server Error", "text/plain", b"scrape failed\n")
        finally:
            writer.close()


async def _respond(writer: asyncio.StreamWriter, status: str, kind: str, body: bytes) -> None:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    writer.write(head.encode("latin-1") + body)
    await writer.drain()


def metrics_worker(snapshot: Snapshotter, host: str, port: int) -> Worker:
    """Serve `/metrics` for the process's lifetime."""

    async def start(tg: TaskGroup) -> None:
        server = MetricsServer(snapshot, host, port)
        await server.start()

        async def run() -> None:
            try:
                await asyncio.Event().wait()
            finally:
                await server.stop()

        tg.start_soon(run)

    return start


def serve_metrics(core: StoreCore, snapshot: Snapshotter) -> None:
    """Start the metrics listener with the process when `DECNET_METRICS_PORT` is set; each
    scrape renders the process's families with `snapshot()`'s values."""
    settings = core.settings
    if settings.metrics_port is not None:
        core.add_worker(metrics_worker(snapshot, settings.metrics_host, settings.metrics_port))


class CountingRuntime:
    """A `DeckyRuntime` that counts failed applies (raised or reported `failed`)."""

    def __init__(self, inner: DeckyRuntime) -> None:
        self._inner = inner
        self.name = inner.name

    async def apply(self, spec: DeckySpec) -> RuntimeReport:
        """The inner apply; a failure is counted, then passed on unchanged."""
        try:
            report = await self._inner.apply(spec)
        except Exception:
            METRICS.runtime_reconcile_errors.labels(self.name).inc()
            raise
        if report.status == "failed":
            METRICS.runtime_reconcile_errors.labels(self.name).inc()
        return report

    async def remove(self, name: str) -> None:
        """The inner remove; a failure is counted, then raised."""
        try:
            await self._inner.remove(name)
        except Exception:
            METRICS.runtime_reconcile_errors.labels(self.name).inc()
            raise

    async def report(self, name: str) -> RuntimeReport:
        """The inner report."""
        return await self._inner.report(name)

    async def health(self) -> ComponentHealth:
        """The inner health."""
        return await self._inner.health()

    async def close(self) -> None:
        """The inner close."""
        await self._inner.close()
