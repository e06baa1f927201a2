"""What API processes share: the live broadcast (fed by the runner through `publish_commits`),
SSE tickets, the denylist and the throttle.

In process memory for `decnet serve` alone; through Redis (`DECNET_REDIS_URL`) as soon as more
than one process serves the same fleet, so every replica sees the same frames and logouts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.exceptions import RedisError

from application.identity.throttle import LoginThrottle
from application.ports import (
    Broadcaster,
    ComponentHealth,
    LiveUpdate,
    TicketStore,
    TokenDenylist,
)
from infrastructure.auth.memory_denylist import MemoryTokenDenylist
from infrastructure.auth.memory_throttle import MemoryLoginThrottle
from infrastructure.auth.memory_tickets import MemoryTicketStore
from infrastructure.broadcast.memory import MemoryBroadcaster
from infrastructure.redis.broadcaster import open_redis_broadcaster
from infrastructure.redis.client import Reachability, RedisKeys, open_redis
from infrastructure.redis.denylist import RedisTokenDenylist
from infrastructure.redis.throttle import RedisLoginThrottle
from infrastructure.redis.tickets import RedisTicketStore
from infrastructure.settings import AppSettings
from interfaces.store_core import StoreCore
from interfaces.wakeups import announce_saves, follow_saves
from projections.base import Effect, LogsCommitted
from projections.runner import Listener


@dataclass
class Live:
    """The shared state of one process; `redis` is None when it lives in this process."""

    broadcaster: Broadcaster
    tickets: TicketStore
    denylist: TokenDenylist
    throttle: LoginThrottle
    redis: Redis | None = None
    keys: RedisKeys = field(default_factory=RedisKeys)

    def announce_saves(self, core: StoreCore) -> None:
        """Writers in this process wake projectors in others as soon as they save events."""
        if self.redis is not None:
            announce_saves(core, self.redis, self.keys.wakeups)

    def follow_saves(self, core: StoreCore, *wakes: Callable[[], None]) -> None:
        """Wake this process's projection runner when another process saved events."""
        if self.redis is not None:
            follow_saves(core, self.redis, self.keys.wakeups, *wakes)

    async def probe(self) -> ComponentHealth:
        """The `redis` component of `/health`: not critical (reads and writes go on without
        it), but logins, tickets and live streams wait for it."""
        if self.redis is None:
            return ComponentHealth("disabled", "no DECNET_REDIS_URL: live state is in process")
        try:
            await self.redis.ping()
        except RedisError as e:
            return ComponentHealth(
                "failing",
                f"unreachable ({type(e).__name__}): logins, SSE tickets and /stream answer 503",
            )
        return ComponentHealth("ok", "shared live state reachable")


def publish_commits(broadcaster: Broadcaster) -> Listener:
    """A runner listener handing on every live commit: logs with their rows, others as
    "model M projected up to P" (history streams and other processes' read-your-writes)."""

    def publish(name: str, position: int, effect: Effect) -> None:
        if name == "logs" and isinstance(effect, LogsCommitted):
            # The rows are built on first use: not at all when nobody could receive them.
            rows = effect.rows if broadcaster.listened else ()
            broadcaster.publish(LiveUpdate(position, rows, effect.purged))
        else:
            broadcaster.publish(LiveUpdate(position, model=name))

    return publish


@asynccontextmanager
async def open_live(settings: AppSettings) -> AsyncIterator[Live]:
    """Redis-backed when `DECNET_REDIS_URL` is set, else in this process."""
    if not settings.redis_url:
        yield Live(
            MemoryBroadcaster(), MemoryTicketStore(), MemoryTokenDenylist(), MemoryLoginThrottle()
        )
        return
    keys = RedisKeys(settings.redis_prefix)
    reach = Reachability()  # one outage seen by one adapter is seen by all
    async with (
        open_redis(settings.redis_url, wait_s=settings.redis_wait_s) as redis,
        open_redis_broadcaster(redis, keys.live_stream) as broadcaster,
    ):
        yield Live(
            broadcaster,
            RedisTicketStore(redis, keys, reach=reach),
            RedisTokenDenylist(redis, keys, reach=reach),
            RedisLoginThrottle(redis, keys, reach=reach),
            redis=redis,
            keys=keys,
        )
