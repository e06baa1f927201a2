"""Login and per-request authentication."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

import anyio
import anyio.to_thread

from application.errors import AuthenticationError, UnavailableError
from application.identity.login_events import LoginJournal
from application.identity.sessions import Session, SessionCache
from application.identity.throttle import LoginThrottle
from application.ports import (
    PasswordHasher,
    TokenClaims,
    TokenDenylist,
    TokenIssuer,
    UserDirectory,
    UserRecord,
)
from domain.identity.roles import Capability, can
from domain.shared.meta import CommandMeta

BAD_CREDENTIALS = "Incorrect username or password"
REVOCATION_WAIT_S = 3.0  # how long a request waits for the users model while the denylist is down
REVOCATION_RECHECK_S = 0.25
UNCHECKABLE = (
    "token revocation cannot be checked: the token denylist is unreachable and the users model"
    " has not applied this user's latest change yet"
)


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of a request."""

    user_id: str
    username: str
    role: str
    must_change_password: bool
    claims: TokenClaims

    def can(self, capability: Capability) -> bool:
        """Whether the caller's role grants `capability`."""
        return can(self.role, capability)

    @property
    def is_admin(self) -> bool:
        """Admins may use every mutating route (and see admin-only fields)."""
        return self.can(Capability.COMMAND)


@dataclass(frozen=True, slots=True)
class LoginResult:
    """What `POST /auth/login` returns."""

    access_token: str
    must_change_password: bool


class Authenticator:
    """Checks credentials at login and tokens on every request."""

    def __init__(
        self,
        directory: UserDirectory,
        hasher: PasswordHasher,
        tokens: TokenIssuer,
        throttle: LoginThrottle,
        denylist: TokenDenylist,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        journal: LoginJournal | None = None,
        sessions: SessionCache | None = None,
        revocation_wait_s: float = REVOCATION_WAIT_S,
    ) -> None:
        self._directory = directory
        self._hasher = hasher
        self._tokens = tokens
        self._throttle = throttle
        self.denylist = denylist
        self._sleep = sleep
        self._journal = journal
        self._sessions = sessions
        self._revocation_wait_s = revocation_wait_s
        self._dummy_hash: str | None = None

    async def login(
        self, username: str, password: str, client_ip: str, request_id: str | None = None
    ) -> LoginResult:
        """Same answer and the same work for an unknown user and a wrong password.

        The throttle admits the attempt before anything is verified (429 otherwise) and learns
        its outcome whatever happens, a cancelled request included. Each admitted attempt's
        outcome is journaled (so a flood writes no more events than the throttle admits).
        """
        reservation = await self._throttle.reserve(client_ip, username)
        failed = False
        try:
            if reservation.delay_s > 0:
                await self._sleep(reservation.delay_s)
            user = await self._verified(username, password)
            failed = user is None
        finally:
            with anyio.CancelScope(shield=True):
                await self._throttle.settle(reservation, failed=failed)
        await self._record(user, username, client_ip, request_id)
        if user is None:
            raise AuthenticationError(BAD_CREDENTIALS)
        token, _ = self._tokens.issue(user.uuid, user.username)
        return LoginResult(access_token=token, must_change_password=user.must_change_password)

    async def _record(
        self, user: UserRecord | None, tried: str, client_ip: str, request_id: str | None
    ) -> None:
        if self._journal is None:
            return
        if user is None:
            meta = CommandMeta(None, client_ip, request_id)
            await anyio.to_thread.run_sync(self._journal.failed, meta, tried)
            return
        meta = CommandMeta(UUID(user.uuid), client_ip, request_id)
        await anyio.to_thread.run_sync(self._journal.succeeded, meta, user.uuid, user.username)

    async def _verified(self, username: str, password: str) -> UserRecord | None:
        """The user if the password is theirs (the dummy hash keeps unknown names as slow)."""
        user = await self._directory.by_username(username)
        encoded = user.password_hash if user else await self._dummy()
        ok = await anyio.to_thread.run_sync(self._hasher.verify, encoded, password)
        return user if user is not None and ok else None

    async def authenticate(self, token: str) -> Principal:
        """The principal for a valid, unrevoked token of a live user."""
        return await self.authenticate_claims(self._tokens.verify(token))

    async def authenticate_claims(self, claims: TokenClaims) -> Principal:
        """The principal for already-verified claims, if the session is still valid now."""
        if await self._denied(claims):
            raise AuthenticationError("token has been revoked")
        user, revoked = await self._session(claims)
        if user is None:
            raise AuthenticationError("user no longer exists")
        if revoked:
            raise AuthenticationError("token has been revoked")
        if user.tokens_valid_from is not None and claims.issued_at < user.tokens_valid_from:
            raise AuthenticationError("token was issued before the last credential change")
        return Principal(
            user_id=user.uuid,
            username=user.username,
            role=user.role,
            must_change_password=user.must_change_password,
            claims=claims,
        )

    async def _denied(self, claims: TokenClaims) -> bool:
        """The denylist's answer; while it is unreachable, the users model's alone, once that
        model has applied every event of the token's user (fail closed: a revocation saved but
        not applied yet could be among them, so after `revocation_wait_s` it is a 503)."""
        try:
            return await self.denylist.denied(claims.jti)
        except UnavailableError:
            deadline = anyio.current_time() + self._revocation_wait_s
            while not await self._directory.caught_up(claims.user_id):
                if anyio.current_time() >= deadline:
                    raise UnavailableError(UNCHECKABLE) from None
                await anyio.sleep(REVOCATION_RECHECK_S)
            return False

    async def _session(self, claims: TokenClaims) -> Session:
        """The directory's answer, from the session cache when this process keeps one."""
        cache = self._sessions
        if cache is None:
            return await self._directory.session(claims.user_id, claims.jti)
        kept = cache.get(claims.user_id, claims.jti)
        if kept is not None:
            return kept
        generation = cache.generation
        found = await self._directory.session(claims.user_id, claims.jti)
        cache.put(claims.user_id, claims.jti, found, generation)
        return found

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await anyio.to_thread.run_sync(
                self._hasher.hash, "timing-equaliser-not-a-password"
            )
        return self._dummy_hash
