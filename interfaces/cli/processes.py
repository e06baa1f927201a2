"""The split processes built by `bootstrap()`: `decnet api`, `projector`, `fleet` (one role
each; `decnet collector` is `interfaces.cli.collector`, built from the intake's slim root).

They share one PostgreSQL (`DECNET_DATABASE_URL`) and one Redis (`DECNET_REDIS_URL`); the
projector and the fleet each lead by advisory lock, so extra copies wait as hot standbys.
"""

from __future__ import annotations

import sys

import anyio
import structlog

from infrastructure.leadership import AdvisoryLeadership, LeadershipLostError
from infrastructure.settings import AppSettings
from interfaces.bootstrap import bootstrap
from interfaces.cli.lifecycle import Shutdown, require_shared
from interfaces.cli.serve import run_http
from interfaces.services import Role, Services, leader_lock
from interfaces.store_core import stop_store_waits

log = structlog.get_logger()
PROCESSES: dict[str, Role] = {
    "api": Role.API,
    "projector": Role.PROJECTOR,
    "fleet": Role.FLEET,
}


async def run_process(settings: AppSettings, command: str) -> int:
    """Run one role until SIGINT/SIGTERM; 1 when leadership was lost (restart as standby)."""
    require_shared(settings, command)
    shutdown = Shutdown()
    shutdown.install()
    role = PROCESSES[command]
    async with bootstrap(settings, frozenset({role})) as services:
        if role is Role.API:
            await run_http(services, shutdown)
            return 0
        lost = False
        try:
            await _run_worker_role(services, role, shutdown)
        except* LeadershipLostError as group:
            print(f"decnet: {group.exceptions[0]}", file=sys.stderr)
            lost = True
    return 1 if lost else 0


async def _run_worker_role(services: Services, role: Role, shutdown: Shutdown) -> None:
    async with anyio.create_task_group() as tg:
        tg.start_soon(_cancel_on_shutdown, shutdown, tg.cancel_scope)
        settings = services.core.settings
        assert settings.database_url is not None  # require_shared checked it
        tg.start_soon(_lead, services, leader_lock(settings.database_url, role))


async def _lead(services: Services, leadership: AdvisoryLeadership) -> None:
    """Wait for the lock, then work until cancelled or until the lock's session dies."""
    async with leadership.hold(), anyio.create_task_group() as tg:
        if services.runner is not None:
            tg.start_soon(services.runner.run)
        if services.controller is not None:
            tg.start_soon(services.controller.run)
        await services.core.start_workers(tg)
        log.info("decnet_leading", lock=leadership.name)
        try:
            await leadership.watch()
        finally:  # a stop, or the lock lost (the process exits 1 to start again as a standby)
            tg.cancel_scope.cancel()
            await stop_store_waits(services.core.store)


async def _cancel_on_shutdown(shutdown: Shutdown, scope: anyio.CancelScope) -> None:
    await shutdown.requested.wait()
    scope.cancel()
