"""What every long-running `decnet` process shares: its event loop, its stop on SIGINT/SIGTERM
and its one-line start-up failures (a split process's missing shared settings among them). Kept
apart from `main`, `serve` and `processes`, so that the intake processes (`decnet collector`,
`decnet serve`'s child) import neither the command line nor the HTTP server."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import Protocol

from infrastructure.logging import configure_logging
from infrastructure.settings import AppSettings, ConfigError, load_settings

# Long-running servers run on uvloop: the HTTP path's event-loop overhead (socket writes, readiness
# callbacks, timers) is a large part of a `/logs` request's CPU (ADR 0022).
LOOP = {"use_uvloop": True}


class StoppableServer(Protocol):
    """What `Shutdown` sets on an HTTP server it also stops (uvicorn's `Server`)."""

    should_exit: bool
    force_exit: bool


class Shutdown:
    """SIGINT/SIGTERM: ask the server to stop (a second SIGINT forces it)."""

    def __init__(self) -> None:
        self.requested = asyncio.Event()
        self.server: StoppableServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def install(self) -> None:
        """Called on the running loop: the handler wakes this loop, not the policy's default.

        (Under uvloop, anyio's runner never sets its loop on the policy, so the policy's
        `get_event_loop()` is another, idle loop: the stop was never seen and open streams
        outlived uvicorn's graceful timeout.)
        """
        self._loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, sig: int, _frame: FrameType | None) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.requested.set)
        if self.server is not None:
            self.server.force_exit = self.server.should_exit and sig == signal.SIGINT
            self.server.should_exit = True

    def request(self) -> None:
        """Stop from inside (on the event loop), as a SIGTERM would."""
        self.requested.set()
        if self.server is not None:
            self.server.should_exit = True


def startup_failure(error: BaseException) -> str | None:
    """A one-line reason for configuration and bind errors (anything else is a bug: re-raise)."""
    leaves = list(error.exceptions) if isinstance(error, BaseExceptionGroup) else [error]
    for leaf in leaves:
        if isinstance(leaf, BaseExceptionGroup):
            nested = startup_failure(leaf)
            if nested:
                return nested
        if isinstance(leaf, ConfigError):
            return str(leaf)
        if isinstance(leaf, OSError):
            return f"cannot start: {leaf.strerror or leaf}"
        if isinstance(leaf, SystemExit):  # uvicorn exits after logging a bind failure
            return "the HTTP server could not start (is the port already in use?)"
    return None


def require_shared(settings: AppSettings, command: str) -> None:
    """A split process refuses to start without the database and Redis it shares."""
    if not settings.redis_url:
        raise ConfigError(
            f"decnet {command} runs beside other processes and needs DECNET_REDIS_URL "
            "(or run everything in one process with `decnet serve`)"
        )
    if command == "api" and not settings.jwt_secret:
        raise ConfigError(
            "decnet api replicas must sign tokens with one secret: set DECNET_JWT_SECRET"
        )
    if not settings.database_url:
        raise ConfigError(
            f"decnet {command} runs beside other processes and needs DECNET_DATABASE_URL "
            "(the embedded database serves `decnet serve` alone)"
        )


def run_with_settings(prog: str, run: Callable[[AppSettings], int]) -> int:
    """Load the settings, set up logging and `run`; 2 with a one-line reason, after `prog`, on
    a configuration or startup error."""
    try:
        settings = load_settings()
    except ConfigError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    try:
        return run(settings)
    except (Exception, BaseExceptionGroup) as e:
        reason = startup_failure(e)
        if reason is None:
            raise
        print(f"{prog}: {reason}", file=sys.stderr)
        return 2
