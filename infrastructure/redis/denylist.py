"""The shared `TokenDenylist`: one Redis key per revoked token id, expiring with the token."""

from __future__ import annotations

import time
from collections.abc import Callable

from redis.asyncio import Redis

from infrastructure.redis.client import Reachability, RedisKeys

MARGIN_MS = 1_000
WHAT = "token denylist"


class RedisTokenDenylist:
    """Every replica sees a logout at once; Redis forgets the id once the token has expired."""

    def __init__(
        self,
        redis: Redis,
        keys: RedisKeys,
        clock: Callable[[], float] = time.time,
        reach: Reachability | None = None,
    ) -> None:
        self._redis = redis
        self._reach = reach or Reachability()
        self._keys = keys
        self._clock = clock

    async def deny(self, jti: str, expires_at: float) -> None:
        """Hold `jti` until `expires_at` (stored, and as the key's TTL plus a margin)."""
        ttl_ms = int((expires_at - self._clock()) * 1000)
        if ttl_ms <= 0:
            return  # already expired: every replica refuses it anyway
        with self._reach.call(WHAT):
            await self._redis.set(self._keys.denied(jti), repr(expires_at), px=ttl_ms + MARGIN_MS)

    async def denied(self, jti: str) -> bool:
        """True while `jti`'s token has not expired."""
        with self._reach.call(WHAT):
            raw = await self._redis.get(self._keys.denied(jti))
        return raw is not None and float(raw) > self._clock()
