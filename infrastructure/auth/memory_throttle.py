"""The login throttle in process memory: right for one API process (a shared one plugs in later)."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from uuid import uuid4

from application.errors import RateLimitedError
from application.identity.throttle import LoginReservation, ThrottlePolicy, username_key

REFUSAL = "too many login attempts from this address; try again later"
SWEEP_AT_KEYS = 10_000  # beyond this many tracked keys, forget the idle ones


class _Counts:
    """Failures (their times) and attempts in flight for one key."""

    __slots__ = ("failures", "in_flight")

    def __init__(self) -> None:
        self.failures: deque[float] = deque()
        self.in_flight = 0

    def prune(self, now: float, window_s: float) -> None:
        while self.failures and self.failures[0] <= now - window_s:
            self.failures.popleft()

    def used(self) -> int:
        return len(self.failures) + self.in_flight

    def idle(self) -> bool:
        return not self.failures and self.in_flight == 0


class MemoryLoginThrottle:
    """`LoginThrottle` over dicts; checks and counts without awaiting, so it is atomic."""

    def __init__(
        self, policy: ThrottlePolicy | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._policy = policy or ThrottlePolicy()
        self._clock = clock
        self._counts: dict[str, _Counts] = {}
        self._open: dict[str, tuple[str, ...]] = {}

    async def reserve(self, client_ip: str, username: str) -> LoginReservation:
        now = self._clock()
        name = username_key(username)
        limited = (
            (f"ip:{client_ip}", self._policy.per_ip),
            (f"ip-user:{client_ip}\x00{name}", self._policy.per_ip_user),
        )
        for key, limit in limited:
            counts = self._get(key, now)
            if counts.used() >= limit:
                raise RateLimitedError(REFUSAL, self._retry_after(counts, limit, now))
        user = self._get(f"user:{name}", now)
        keys = (*(key for key, _ in limited), f"user:{name}")
        for key in keys:
            self._counts.setdefault(key, _Counts()).in_flight += 1
        attempt = uuid4().hex
        self._open[attempt] = keys
        delay = self._policy.user_delay(len(user.failures))
        return LoginReservation(attempt, client_ip, username, delay)

    async def settle(self, reservation: LoginReservation, failed: bool) -> None:
        keys = self._open.pop(reservation.attempt_id, None)
        if keys is None:
            return
        now = self._clock()
        for key in keys:
            counts = self._counts.setdefault(key, _Counts())
            counts.in_flight -= 1
            if failed:
                counts.failures.append(now)
            elif counts.idle():
                del self._counts[key]
        if len(self._counts) > SWEEP_AT_KEYS:
            self._sweep(now)

    def tracked_keys(self) -> int:
        """How many keys are held (for the memory bound's test)."""
        return len(self._counts)

    def _get(self, key: str, now: float) -> _Counts:
        counts = self._counts.get(key)
        if counts is None:
            return _Counts()
        counts.prune(now, self._policy.window_s)
        return counts

    def _retry_after(self, counts: _Counts, limit: int, now: float) -> int:
        if len(counts.failures) >= limit:
            oldest = counts.failures[len(counts.failures) - limit]
            return max(1, math.ceil(oldest + self._policy.window_s - now))
        return 1  # attempts in flight end within a verification's time

    def _sweep(self, now: float) -> None:
        for key in list(self._counts):
            counts = self._counts[key]
            counts.prune(now, self._policy.window_s)
            if counts.idle():
                del self._counts[key]
