"""The shared `TicketStore`: a ticket is a Redis key holding its claims, spent with GETDEL."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

import msgspec
from redis.asyncio import Redis

from application.ports import TokenClaims
from infrastructure.redis.client import Reachability, RedisKeys


class _Stored(msgspec.Struct, array_like=True):
    claims: TokenClaims
    deadline: float


_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(_Stored)


class RedisTicketStore:
    """Any API replica may redeem a ticket another issued; Redis expires it (TTL) as well."""

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
        self._clock = clock  # wall time: replicas compare deadlines another process wrote

    async def issue(self, claims: TokenClaims, ttl_s: float) -> str:
        """A 256-bit random ticket, valid once until `ttl_s` seconds from now."""
        ticket = secrets.token_urlsafe(32)
        body = _ENCODER.encode(_Stored(claims, self._clock() + ttl_s))
        with self._reach.call("SSE tickets"):
            await self._redis.set(
                self._keys.ticket(ticket), body, px=max(1, int(ttl_s * 1000) + 1000)
            )
        return ticket

    async def consume(self, ticket: str) -> TokenClaims | None:
        """The claims if the ticket is live; GETDEL spends it atomically on every replica."""
        if not ticket:
            return None
        with self._reach.call("SSE tickets"):
            body: Any = await self._redis.getdel(self._keys.ticket(ticket))
        if body is None:
            return None
        stored = _DECODER.decode(body)
        return stored.claims if stored.deadline > self._clock() else None
