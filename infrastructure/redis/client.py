"""One Redis client per process and the key names every adapter derives from one prefix."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

import anyio
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ConstantBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from application.errors import UnavailableError
from infrastructure.start_wait import StartWait, first_line, service_address

DEFAULT_PREFIX = "decnet:"
# redis-py's defaults wait 5 s for an answer and retry 10 times: a Redis that stopped answering
# (SIGSTOP, a dropped network) held a request for 5 s or more. Here a try waits 2 s and is not
# repeated after a timeout (a connection and its handshake retry apart, so retries multiply);
# a connection error is retried once, so a pooled connection that a restarted Redis closed is
# replaced at once. A request that needs Redis gets its 503 within about 2 s. Blocking reads
# wait 0.5 s (`XREAD BLOCK`); pub/sub waits without a timeout of its own.
COMMAND_TIMEOUT_S = 2.0
RETRIES = 1
HOLD_S = 1.0  # after a call found Redis unreachable, calls fail at once for this long
UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


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


def redis_client(url: str) -> Redis:
    """A client on `url` that gives up on an unreachable Redis within seconds (not connected
    yet: the first command connects)."""
    return Redis.from_url(
        url,
        decode_responses=False,
        health_check_interval=30,
        socket_timeout=COMMAND_TIMEOUT_S,
        socket_connect_timeout=COMMAND_TIMEOUT_S,
        retry=Retry(ConstantBackoff(0.05), RETRIES, supported_errors=(RedisConnectionError,)),
    )


class Reachability:
    """Whether Redis answered lately, shared by the adapters of one client.

    Each authenticated request asks the denylist: on a silent Redis every one of them would wait
    out the timeout (and hold a connection attempt). After a call finds Redis unreachable, the
    calls of the next `hold_s` fail at once; the first after it tries again.
    """

    def __init__(self, hold_s: float = HOLD_S, clock: Callable[[], float] = time.monotonic):
        self._hold_s = hold_s
        self._clock = clock
        self._held_until = float("-inf")

    @contextmanager
    def call(self, what: str) -> Iterator[None]:
        """Turn "Redis does not answer" into `UnavailableError` (503) naming what is missing."""
        if self._clock() < self._held_until:
            raise UnavailableError(f"{what} unavailable: Redis unreachable")
        try:
            yield
        except UNREACHABLE as e:
            self._held_until = self._clock() + self._hold_s
            raise UnavailableError(f"{what} unavailable: Redis unreachable") from e


@asynccontextmanager
async def open_redis(url: str, check: bool = True, wait_s: float = 0.0) -> AsyncIterator[Redis]:
    """A client, checked with PING unless `check` is off (for a process that works without
    Redis and must start while it is down), closed on exit. The check retries for `wait_s` (a
    Redis starting beside us), then fails with a one-line `ConfigError`, not a traceback."""
    client = redis_client(url)
    try:
        if check:
            await answering(client, url, wait_s)
        yield client
    finally:
        await client.aclose()


async def answering(client: Redis, url: str, wait_s: float) -> None:
    """Return once `client` answers PING, retrying with backoff for `wait_s` seconds."""
    wait = StartWait("Redis", service_address(url, 6379), wait_s, "redis_unreachable")
    while True:
        try:
            await client.ping()
            return
        except UNREACHABLE as e:
            await anyio.sleep(wait.failed(first_line(e)))
