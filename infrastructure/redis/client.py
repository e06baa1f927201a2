"""One Redis client per process and the key names every adapter derives from one prefix."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ConstantBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from application.errors import UnavailableError

DEFAULT_PREFIX = "decnet:"
# redis-py's defaults wait 5 s for an answer and retry 10 times: a Redis that stopped answering
# (SIGSTOP, a dropped network) held a request for 5 s or more. Here a try waits 2 s and is not
# repeated after a timeout (a connection and its handshake retry apart, so retries multiply);
# a connection error is retried once, so a pooled connection that a restarted Redis closed is
# replaced at once. A request that needs Redis gets its 503 within about 2 s. Blocking reads
# wait 0.5 s (`XREAD BLOCK`); pub/sub waits without a timeout of its own.
COMMAND_TIMEOUT_S = 2.0
RETRIES = 1
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


@contextmanager
def shared_state(what: str) -> Iterator[None]:
    """Turn "Redis does not answer" into `UnavailableError` (503) naming what is missing."""
    try:
        yield
    except UNREACHABLE as e:
        raise UnavailableError(f"{what} unavailable: Redis unreachable") from e


@asynccontextmanager
async def open_redis(url: str) -> AsyncIterator[Redis]:
    """A connected client (checked with PING), closed on exit."""
    client = redis_client(url)
    try:
        await client.ping()
        yield client
    finally:
        await client.aclose()
