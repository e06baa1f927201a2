"""The Redis adapters when Redis is gone: a clear `UnavailableError` within seconds, never a hang.

Two outages, made with plain sockets on loopback (no Redis needed): a port nobody listens on
(Redis killed: connections are refused) and a listener that accepts and never answers (Redis
stopped with SIGSTOP, or a network that drops packets: the kernel's backlog takes the
connection, nothing replies). One test, of Redis coming back, puts a proxy it cuts between the
broadcaster and the machine's Redis (`DECNET_TEST_REDIS_URL`).
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from urllib.parse import urlsplit

import anyio
import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from application.errors import UnavailableError
from application.ports import LiveUpdate, TokenClaims
from infrastructure.redis.broadcaster import OUTBOX_BYTES, RedisBroadcaster
from infrastructure.redis.client import (
    COMMAND_TIMEOUT_S,
    HOLD_S,
    Reachability,
    RedisKeys,
    redis_client,
)
from infrastructure.redis.denylist import RedisTokenDenylist
from infrastructure.redis.throttle import RedisLoginThrottle
from infrastructure.redis.tickets import RedisTicketStore
from tests.api.harness import free_port
from tests.api.pg_proxy import pg_proxy

CLAIMS = TokenClaims("u-1", "alice", "jti-1", time.time(), time.time() + 600)
# One command's timeout and a margin: what "within seconds" means here (redis-py's defaults
# took 5 s to give up on a silent Redis, and retries of the handshake made it 8 s).
BOUND_S = COMMAND_TIMEOUT_S + 1.5


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["refused", "silent"])
def dead_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A Redis URL that refuses connections, or one whose listener never answers."""
    if request.param == "refused":
        yield f"redis://127.0.0.1:{free_port()}/0"
        return
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"


@pytest.fixture
async def dead_redis(dead_url: str) -> AsyncIterator[Redis]:
    client = redis_client(dead_url)
    try:
        yield client
    finally:
        await client.aclose()


CALLS = ["denylist.denied", "denylist.deny", "tickets.issue", "tickets.consume", "throttle.reserve"]


def _calls(redis: Redis) -> dict[str, Callable[[], Awaitable[object]]]:
    keys = RedisKeys("decnet-test-unreachable:")
    denylist = RedisTokenDenylist(redis, keys)
    tickets = RedisTicketStore(redis, keys)
    throttle = RedisLoginThrottle(redis, keys)
    return {
        "denylist.denied": lambda: denylist.denied("jti-1"),
        "denylist.deny": lambda: denylist.deny("jti-1", time.time() + 60),
        "tickets.issue": lambda: tickets.issue(CLAIMS, 30.0),
        "tickets.consume": lambda: tickets.consume("some-ticket"),
        "throttle.reserve": lambda: throttle.reserve("127.0.0.1", "alice"),
    }


@pytest.mark.anyio
@pytest.mark.parametrize("call", CALLS)
async def test_an_unreachable_redis_is_a_prompt_unavailable_error(
    dead_redis: Redis, call: str
) -> None:
    """Every shared-state call on a dead or silent Redis raises `UnavailableError` (a 503),
    naming what is unavailable, within a few seconds."""
    began = time.monotonic()
    with pytest.raises(UnavailableError, match="Redis"):
        await _calls(dead_redis)[call]()
    assert time.monotonic() - began < BOUND_S


@pytest.fixture
async def silent_redis() -> AsyncIterator[Redis]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        client = redis_client(f"redis://127.0.0.1:{listener.getsockname()[1]}/0")
        try:
            yield client
        finally:
            await client.aclose()


@pytest.mark.anyio
async def test_once_redis_is_found_silent_the_next_calls_fail_at_once(silent_redis: Redis) -> None:
    """One call waits out the timeout; the calls after it, through any adapter sharing its
    `Reachability`, fail at once for `HOLD_S` (every read of a silent Redis would otherwise pay
    the timeout: each authenticated request asks the denylist)."""
    keys = RedisKeys("decnet-test-unreachable:")
    reach = Reachability()
    denylist = RedisTokenDenylist(silent_redis, keys, reach=reach)
    tickets = RedisTicketStore(silent_redis, keys, reach=reach)
    with pytest.raises(UnavailableError):
        await denylist.denied("jti-1")
    began = time.monotonic()
    for _ in range(5):
        with pytest.raises(UnavailableError, match="token denylist"):
            await denylist.denied("jti-1")
        with pytest.raises(UnavailableError, match="SSE tickets"):
            await tickets.consume("some-ticket")
    assert time.monotonic() - began < 0.2


def test_a_held_failure_is_tried_again_after_the_hold() -> None:
    """Past `HOLD_S` the next call goes to Redis again (the one that finds it back clears it)."""
    now = [100.0]
    reach = Reachability(clock=lambda: now[0])
    with pytest.raises(UnavailableError), reach.call("token denylist"):
        raise RedisConnectionError("refused")
    with pytest.raises(UnavailableError), reach.call("token denylist"):
        pytest.fail("tried while held")
    now[0] += HOLD_S
    with reach.call("token denylist"):
        pass
    with reach.call("token denylist"):
        pass


@pytest.mark.anyio
async def test_the_broadcast_outbox_stays_bounded_in_bytes_while_redis_is_away(
    dead_redis: Redis,
) -> None:
    """A projector keeps publishing commits (rows and all) while its Redis is away: the outbox
    keeps at most `OUTBOX_BYTES` of them, dropping the oldest and marking local clients lagged
    (remote ones found their reads failing: they catch up from the read model)."""
    broadcaster = RedisBroadcaster(dead_redis, "decnet-test-unreachable:live")
    subscription = broadcaster.subscribe()
    big = LiveUpdate(1, model="m" * 1_000_000)  # ~1 MB encoded, as a catch-up commit's rows
    for _ in range(OUTBOX_BYTES // 1_000_000 + 20):
        broadcaster.publish(big)
    assert broadcaster.outbox_bytes <= OUTBOX_BYTES
    assert subscription.lagged


@pytest.mark.anyio
async def test_a_stream_asked_for_as_redis_returns_waits_for_the_reader() -> None:
    """A replica's reader finds Redis gone and says so (`unreachable`); asked within a wait,
    the broadcaster answers the outage once the wait is over if Redis is still away, and as
    soon as its reader has read again once Redis is back (the window in which `/stream` had
    consumed a ticket on the returned Redis and still answered 503)."""
    redis_url = os.environ.get("DECNET_TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("set DECNET_TEST_REDIS_URL to a Redis the tests may use")
    parts = urlsplit(redis_url)
    with pg_proxy((parts.hostname or "127.0.0.1", parts.port or 6379)) as proxy:
        client = redis_client(f"redis://127.0.0.1:{proxy.port}/{parts.path.strip('/') or '0'}")
        broadcaster = RedisBroadcaster(client, f"decnet-test-return-{secrets.token_hex(4)}:live")
        try:
            await broadcaster.start()
            broadcaster.subscribe()  # the reader follows entries only while someone listens
            assert await broadcaster.unreachable_after(5.0) is None  # at once
            proxy.cut()
            with anyio.fail_after(10):
                while broadcaster.unreachable is None:
                    await anyio.sleep(0.05)
            started = time.monotonic()
            assert await broadcaster.unreachable_after(0.3) is not None
            assert time.monotonic() - started >= 0.3
            proxy.restore()
            started = time.monotonic()
            assert await broadcaster.unreachable_after(5.0) is None
            assert time.monotonic() - started < 3.0  # the reader's retry, not the whole wait
        finally:
            await broadcaster.aclose()
            await client.aclose()
