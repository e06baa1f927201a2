"""The in-process `TokenDenylist`: revoked token ids until their tokens expire."""

from __future__ import annotations

import time
from collections.abc import Callable

MAX_DENIED = 100_000


class MemoryTokenDenylist:
    """Denied ids live in this process only; expired ones are forgotten as new ones come."""

    def __init__(self, clock: Callable[[], float] = time.time, capacity: int = MAX_DENIED) -> None:
        self._clock = clock
        self._capacity = capacity
        self._denied: dict[str, float] = {}

    async def deny(self, jti: str, expires_at: float) -> None:
        """Hold `jti` until `expires_at`; when full, the oldest entry makes room."""
        now = self._clock()
        for key in [k for k, until in self._denied.items() if until <= now]:
            del self._denied[key]
        while len(self._denied) >= self._capacity:
            del self._denied[next(iter(self._denied))]
        self._denied[jti] = expires_at

    async def denied(self, jti: str) -> bool:
        """True while `jti`'s token has not expired."""
        until = self._denied.get(jti)
        return until is not None and until > self._clock()

    def __len__(self) -> int:
        return len(self._denied)
