"""The login throttle in Redis: every API replica counts the same attempts and failures.

Per key, a sorted set of failure times and one of attempts in flight (scored by start time).
Two Lua scripts check and count atomically, as the in-process throttle does without awaiting.
An attempt left in flight by a replica that died stops counting after `STALE_S`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from uuid import uuid4

from redis.asyncio import Redis

from application.errors import RateLimitedError
from application.identity.throttle import LoginReservation, ThrottlePolicy, username_key
from infrastructure.auth.memory_throttle import REFUSAL
from infrastructure.redis.client import Reachability, RedisKeys

STALE_S = 60.0  # far longer than one verification takes
# Without it no login is admitted: a throttle that cannot count would let guessing run free.
WHAT = "login throttle"

# KEYS: ip fail/flight, ip-user fail/flight, user fail/flight.
# ARGV: now, window, per_ip, per_ip_user, attempt id, stale after, ttl ms.
_RESERVE = """
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local limits = {tonumber(ARGV[3]), tonumber(ARGV[4])}
local stale, ttl = tonumber(ARGV[6]), tonumber(ARGV[7])
for i = 0, 2 do
  redis.call('ZREMRANGEBYSCORE', KEYS[2*i+1], '-inf', now - window)
  redis.call('ZREMRANGEBYSCORE', KEYS[2*i+2], '-inf', now - stale)
end
for i = 0, 1 do
  local failures = redis.call('ZCARD', KEYS[2*i+1])
  local limit = limits[i+1]
  if failures + redis.call('ZCARD', KEYS[2*i+2]) >= limit then
    local retry = 1
    if failures >= limit then
      local oldest = redis.call('ZRANGE', KEYS[2*i+1], failures - limit, failures - limit,
                                'WITHSCORES')
      retry = math.max(1, math.ceil(tonumber(oldest[2]) + window - now))
    end
    return {0, retry}
  end
end
for i = 0, 2 do
  redis.call('ZADD', KEYS[2*i+2], now, ARGV[5])
  redis.call('PEXPIRE', KEYS[2*i+2], ttl)
end
return {1, redis.call('ZCARD', KEYS[5])}
"""

# Same KEYS; ARGV: attempt id, failed (1/0), now, ttl ms.
_SETTLE = """
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then
  return 0
end
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[6], ARGV[1])
if ARGV[2] == '1' then
  for i = 0, 2 do
    redis.call('ZADD', KEYS[2*i+1], tonumber(ARGV[3]), ARGV[1])
    redis.call('PEXPIRE', KEYS[2*i+1], tonumber(ARGV[4]))
  end
end
return 1
"""


class RedisLoginThrottle:
    """`LoginThrottle` shared by every replica through one Redis."""

    def __init__(
        self,
        redis: Redis,
        keys: RedisKeys,
        policy: ThrottlePolicy | None = None,
        clock: Callable[[], float] = time.time,
        reach: Reachability | None = None,
    ) -> None:
        self._redis = redis
        self._reach = reach or Reachability()
        self._keys = keys
        self._policy = policy or ThrottlePolicy()
        self._clock = clock  # wall time: replicas compare times another process wrote
        self._reserve: Any = redis.register_script(_RESERVE)
        self._settle: Any = redis.register_script(_SETTLE)

    async def reserve(self, client_ip: str, username: str) -> LoginReservation:
        policy = self._policy
        attempt = uuid4().hex
        with self._reach.call(WHAT):
            admitted, value = await self._reserve(
                keys=self._key_list(client_ip, username),
                args=[
                    repr(self._clock()),
                    repr(policy.window_s),
                    policy.per_ip,
                    policy.per_ip_user,
                    attempt,
                    repr(STALE_S),
                    self._ttl_ms(),
                ],
            )
        if not admitted:
            raise RateLimitedError(REFUSAL, int(value))
        return LoginReservation(attempt, client_ip, username, policy.user_delay(int(value)))

    async def settle(self, reservation: LoginReservation, failed: bool) -> None:
        with self._reach.call(WHAT):
            await self._settle(
                keys=self._key_list(reservation.client_ip, reservation.username),
                args=[
                    reservation.attempt_id,
                    "1" if failed else "0",
                    repr(self._clock()),
                    self._ttl_ms(),
                ],
            )

    def _key_list(self, client_ip: str, username: str) -> list[str]:
        name = username_key(username)
        keys: list[str] = []
        for key in (f"ip:{client_ip}", f"ip-user:{client_ip}\x00{name}", f"user:{name}"):
            keys += [self._keys.throttle(f"fail:{key}"), self._keys.throttle(f"flight:{key}")]
        return keys

    def _ttl_ms(self) -> int:
        return int((max(self._policy.window_s, STALE_S) + 1) * 1000)
