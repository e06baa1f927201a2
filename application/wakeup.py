"""The loop shape of a background worker that polls but can be woken from any thread."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable
from typing import NoReturn

import anyio
import structlog

log = structlog.get_logger()


class Wakeup:
    """A thread-safe nudge ("the store changed, look now") for a loop that otherwise polls."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self) -> None:
        """Attach to the running loop; earlier wakes are dropped (the first pass looks anyway)."""
        self._loop = asyncio.get_running_loop()

    def wake(self, *_: object) -> None:
        """Thread-safe: end the current wait now."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self, timeout_s: float) -> None:
        """Until woken or `timeout_s` passed."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._event.wait()
        self._event.clear()


def stopping() -> bool:
    """Whether the worker calling is being cancelled (its process is stopping). A step that
    fails then failed because of the stop (the store's pool is closed under worker threads still
    waiting for a connection: `stop_store_waits`): not worth an error in the log."""
    return anyio.current_effective_deadline() == -math.inf


async def repeat(
    step: Callable[[], Awaitable[None]], wakeup: Wakeup, every_s: float, failure: str
) -> NoReturn:
    """Run `step` now and then after every wake or `every_s`; a failure is logged, never fatal
    (an outage of the store or the engine must not end the worker for good)."""
    while True:
        try:
            await step()
        except Exception:
            if not stopping():
                log.exception(failure)
        await wakeup.wait(every_s)
