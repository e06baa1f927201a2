"""`decnet serve`: the API and the projection runner in one process, with clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from types import FrameType

import anyio
import structlog
import uvicorn

from infrastructure.auth.secret_file import load_or_create_secret
from infrastructure.settings import AppSettings
from interfaces.bootstrap import bootstrap
from interfaces.http.app import create_app
from interfaces.services import Services
from interfaces.wiring import start_workers

log = structlog.get_logger()
GRACEFUL_SHUTDOWN_S = 5


class _Server(uvicorn.Server):
    """uvicorn re-raises the captured signal after serving, which would kill the process
    before the embedded PostgreSQL is stopped; we own signal handling instead."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Shutdown:
    """SIGINT/SIGTERM: ask the server to stop (a second SIGINT forces it)."""

    def __init__(self) -> None:
        self.requested = asyncio.Event()
        self.server: _Server | None = None

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, sig: int, _frame: FrameType | None) -> None:
        loop = asyncio.get_event_loop_policy().get_event_loop()
        loop.call_soon_threadsafe(self.requested.set)
        if self.server is not None:
            self.server.force_exit = self.server.should_exit and sig == signal.SIGINT
            self.server.should_exit = True


async def serve(settings: AppSettings) -> None:
    """Run until SIGINT/SIGTERM; everything bootstrap started is stopped on the way out."""
    shutdown = Shutdown()
    shutdown.install()
    if settings.jwt_secret is None:
        # Made (or read) before serving, so a bad data dir fails the start, not a login.
        await anyio.to_thread.run_sync(load_or_create_secret, settings.data_dir)
    async with bootstrap(settings) as services:
        if shutdown.requested.is_set():
            return
        await run_http(services, shutdown)
    log.info("decnet_stopped")


async def run_http(services: Services, shutdown: Shutdown) -> None:
    """Serve HTTP with whatever runner, controller and workers the process's roles built."""
    settings = services.core.settings
    config = uvicorn.Config(
        create_app(services),
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        lifespan="off",
    )
    server = _Server(config)
    shutdown.server = server
    async with anyio.create_task_group() as tg:
        if services.runner is not None:
            tg.start_soon(services.runner.run)
        if services.controller is not None:
            tg.start_soon(services.controller.run)
        await start_workers(services, tg)
        tg.start_soon(_end_streams_on_shutdown, services, shutdown)
        log.info("decnet_serving", host=settings.api_host, port=settings.api_port)
        await server.serve()
        tg.cancel_scope.cancel()


async def _end_streams_on_shutdown(services: Services, shutdown: Shutdown) -> None:
    """Open SSE responses end as soon as a stop is asked, before uvicorn's graceful timeout
    would cancel them mid-response (an "Exception in ASGI application" in the log)."""
    await shutdown.requested.wait()
    services.api.stopping.set()
