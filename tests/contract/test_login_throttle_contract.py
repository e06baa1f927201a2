"""The `LoginThrottle` contract, run on every adapter: in-process and Redis (shared by replicas)."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import pytest
from redis.asyncio import Redis

from application.errors import RateLimitedError
from application.identity.throttle import LoginReservation, LoginThrottle, ThrottlePolicy
from infrastructure.auth.memory_throttle import MemoryLoginThrottle
from infrastructure.redis.client import RedisKeys
from infrastructure.redis.throttle import RedisLoginThrottle

POLICY = ThrottlePolicy()
Build = Callable[[ThrottlePolicy], LoginThrottle]


class Clock:
    """Monotonic time the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def fail(throttle: LoginThrottle, ip: str, user: str, times: int = 1) -> None:
    for _ in range(times):
        await throttle.settle(await throttle.reserve(ip, user), failed=True)


async def succeed(throttle: LoginThrottle, ip: str, user: str) -> LoginReservation:
    reservation = await throttle.reserve(ip, user)
    await throttle.settle(reservation, failed=False)
    return reservation


@pytest.mark.anyio
class LoginThrottleContract:
    """The port's promises; subclasses provide `build` (a throttle on the `clock` fixture)."""

    async def test_attempts_in_flight_count(self, build: Build) -> None:
        """Given ten unsettled attempts from one IP, the eleventh is refused at once."""
        throttle = build(POLICY)
        for i in range(10):
            await throttle.reserve("10.0.0.1", f"user{i}")
        with pytest.raises(RateLimitedError) as refused:
            await throttle.reserve("10.0.0.1", "someone")
        assert refused.value.retry_after_s >= 1
        await throttle.reserve("10.0.0.2", "someone")  # another address is not affected

    async def test_a_concurrent_burst_gets_at_most_the_limit(self, build: Build) -> None:
        """Sixty attempts started together from one IP for one user: exactly ten admitted."""
        throttle = build(POLICY)
        admitted: list[LoginReservation] = []
        refused: list[RateLimitedError] = []

        async def attempt() -> None:
            try:
                admitted.append(await throttle.reserve("10.0.0.1", "admin"))
            except RateLimitedError as e:
                refused.append(e)

        async with anyio.create_task_group() as tg:
            for _ in range(60):
                tg.start_soon(attempt)
        assert (len(admitted), len(refused)) == (10, 50)

    async def test_successes_free_their_place(self, build: Build) -> None:
        """Any number of settled successes from one IP never fills its quota."""
        throttle = build(POLICY)
        for _ in range(50):
            await succeed(throttle, "10.0.0.1", "alice")

    async def test_ten_failures_refuse_the_ip_for_every_username(
        self, build: Build, clock: Clock
    ) -> None:
        """Failures from one IP for many names refuse that IP until the oldest leaves the window."""
        throttle = build(POLICY)
        for i in range(10):
            await fail(throttle, "10.0.0.1", f"user{i}")
        clock.now += 100
        with pytest.raises(RateLimitedError) as refused:
            await throttle.reserve("10.0.0.1", "someone-new")
        assert refused.value.retry_after_s == 200
        await succeed(throttle, "10.0.0.2", "user1")

    async def test_the_window_slides(self, build: Build, clock: Clock) -> None:
        """A failure older than the window stops counting."""
        throttle = build(POLICY)
        start = clock.now
        for i in range(10):
            clock.now = start + i
            await fail(throttle, "10.0.0.1", "alice")
        clock.now = start + 299.5
        with pytest.raises(RateLimitedError):
            await throttle.reserve("10.0.0.1", "alice")
        clock.now = start + 300
        await fail(throttle, "10.0.0.1", "alice")
        with pytest.raises(RateLimitedError):
            await throttle.reserve("10.0.0.1", "alice")

    async def test_ip_and_username_together_have_their_own_limit(self, build: Build) -> None:
        """With a small per-(IP, user) limit, that pair is refused; the IP for others and the
        user from other IPs are not."""
        throttle = build(ThrottlePolicy(per_ip=100, per_ip_user=3))
        await fail(throttle, "10.0.0.1", "alice", times=3)
        with pytest.raises(RateLimitedError):
            await throttle.reserve("10.0.0.1", "alice")
        with pytest.raises(RateLimitedError):
            await throttle.reserve("10.0.0.1", "ALICE")  # usernames compare case-insensitively
        await succeed(throttle, "10.0.0.1", "bob")
        await succeed(throttle, "10.0.0.2", "alice")

    async def test_a_username_is_slowed_never_refused(self, build: Build) -> None:
        """Failures for one user from many IPs delay its attempts progressively, capped; a
        clean IP is still admitted."""
        throttle = build(POLICY)
        delays = []
        for i in range(12):
            reservation = await throttle.reserve(f"10.1.0.{i}", "Admin" if i % 2 else "admin")
            delays.append(reservation.delay_s)
            await throttle.settle(reservation, failed=True)
        assert delays[:5] == [0.0] * 5
        assert delays[5:9] == [0.5, 1.0, 2.0, 4.0]
        assert delays[9:] == [5.0] * 3
        clean = await throttle.reserve("10.2.0.1", "admin")
        assert clean.delay_s == 5.0

    async def test_settling_twice_counts_once(self, build: Build) -> None:
        """A reservation settled twice (a retry, a double finally) is one failure."""
        throttle = build(ThrottlePolicy(per_ip=2))
        reservation = await throttle.reserve("10.0.0.1", "alice")
        await throttle.settle(reservation, failed=True)
        await throttle.settle(reservation, failed=True)
        await throttle.settle(reservation, failed=False)
        await succeed(throttle, "10.0.0.1", "alice")


class TestMemoryLoginThrottle(LoginThrottleContract):
    """The contract on the in-process throttle."""

    @pytest.fixture
    def build(self, clock: Clock) -> Build:
        return lambda policy: MemoryLoginThrottle(policy, clock=clock)


@pytest.mark.redis
class TestRedisLoginThrottle(LoginThrottleContract):
    """The contract on the Redis throttle."""

    @pytest.fixture
    def build(self, clock: Clock, redis_shared: tuple[Redis, RedisKeys]) -> Build:
        client, keys = redis_shared
        return lambda policy: RedisLoginThrottle(client, keys, policy, clock=clock)


@pytest.mark.redis
@pytest.mark.anyio
async def test_replicas_count_the_same_failures(
    clock: Clock, redis_shared: tuple[Redis, RedisKeys]
) -> None:
    """Failures through one replica's throttle refuse the IP on another's."""
    client, keys = redis_shared
    a, b = (RedisLoginThrottle(client, keys, POLICY, clock=clock) for _ in range(2))
    await fail(a, "10.0.0.1", "alice", times=5)
    await fail(b, "10.0.0.1", "bob", times=5)
    with pytest.raises(RateLimitedError):
        await a.reserve("10.0.0.1", "carol")


@pytest.mark.redis
@pytest.mark.anyio
async def test_an_attempt_abandoned_by_a_dead_replica_stops_counting(
    clock: Clock, redis_shared: tuple[Redis, RedisKeys]
) -> None:
    """Reservations never settled (their replica died) free their place after a minute."""
    client, keys = redis_shared
    throttle = RedisLoginThrottle(client, keys, POLICY, clock=clock)
    for i in range(10):
        await throttle.reserve("10.0.0.1", f"user{i}")
    with pytest.raises(RateLimitedError):
        await throttle.reserve("10.0.0.1", "someone")
    clock.now += 61
    await throttle.reserve("10.0.0.1", "someone")


@pytest.mark.anyio
async def test_the_memory_throttle_forgets_what_no_longer_counts(clock: Clock) -> None:
    """Successes leave nothing behind; failures are forgotten after the window."""
    throttle = MemoryLoginThrottle(POLICY, clock=clock)
    for i in range(100):
        await succeed(throttle, f"10.0.{i}.1", f"user{i}")
    assert throttle.tracked_keys() == 0
    await fail(throttle, "10.0.0.1", "alice")
    assert throttle.tracked_keys() == 3
