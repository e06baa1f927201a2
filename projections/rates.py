"""A small sliding-window meter: how many events a slot applied per second recently."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

WINDOW_S = 10.0


class RateMeter:
    """Counts added in the last `window` seconds, divided by the window (or the time observed)."""

    def __init__(
        self, window: float = WINDOW_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._window = window
        self._clock = clock
        self._samples: deque[tuple[float, int]] = deque()
        self._started = clock()

    def add(self, count: int) -> None:
        """Record `count` events applied now."""
        now = self._clock()
        self._samples.append((now, count))
        self._prune(now)

    def rate(self) -> float:
        """Events per second over the window."""
        now = self._clock()
        self._prune(now)
        span = min(self._window, max(now - self._started, 1e-3))
        return sum(n for _, n in self._samples) / span

    def _prune(self, now: float) -> None:
        while self._samples and self._samples[0][0] < now - self._window:
            self._samples.popleft()
