"""In-process broadcaster: one bounded queue per subscriber; a slow client is marked lagged."""

from __future__ import annotations

import asyncio
import contextlib

from application.ports import LiveUpdate

QUEUE_LIMIT = 256


class MemorySubscription:
    """A subscriber's queue; overflow drops updates and sets `lagged` (never blocks others)."""

    def __init__(self, owner: MemoryBroadcaster) -> None:
        self._owner = owner
        self._queue: asyncio.Queue[LiveUpdate] = asyncio.Queue(QUEUE_LIMIT)
        self.lagged = False

    def offer(self, update: LiveUpdate) -> None:
        try:
            self._queue.put_nowait(update)
        except asyncio.QueueFull:
            self.lagged = True

    async def next(self, timeout: float) -> LiveUpdate | None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                return await self._queue.get()
        return None

    def close(self) -> None:
        self._owner.discard(self)


class MemoryBroadcaster:
    """Publishes on the event loop that calls `publish` (the projection runner's)."""

    def __init__(self) -> None:
        self._subscribers: set[MemorySubscription] = set()

    @property
    def subscribers(self) -> int:
        """Connected live clients."""
        return len(self._subscribers)

    def publish(self, update: LiveUpdate) -> None:
        for subscriber in list(self._subscribers):
            subscriber.offer(update)

    def subscribe(self) -> MemorySubscription:
        subscription = MemorySubscription(self)
        self._subscribers.add(subscription)
        return subscription

    def discard(self, subscription: MemorySubscription) -> None:
        """Forget a subscriber (idempotent)."""
        self._subscribers.discard(subscription)
