"""Single-use SSE tickets: a signed-in user trades its token for one, a stream redeems it."""

from __future__ import annotations

import time
from collections.abc import Callable

from application.errors import AuthenticationError
from application.identity.login import Authenticator, Principal
from application.ports import TicketStore, TokenClaims

TICKET_TTL_S = 30.0


class SseTickets:
    """Tickets bound to the caller's token: same user, never outliving the token's expiry."""

    def __init__(
        self,
        store: TicketStore,
        auth: Authenticator,
        clock: Callable[[], float] = time.time,
        ttl_s: float = TICKET_TTL_S,
    ) -> None:
        self._store = store
        self._auth = auth
        self._clock = clock
        self._ttl = ttl_s

    async def issue(self, claims: TokenClaims) -> str:
        """A ticket valid once for at most `ttl_s` seconds and never past the token's expiry."""
        ttl = min(self._ttl, claims.expires_at - self._clock())
        if ttl <= 0:
            raise AuthenticationError("token has expired")
        return await self._store.issue(claims, ttl)

    async def redeem(self, ticket: str) -> Principal:
        """The ticket's principal, checked like its token would be now; the ticket is spent."""
        claims = await self._store.consume(ticket)
        if claims is None:
            raise AuthenticationError("unknown, used or expired ticket")
        if claims.expires_at <= self._clock():
            raise AuthenticationError("token has expired")
        return await self._auth.authenticate_claims(claims)
