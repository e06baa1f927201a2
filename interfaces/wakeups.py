"""Wake-ups between processes through Redis (ADR 0017): a writer announces that it saved
events, a projector elsewhere follows the announcements instead of waiting for its next poll."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from anyio.abc import TaskGroup
from redis.asyncio import Redis

from infrastructure.redis.client import RedisKeys, open_redis
from infrastructure.redis.wakeups import WakeupPublisher, follow_wakeups
from interfaces.store_core import StoreCore


def announce_saves(core: StoreCore, redis: Redis, channel: str) -> None:
    """Writers in this process wake projectors in others as soon as they save events."""
    publisher = WakeupPublisher(redis, channel)
    core.store.on_saved(publisher.notify)

    async def start(tg: TaskGroup) -> None:
        tg.start_soon(publisher.run)

    core.add_worker(start)


@asynccontextmanager
async def announcing_saves(core: StoreCore, url: str, prefix: str) -> AsyncIterator[None]:
    """Redis at `url`, open for the block, on which this process's writers announce their saves
    (the intake processes, which share nothing else through Redis). Not checked at start: a
    collector started while Redis is down must still collect (the projector polls meanwhile)."""
    async with open_redis(url, check=False) as redis:
        announce_saves(core, redis, RedisKeys(prefix).wakeups)
        yield


def follow_saves(core: StoreCore, redis: Redis, channel: str, *wakes: Callable[[], None]) -> None:
    """Wake this process's projection runner when another process saved events."""
    core.add_follower(follow_wakeups, redis, channel, wakes=wakes)
