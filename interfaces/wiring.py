"""Background workers started next to the API (fleet, observations) — one place to add them."""

from __future__ import annotations

from anyio.abc import TaskGroup

from interfaces.container import Container


async def start_workers(container: Container, tg: TaskGroup) -> None:
    """Start every background worker this build has."""
    for start in container.extras.get("workers", []):
        await start(tg)
