"""Login throttling: too many failures per client IP or per username answer 429."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable

from application.errors import RateLimitedError


class LoginRateLimiter:
    """A sliding window of failures per key; in-process (one per API process)."""

    def __init__(
        self,
        max_failures: int = 10,
        window_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max = max_failures
        self._window = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def check(self, client_ip: str, username: str) -> None:
        """Raise `RateLimited` when either key has used up its failures."""
        now = self._clock()
        for key in (f"ip:{client_ip}", f"user:{username}"):
            window = self._prune(key, now)
            if len(window) >= self._max:
                retry_after = int(window[0] + self._window - now) + 1
                raise RateLimitedError(
                    "too many failed login attempts; try again later", retry_after
                )

    def failed(self, client_ip: str, username: str) -> None:
        """Count one failure against both keys."""
        now = self._clock()
        for key in (f"ip:{client_ip}", f"user:{username}"):
            self._failures[key].append(now)

    def _prune(self, key: str, now: float) -> deque[float]:
        window = self._failures[key]
        while window and window[0] <= now - self._window:
            window.popleft()
        if not window:
            del self._failures[key]  # keep memory bounded by active offenders
            return deque()
        return window
