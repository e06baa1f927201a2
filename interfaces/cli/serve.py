"""`decnet serve`: the API, the projections and the fleet in one process, the syslog intake in
its child process (`interfaces.intake`), with clean shutdown of both."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import anyio
import structlog
import uvicorn

from infrastructure.auth.secret_file import load_or_create_secret
from infrastructure.leadership import LeadershipTakenError
from infrastructure.settings import AppSettings
from interfaces.bootstrap import bootstrap
from interfaces.cli.lifecycle import Shutdown
from interfaces.http.app import create_app
from interfaces.http.connection import request_deadline_protocol
from interfaces.intake import IntakeProcess, IntakeStartError
from interfaces.services import SERVE_ROLES, Services
from interfaces.store_core import stop_store_waits

log = structlog.get_logger()
GRACEFUL_SHUTDOWN_S = 5
SIGNAL_GRACE_S = 1.0


class _Server(uvicorn.Server):
    """uvicorn re-raises the captured signal after serving, which would kill the process
    before the embedded PostgreSQL is stopped; we own signal handling instead."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(settings: AppSettings) -> int:
    """Run until SIGINT/SIGTERM (0), or until the intake process dies or another process leads
    the database (1); everything bootstrap and the intake started is stopped on the way out, the
    intake before the database."""
    shutdown = Shutdown()
    shutdown.install()
    if settings.jwt_secret is None:
        # Made (or read) before serving, so a bad data dir fails the start, not a login.
        await anyio.to_thread.run_sync(load_or_create_secret, settings.data_dir)
    status = 0
    try:
        async with bootstrap(settings, SERVE_ROLES) as services:
            status = await _serve_with_intake(services, shutdown)
    except LeadershipTakenError as e:
        print(f"decnet: {e}", file=sys.stderr)
        status = 1
    log.info("decnet_stopped", status=status)
    return status


async def _serve_with_intake(services: Services, shutdown: Shutdown) -> int:
    """The intake process beside the HTTP server; stopped before bootstrap tears down."""
    intake = IntakeProcess(services.core.database_url)
    try:
        await intake.start()
        intake.wire(services)
        if shutdown.requested.is_set():
            return 0
        return await _serve_beside(intake, services, shutdown)
    except IntakeStartError as e:
        print(f"decnet: {e}", file=sys.stderr)
        return 1
    finally:
        with anyio.CancelScope(shield=True):
            await intake.stop()


async def _serve_beside(intake: IntakeProcess, services: Services, shutdown: Shutdown) -> int:
    """Serve HTTP while the intake runs and the leader locks are held; 1 if the intake exited
    before a stop was asked or another process took a lock (after a database restart)."""
    died: list[int] = []

    async def watch() -> None:
        code = await intake.follow()
        if code == 0:  # stopped by a signal: a Ctrl-C reaches both processes at once
            with anyio.move_on_after(SIGNAL_GRACE_S):
                await shutdown.requested.wait()
        if not shutdown.requested.is_set():
            log.error("decnet_intake_died", status=code, pid=intake.pid)
            died.append(code)
            shutdown.request()

    async def keep_leading() -> None:
        try:
            async with anyio.create_task_group() as tg:
                for lead in services.leads:
                    tg.start_soon(lead.keep)
        except* LeadershipTakenError as group:
            print(f"decnet: {group.exceptions[0]}", file=sys.stderr)
            log.error("decnet_leadership_taken", error=str(group.exceptions[0]))
            died.append(1)
            shutdown.request()

    async with anyio.create_task_group() as tg:
        tg.start_soon(watch)
        tg.start_soon(keep_leading)
        await run_http(services, shutdown)
        tg.cancel_scope.cancel()
    return 1 if died else 0


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
        http=request_deadline_protocol(settings.http_request_timeout_s),
    )
    server = _Server(config)
    shutdown.server = server
    async with anyio.create_task_group() as tg:
        if services.runner is not None:
            tg.start_soon(services.runner.run)
        if services.controller is not None:
            tg.start_soon(services.controller.run)
        await services.core.start_workers(tg)
        tg.start_soon(_end_streams_on_shutdown, services, shutdown)
        log.info("decnet_serving", host=settings.api_host, port=settings.api_port)
        await server.serve()
        tg.cancel_scope.cancel()
        await stop_store_waits(services.core.store)


async def _end_streams_on_shutdown(services: Services, shutdown: Shutdown) -> None:
    """Open SSE responses end as soon as a stop is asked, before uvicorn's graceful timeout
    would cancel them mid-response (an "Exception in ASGI application" in the log)."""
    await shutdown.requested.wait()
    services.api.stopping.set()
