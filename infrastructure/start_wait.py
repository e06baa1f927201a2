"""Waiting at start for a service beside us (PostgreSQL, Redis) that does not answer yet."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit

import structlog

from infrastructure.settings import ConfigError

log = structlog.get_logger()


class StartWait:
    """Retry with a growing pause (0.5 s doubling to 5 s) until `wait_s` has passed since it
    was made; then a one-line `ConfigError` naming what could not be reached, not a traceback.

    `failed(reason)` is called after each failed try: it logs `event` and returns how long to
    pause before the next one, or raises once the time is up.
    """

    def __init__(
        self,
        what: str,
        where: str,
        wait_s: float,
        event: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._what = what
        self._where = where
        self._wait_s = wait_s
        self._event = event
        self._clock = clock
        self._deadline = clock() + wait_s
        self._delay = 0.5

    def failed(self, reason: str) -> float:
        """The pause before the next try; `ConfigError` once `wait_s` has passed."""
        left = self._deadline - self._clock()
        if left <= 0:
            raise ConfigError(
                f"cannot reach {self._what} at {self._where} (waited {self._wait_s:g} s): {reason}"
            )
        delay = self._delay
        log.warning(self._event, at=self._where, error=reason, retry_in_s=delay)
        self._delay = min(delay * 2, 5.0)
        return min(delay, left)


def first_line(error: BaseException) -> str:
    """An exception's first line, or its type's name when it has no message."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def service_address(url: str, default_port: int) -> str:
    """host:port/database of a service URL (PostgreSQL, Redis), without its credentials."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname or 'localhost'}:{parts.port or default_port}{parts.path}"
