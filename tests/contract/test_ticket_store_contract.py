"""The `TicketStore` contract, run on every adapter: in-process and Redis (shared by replicas)."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from application.ports import TicketStore, TokenClaims
from infrastructure.auth.memory_tickets import MemoryTicketStore
from infrastructure.redis.client import RedisKeys
from infrastructure.redis.tickets import RedisTicketStore

CLAIMS = TokenClaims("u-1", "alice", "jti-1", issued_at=1_000.0, expires_at=1_900.0)


class Clock:
    """Monotonic time the test moves by hand."""

    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.mark.anyio
class TicketStoreContract:
    """The port's promises; subclasses provide `store` (built on the `clock` fixture)."""

    async def test_a_ticket_gives_its_claims_back_once(self, store: TicketStore) -> None:
        """Given an issued ticket, when consumed twice, then only the first gets the claims."""
        ticket = await store.issue(CLAIMS, 30.0)
        assert await store.consume(ticket) == CLAIMS
        assert await store.consume(ticket) is None

    async def test_a_ticket_expires_after_its_lifetime(
        self, store: TicketStore, clock: Clock
    ) -> None:
        """A ticket consumed after its lifetime gives nothing; one just before it still works."""
        late, early = await store.issue(CLAIMS, 30.0), await store.issue(CLAIMS, 30.0)
        clock.now += 29.9
        assert await store.consume(early) == CLAIMS
        clock.now += 0.1
        assert await store.consume(late) is None

    async def test_tickets_are_unguessable_and_distinct(self, store: TicketStore) -> None:
        """Each ticket is new, long and URL-safe; an unknown one gives nothing."""
        tickets = {await store.issue(CLAIMS, 30.0) for _ in range(200)}
        assert len(tickets) == 200
        assert all(len(t) >= 40 and t.replace("-", "").replace("_", "").isalnum() for t in tickets)
        assert await store.consume("not-a-ticket") is None
        assert await store.consume("") is None


class TestMemoryTicketStore(TicketStoreContract):
    """The contract on the in-process ticket store."""

    @pytest.fixture
    def store(self, clock: Clock) -> MemoryTicketStore:
        return MemoryTicketStore(clock=clock)


@pytest.mark.redis
class TestRedisTicketStore(TicketStoreContract):
    """The contract on the Redis ticket store."""

    @pytest.fixture
    async def store(self, clock: Clock, redis_shared: tuple[Redis, RedisKeys]) -> RedisTicketStore:
        client, keys = redis_shared
        return RedisTicketStore(client, keys, clock=clock)


@pytest.mark.redis
@pytest.mark.anyio
async def test_a_ticket_issued_by_one_replica_is_spent_on_another(
    clock: Clock, redis_shared: tuple[Redis, RedisKeys]
) -> None:
    """Two stores on one Redis: B redeems A's ticket once; A then finds it spent."""
    client, keys = redis_shared
    a, b = RedisTicketStore(client, keys, clock=clock), RedisTicketStore(client, keys, clock=clock)
    ticket = await a.issue(CLAIMS, 30.0)
    assert await b.consume(ticket) == CLAIMS
    assert await a.consume(ticket) is None


@pytest.mark.redis
@pytest.mark.anyio
async def test_redis_expires_the_ticket_key_itself(
    clock: Clock, redis_shared: tuple[Redis, RedisKeys]
) -> None:
    """An unredeemed ticket does not stay in Redis: its key carries a TTL near its lifetime."""
    client, keys = redis_shared
    ticket = await RedisTicketStore(client, keys, clock=clock).issue(CLAIMS, 30.0)
    assert 29_000 < await client.pttl(keys.ticket(ticket)) <= 31_000


@pytest.mark.anyio
async def test_the_memory_store_stays_bounded(clock: Clock) -> None:
    """A full in-memory store forgets expired tickets first, then the oldest live one."""
    store = MemoryTicketStore(clock=clock, capacity=3)
    first = await store.issue(CLAIMS, 30.0)
    expiring = await store.issue(CLAIMS, 1.0)
    clock.now += 2
    kept = [await store.issue(CLAIMS, 30.0), await store.issue(CLAIMS, 30.0)]
    assert len(store) == 3  # the expired one made room
    newest = await store.issue(CLAIMS, 30.0)
    assert len(store) == 3
    assert await store.consume(first) is None  # the oldest was evicted
    assert await store.consume(expiring) is None
    for ticket in [*kept, newest]:
        assert await store.consume(ticket) == CLAIMS


@pytest.mark.anyio
async def test_the_memory_store_drops_expired_tickets_as_it_issues(clock: Clock) -> None:
    """Tickets of one lifetime expire in issue order: issuing drops those expired, oldest first,
    without scanning the live ones."""
    store = MemoryTicketStore(clock=clock, capacity=100)
    for _ in range(5):
        await store.issue(CLAIMS, 30.0)
    clock.now += 20
    live = [await store.issue(CLAIMS, 30.0) for _ in range(2)]
    clock.now += 11  # the first five have expired, the two are live
    newest = await store.issue(CLAIMS, 30.0)
    assert len(store) == 3
    for ticket in [*live, newest]:
        assert await store.consume(ticket) == CLAIMS
