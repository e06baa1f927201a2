"""Authentication while the shared denylist (Redis) is unreachable: reads go on, a revoked token
stays refused (fail closed), and what cannot be checked is a 503, not an acceptance."""

from __future__ import annotations

import time

import pytest

from application.errors import AuthenticationError, UnavailableError
from application.identity.login import Authenticator
from infrastructure.auth.jwt_tokens import JwtTokens
from infrastructure.auth.memory_throttle import MemoryLoginThrottle
from tests.unit.identity.fakes import FakeHasher, MemoryUserDirectory

SECRET = "unit-test-secret-of-32-bytes-or-more!!"


class UnreachableDenylist:
    """A `TokenDenylist` whose store is down: every call raises as the Redis adapter does."""

    async def deny(self, jti: str, expires_at: float) -> None:
        raise UnavailableError("token denylist unavailable: Redis unreachable")

    async def denied(self, jti: str) -> bool:
        raise UnavailableError("token denylist unavailable: Redis unreachable")


@pytest.fixture
def directory() -> MemoryUserDirectory:
    return MemoryUserDirectory()


@pytest.fixture
def tokens() -> JwtTokens:
    return JwtTokens(lambda: SECRET, ttl_s=900)


@pytest.fixture
def auth(directory: MemoryUserDirectory, tokens: JwtTokens) -> Authenticator:
    return Authenticator(
        directory,
        FakeHasher(),
        tokens,
        MemoryLoginThrottle(),
        UnreachableDenylist(),
        revocation_wait_s=0.3,
    )


@pytest.mark.anyio
async def test_a_token_is_accepted_once_the_users_model_has_applied_its_user(
    auth: Authenticator, directory: MemoryUserDirectory, tokens: JwtTokens
) -> None:
    """With the denylist down, the users model answers: it holds every revocation of a user
    whose events it has all applied."""
    alice = directory.add("alice", "password-1", FakeHasher())
    token, _ = tokens.issue(alice.uuid, "alice")
    assert (await auth.authenticate(token)).username == "alice"


@pytest.mark.anyio
async def test_a_revoked_token_stays_refused_while_the_denylist_is_down(
    auth: Authenticator, directory: MemoryUserDirectory, tokens: JwtTokens
) -> None:
    """A revocation the users model has applied refuses the token without the denylist."""
    alice = directory.add("alice", "password-1", FakeHasher())
    token, claims = tokens.issue(alice.uuid, "alice")
    directory.revoked.add(claims.jti)
    with pytest.raises(AuthenticationError, match="revoked"):
        await auth.authenticate(token)


@pytest.mark.anyio
async def test_a_user_with_unapplied_events_is_a_503_not_an_acceptance(
    auth: Authenticator, directory: MemoryUserDirectory, tokens: JwtTokens
) -> None:
    """A revocation written but not yet applied could be among this user's events: after a
    bounded wait the request is refused as unavailable (fail closed), never let through."""
    alice = directory.add("alice", "password-1", FakeHasher())
    token, _ = tokens.issue(alice.uuid, "alice")
    directory.pending.add(alice.uuid)
    began = time.monotonic()
    with pytest.raises(UnavailableError, match="revocation"):
        await auth.authenticate(token)
    assert 0.25 <= time.monotonic() - began < 2.0
