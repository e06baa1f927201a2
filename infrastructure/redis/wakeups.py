"""New events exist: writers (api, collector, fleet) say so; the projector wakes at once.

Without this the projector in another process finds new events at its next poll (1 s).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = structlog.get_logger()
RETRY_S = 0.5


class WakeupPublisher:
    """`notify` is thread-safe (the store calls it from worker threads); bursts coalesce."""

    def __init__(self, redis: Redis, channel: str) -> None:
        self._redis = redis
        self._channel = channel
        self._pending = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def notify(self, _position: int = 0) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._pending.set)

    async def run(self) -> None:
        """Publish one wake-up per burst of saves until cancelled."""
        self._loop = asyncio.get_running_loop()
        while True:
            await self._pending.wait()
            self._pending.clear()
            try:
                await self._redis.publish(self._channel, b"1")
            except RedisError as e:  # the projector still polls; only latency suffers
                log.warning("wakeup_publish_failed", error=str(e))
                await asyncio.sleep(RETRY_S)


async def follow_wakeups(redis: Redis, channel: str, wake: Callable[[], None]) -> None:
    """Call `wake()` for every wake-up published on `channel` until cancelled."""
    while True:
        try:
            async with redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                await pubsub.subscribe(channel)
                async for _message in pubsub.listen():
                    wake()
        except RedisError as e:
            log.warning("wakeup_follow_failed", error=str(e))
            await asyncio.sleep(RETRY_S)
