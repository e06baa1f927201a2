"""One Redis client per process and the key names every adapter derives from one prefix."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis

DEFAULT_PREFIX = "decnet:"


@dataclass(frozen=True, slots=True)
class RedisKeys:
    """Key names under one prefix (tests use a unique prefix per test)."""

    prefix: str = DEFAULT_PREFIX

    @property
    def live_stream(self) -> str:
        """The stream of projection commits the API replicas fan out."""
        return f"{self.prefix}live"

    @property
    def wakeups(self) -> str:
        """The pub/sub channel on which writers say new events exist."""
        return f"{self.prefix}wake"

    def ticket(self, ticket: str) -> str:
        """One SSE ticket."""
        return f"{self.prefix}ticket:{ticket}"

    def denied(self, jti: str) -> str:
        """One revoked token id."""
        return f"{self.prefix}denied:{jti}"

    def throttle(self, key: str) -> str:
        """One login-throttle window (per IP or per username)."""
        return f"{self.prefix}throttle:{key}"


@asynccontextmanager
async def open_redis(url: str) -> AsyncIterator[Redis]:
    """A connected client (checked with PING), closed on exit."""
    client = Redis.from_url(url, decode_responses=False, health_check_interval=30)
    try:
        await client.ping()
        yield client
    finally:
        await client.aclose()
