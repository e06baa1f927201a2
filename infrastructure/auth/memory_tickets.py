"""The in-process `TicketStore`: a bounded dict of tickets with their deadlines."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from application.ports import TokenClaims

MAX_OUTSTANDING = 10_000


class MemoryTicketStore:
    """Tickets live in this process only; the oldest is forgotten when the store is full."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, capacity: int = MAX_OUTSTANDING
    ) -> None:
        self._clock = clock
        self._capacity = capacity
        self._tickets: dict[str, tuple[TokenClaims, float]] = {}

    async def issue(self, claims: TokenClaims, ttl_s: float) -> str:
        """A 256-bit random ticket, valid once until `ttl_s` seconds from now."""
        self._forget_expired()
        while len(self._tickets) >= self._capacity:
            del self._tickets[next(iter(self._tickets))]  # insertion order: the oldest
        ticket = secrets.token_urlsafe(32)
        self._tickets[ticket] = (claims, self._clock() + ttl_s)
        return ticket

    async def consume(self, ticket: str) -> TokenClaims | None:
        """The claims if the ticket is live; it is removed either way."""
        entry = self._tickets.pop(ticket, None)
        if entry is None or entry[1] <= self._clock():
            return None
        return entry[0]

    def __len__(self) -> int:
        return len(self._tickets)

    def _forget_expired(self) -> None:
        """Drop expired tickets from the oldest on, stopping at the first live one: tickets are
        issued with one lifetime, so they expire in the order they were issued (a ticket that
        outlives one issued after it only waits for the capacity; `consume` checks its time).
        The whole store was scanned at each issue: 10,000 outstanding made each ~0.5 ms."""
        now = self._clock()
        while self._tickets:
            oldest = next(iter(self._tickets))
            if self._tickets[oldest][1] > now:
                return
            del self._tickets[oldest]
