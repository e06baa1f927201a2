"""SSE tickets: bound to the token that asked for one, never outliving it, spent on use."""

from __future__ import annotations

import time
from uuid import uuid4

import pytest

from application.errors import AuthenticationError
from application.identity.login import Authenticator
from application.identity.tickets import SseTickets
from application.ports import TokenClaims, UserRecord
from infrastructure.auth.jwt_tokens import JwtTokens
from infrastructure.auth.memory_denylist import MemoryTokenDenylist
from infrastructure.auth.memory_throttle import MemoryLoginThrottle
from infrastructure.auth.memory_tickets import MemoryTicketStore

SECRET = "unit-test-secret-0123456789abcdefghij"


class Directory:
    """One user and the set of revoked token ids, as the users read model would answer."""

    def __init__(self) -> None:
        self.user: UserRecord | None = UserRecord(
            str(uuid4()), "alice", "viewer", False, "unused", tokens_valid_from=None
        )
        self.revoked: set[str] = set()

    async def by_username(self, username: str) -> UserRecord | None:
        return self.user

    async def session(self, user_id: str, jti: str) -> tuple[UserRecord | None, bool]:
        return self.user, jti in self.revoked


class NoHasher:
    """Never asked: these tests do not log in."""

    def hash(self, password: str) -> str:
        raise AssertionError("not used")

    def verify(self, encoded: str, password: str) -> bool:
        raise AssertionError("not used")


class Clock:
    """Wall-clock seconds the test moves by hand (tickets compare with token expiry)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def directory() -> Directory:
    return Directory()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tickets(directory: Directory, clock: Clock) -> SseTickets:
    auth = Authenticator(
        directory,
        NoHasher(),
        JwtTokens(lambda: SECRET, clock=clock),
        MemoryLoginThrottle(),
        MemoryTokenDenylist(),
    )
    store = MemoryTicketStore(clock=clock)
    return SseTickets(store, auth, clock=clock)


def claims_for(directory: Directory, clock: Clock, lifetime: float = 900.0) -> TokenClaims:
    assert directory.user is not None
    return TokenClaims(directory.user.uuid, "alice", uuid4().hex, clock.now, clock.now + lifetime)


@pytest.mark.anyio
async def test_a_ticket_redeems_once_as_its_user(
    tickets: SseTickets, directory: Directory, clock: Clock
) -> None:
    """Given a ticket, when redeemed, then it is the token's user and claims; never twice."""
    claims = claims_for(directory, clock)
    ticket = await tickets.issue(claims)
    principal = await tickets.redeem(ticket)
    assert (principal.username, principal.claims) == ("alice", claims)
    with pytest.raises(AuthenticationError, match="ticket"):
        await tickets.redeem(ticket)


@pytest.mark.anyio
async def test_a_ticket_lives_thirty_seconds(
    tickets: SseTickets, directory: Directory, clock: Clock
) -> None:
    """A ticket is refused 30 s after it was issued even though its token still has minutes."""
    ticket = await tickets.issue(claims_for(directory, clock))
    clock.now += 30.0
    with pytest.raises(AuthenticationError):
        await tickets.redeem(ticket)


@pytest.mark.anyio
async def test_a_ticket_never_outlives_its_token(
    tickets: SseTickets, directory: Directory, clock: Clock
) -> None:
    """A token with 5 s left gives a ticket that dies with it; an expired one gets none."""
    claims = claims_for(directory, clock, lifetime=5.0)
    ticket = await tickets.issue(claims)
    clock.now += 5.0
    with pytest.raises(AuthenticationError):
        await tickets.redeem(ticket)
    with pytest.raises(AuthenticationError, match="expired"):
        await tickets.issue(claims)


@pytest.mark.anyio
async def test_a_ticket_of_a_revoked_token_or_deleted_user_is_refused(
    tickets: SseTickets, directory: Directory, clock: Clock
) -> None:
    """Redeeming re-checks the session: a revoked token or a deleted user is refused."""
    claims = claims_for(directory, clock)
    revoked, deleted = await tickets.issue(claims), await tickets.issue(claims)
    directory.revoked.add(claims.jti)
    with pytest.raises(AuthenticationError, match="revoked"):
        await tickets.redeem(revoked)
    directory.revoked.clear()
    directory.user = None
    with pytest.raises(AuthenticationError, match="no longer exists"):
        await tickets.redeem(deleted)
