"""The `TokenDenylist` contract, run on every adapter: in-process and Redis (shared by replicas)."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from application.ports import TokenDenylist
from infrastructure.auth.memory_denylist import MemoryTokenDenylist
from infrastructure.redis.client import RedisKeys
from infrastructure.redis.denylist import RedisTokenDenylist


class Clock:
    """Wall time the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.mark.anyio
class TokenDenylistContract:
    """The port's promises; subclasses provide `denylist` (built on the `clock` fixture)."""

    async def test_a_denied_token_is_refused_until_it_expires(
        self, denylist: TokenDenylist, clock: Clock
    ) -> None:
        """Given a denied id, it is denied until its expiry and not after; others never are."""
        await denylist.deny("jti-1", expires_at=1_900.0)
        assert await denylist.denied("jti-1")
        assert not await denylist.denied("jti-2")
        clock.now = 1_899.9
        assert await denylist.denied("jti-1")
        clock.now = 1_900.0
        assert not await denylist.denied("jti-1")

    async def test_denying_twice_is_harmless(self, denylist: TokenDenylist) -> None:
        """A second logout of the same token (another replica, a retry) changes nothing."""
        await denylist.deny("jti-1", expires_at=1_900.0)
        await denylist.deny("jti-1", expires_at=1_900.0)
        assert await denylist.denied("jti-1")

    async def test_an_already_expired_token_needs_no_entry(self, denylist: TokenDenylist) -> None:
        """Denying a token past its expiry is accepted; it reads as not denied (it is dead)."""
        await denylist.deny("old", expires_at=999.0)
        assert not await denylist.denied("old")


class TestMemoryTokenDenylist(TokenDenylistContract):
    """The contract on the in-process denylist."""

    @pytest.fixture
    def denylist(self, clock: Clock) -> MemoryTokenDenylist:
        return MemoryTokenDenylist(clock=clock)


@pytest.mark.redis
class TestRedisTokenDenylist(TokenDenylistContract):
    """The contract on the Redis denylist."""

    @pytest.fixture
    async def denylist(
        self, clock: Clock, redis_shared: tuple[Redis, RedisKeys]
    ) -> RedisTokenDenylist:
        client, keys = redis_shared
        return RedisTokenDenylist(client, keys, clock=clock)


@pytest.mark.redis
@pytest.mark.anyio
async def test_a_logout_on_one_replica_holds_on_another(
    clock: Clock, redis_shared: tuple[Redis, RedisKeys]
) -> None:
    """A denial written through one client is seen by another, and its key expires in Redis."""
    client, keys = redis_shared
    await RedisTokenDenylist(client, keys, clock=clock).deny("jti-1", expires_at=1_060.0)
    assert await RedisTokenDenylist(client, keys, clock=clock).denied("jti-1")
    assert 60_000 < await client.pttl(keys.denied("jti-1")) <= 61_000


@pytest.mark.anyio
async def test_the_memory_denylist_stays_bounded(clock: Clock) -> None:
    """A full in-memory denylist forgets expired ids first, then the oldest."""
    denylist = MemoryTokenDenylist(clock=clock, capacity=2)
    await denylist.deny("expiring", 1_001.0)
    await denylist.deny("a", 2_000.0)
    clock.now = 1_002.0
    await denylist.deny("b", 2_000.0)
    assert len(denylist) == 2
    await denylist.deny("c", 2_000.0)
    assert len(denylist) == 2
    assert not await denylist.denied("a")
    assert await denylist.denied("b")
    assert await denylist.denied("c")
