"""Starting a process's background workers in its task group."""

from __future__ import annotations

from anyio.abc import TaskGroup

from interfaces.services import Services


async def start_workers(services: Services, tg: TaskGroup) -> None:
    """Start every worker the process's roles registered."""
    for start in services.core.workers:
        await start(tg)
