"""In-process broadcaster: one bounded queue per subscriber; a slow client is marked lagged."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Protocol, TypeVar

from application.ports import LiveUpdate

QUEUE_LIMIT = 256


S_contra = TypeVar("S_contra", contravariant=True)


class Owner(Protocol[S_contra]):
    """Whoever fans updates out to subscriptions, and forgets a closed one."""

    def discard(self, subscription: S_contra) -> None: ...


class QueuedSubscription:
    """A subscriber's bounded queue; overflow drops updates and sets `lagged` (never blocks
    others). Every broadcaster's subscriptions are these (the Redis one adds where it starts)."""

    def __init__(
        self,
        owner: Owner[Any],
        capacity: int = QUEUE_LIMIT,
        models: frozenset[str] | None = None,
        rows: bool = True,
    ) -> None:
        self._owner = owner
        self._queue: asyncio.Queue[LiveUpdate] = asyncio.Queue(capacity)
        self._models = models
        self.rows = rows
        self.lagged = False

    def offer(self, update: LiveUpdate) -> None:
        if self._models is not None and update.model not in self._models:
            return
        try:
            self._queue.put_nowait(update)
        except asyncio.QueueFull:
            self.lagged = True

    async def next(self, timeout: float) -> LiveUpdate | None:
        if not self._queue.empty():  # no timer to arm and cancel when an update is waiting
            return self._queue.get_nowait()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                return await self._queue.get()
        return None

    def close(self) -> None:
        self._owner.discard(self)


class MemoryBroadcaster:
    """Publishes on the event loop that calls `publish` (the projection runner's)."""

    def __init__(self) -> None:
        self._subscribers: set[QueuedSubscription] = set()

    @property
    def subscribers(self) -> int:
        """Connected live clients."""
        return len(self._subscribers)

    @property
    def listened(self) -> bool:
        return any(subscriber.rows for subscriber in self._subscribers)

    @property
    def unreachable(self) -> str | None:
        return None  # in this process: nothing to lose

    async def unreachable_after(self, wait_s: float) -> str | None:
        return None

    def publish(self, update: LiveUpdate) -> None:
        for subscriber in list(self._subscribers):
            subscriber.offer(update)

    def subscribe(
        self, models: frozenset[str] | None = None, rows: bool = True
    ) -> QueuedSubscription:
        subscription = QueuedSubscription(self, models=models, rows=rows)
        self._subscribers.add(subscription)
        return subscription

    def discard(self, subscription: QueuedSubscription) -> None:
        """Forget a subscriber (idempotent)."""
        self._subscribers.discard(subscription)
