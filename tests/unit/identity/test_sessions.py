"""The session cache and the kept token verifications: cheaper repeats, same refusals."""

from __future__ import annotations

import time
from dataclasses import replace

import anyio
import pytest

from application.errors import AuthenticationError
from application.identity.login import Authenticator
from application.identity.sessions import MAX_AGE_S, SessionCache
from application.ports import UserRecord
from infrastructure.auth.jwt_tokens import JwtTokens
from infrastructure.auth.memory_denylist import MemoryTokenDenylist
from infrastructure.auth.memory_throttle import MemoryLoginThrottle
from tests.unit.identity.fakes import FakeHasher, MemoryUserDirectory

SECRET = "unit-test-secret-of-32-bytes-or-more!!"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class CountingDirectory(MemoryUserDirectory):
    """Counts session lookups; `hold` makes the next lookup wait until it is set."""

    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0
        self.hold: anyio.Event | None = None
        self.started = anyio.Event()

    async def session(self, user_id: str, jti: str) -> tuple[UserRecord | None, bool]:
        self.lookups += 1
        found = await super().session(user_id, jti)  # the snapshot, taken before the wait
        if self.hold is not None:
            self.started.set()
            await self.hold.wait()
        return found


@pytest.fixture
def directory() -> CountingDirectory:
    return CountingDirectory()


@pytest.fixture
def clock() -> Clock:
    return Clock(time.time())


@pytest.fixture
def cache(clock: Clock) -> SessionCache:
    return SessionCache(clock=clock)


@pytest.fixture
def tokens(clock: Clock) -> JwtTokens:
    return JwtTokens(lambda: SECRET, ttl_s=900, clock=clock)


@pytest.fixture
def auth(directory: CountingDirectory, tokens: JwtTokens, cache: SessionCache) -> Authenticator:
    return Authenticator(
        directory,
        FakeHasher(),
        tokens,
        MemoryLoginThrottle(),
        MemoryTokenDenylist(),
        sessions=cache,
    )


@pytest.mark.anyio
async def test_a_kept_session_answers_repeats_until_the_users_model_changes(
    auth: Authenticator, directory: CountingDirectory, tokens: JwtTokens, cache: SessionCache
) -> None:
    """Three requests ask the directory once; after a commit a revoked token is refused."""
    alice = directory.add("alice", "password-1", FakeHasher())
    token, claims = tokens.issue(alice.uuid, "alice")
    for _ in range(3):
        assert (await auth.authenticate(token)).username == "alice"
    assert directory.lookups == 1
    directory.revoked.add(claims.jti)
    cache.invalidate()
    with pytest.raises(AuthenticationError, match="revoked"):
        await auth.authenticate(token)


@pytest.mark.anyio
async def test_a_role_change_is_seen_on_the_next_request_after_the_commit(
    auth: Authenticator, directory: CountingDirectory, tokens: JwtTokens, cache: SessionCache
) -> None:
    """The principal's role and must-change flag come from the model as it is after the commit."""
    alice = directory.add("alice", "password-1", FakeHasher())
    token, _ = tokens.issue(alice.uuid, "alice")
    assert (await auth.authenticate(token)).role == "viewer"
    directory.users[alice.uuid] = replace(alice, role="admin", must_change_password=True)
    cache.invalidate()
    principal = await auth.authenticate(token)
    assert (principal.role, principal.must_change_password) == ("admin", True)


@pytest.mark.anyio
async def test_a_lookup_that_raced_a_commit_is_not_kept(
    auth: Authenticator, directory: CountingDirectory, tokens: JwtTokens, cache: SessionCache
) -> None:
    """A lookup that read the model before a commit and returned after it is not kept."""
    alice = directory.add("alice", "password-1", FakeHasher())
    token, claims = tokens.issue(alice.uuid, "alice")
    directory.hold = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(auth.authenticate, token)
        await directory.started.wait()
        directory.revoked.add(claims.jti)  # the commit lands while the lookup is under way
        cache.invalidate()
        directory.hold.set()
    directory.hold = None
    with pytest.raises(AuthenticationError, match="revoked"):
        await auth.authenticate(token)


@pytest.mark.anyio
async def test_kept_sessions_are_asked_again_after_their_age_bound(
    auth: Authenticator, directory: CountingDirectory, tokens: JwtTokens, clock: Clock
) -> None:
    """Past `MAX_AGE_S` an answer is looked up again even without a commit."""
    alice = directory.add("alice", "password-1", FakeHasher())
    token, _ = tokens.issue(alice.uuid, "alice")
    await auth.authenticate(token)
    clock.now += MAX_AGE_S + 0.1
    await auth.authenticate(token)
    assert directory.lookups == 2


@pytest.mark.anyio
async def test_the_denylist_is_asked_on_every_request_even_with_a_kept_session(
    auth: Authenticator, directory: CountingDirectory, tokens: JwtTokens
) -> None:
    """A logout (denylist) refuses the token at once, without any commit."""
    alice = directory.add("alice", "password-1", FakeHasher())
    token, claims = tokens.issue(alice.uuid, "alice")
    await auth.authenticate(token)
    await auth.denylist.deny(claims.jti, claims.expires_at)
    with pytest.raises(AuthenticationError, match="revoked"):
        await auth.authenticate(token)


def test_a_kept_verification_still_expires(tokens: JwtTokens, clock: Clock) -> None:
    """A token verified once is refused once its expiry (plus leeway) has passed."""
    token, _ = tokens.issue("u-1", "alice")
    tokens.verify(token)
    clock.now += 900 + 11
    with pytest.raises(AuthenticationError, match="expired"):
        tokens.verify(token)


def test_a_kept_verification_does_not_outlive_the_secret(clock: Clock) -> None:
    """A token kept as verified under one secret is checked again (and refused) under another."""
    secret = [SECRET]
    tokens = JwtTokens(lambda: secret[0], ttl_s=900, clock=clock)
    token, _ = tokens.issue("u-1", "alice")
    tokens.verify(token)
    secret[0] = "another-secret-of-32-bytes-or-more!!!!"
    with pytest.raises(AuthenticationError, match="invalid"):
        tokens.verify(token)
