"""Running a synchronous command handler from a route and waiting until reads can see it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

import anyio.to_thread

from interfaces.services import Services

T = TypeVar("T")


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """The event store is synchronous: run its work off the event loop."""
    return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs))


async def settle(services: Services, position: int, names: Sequence[str] | None = None) -> None:
    """Read-your-writes: wait until the named read models have applied `position`."""
    if position:
        await services.api.progress.wait_for(position, names)
