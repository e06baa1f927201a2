"""An SSE stream lives no longer than the session it was opened with, nor than the server.

It ends at the token's expiry, and within `RECHECK_S` of the token being revoked, the user being
deleted or the password being changed, with an `event: error` frame saying why. When the server
is shutting down (`stopping` set) it ends at once, so the HTTP server's graceful shutdown finds
no response still open and has nothing to cancel.

One user holds at most `DECNET_MAX_STREAMS_PER_USER` streams open in one API process
(`StreamSlots`): each holds a subscription, a queue and a socket, and a token (or a leaked one)
could otherwise open them until the process runs out of file descriptors.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import msgspec
import structlog
from litestar.response import ServerSentEventMessage

from application.errors import AuthenticationError, RateLimitedError, UnavailableError
from application.identity.login import Authenticator, Principal

RECHECK_S = 5.0
log = structlog.get_logger()
Messages = AsyncIterator[ServerSentEventMessage]
SLOTS_RETRY_AFTER_S = 5


class StreamSlots:
    """How many SSE streams each user has open in this process, bounded per user."""

    def __init__(self, per_user: int) -> None:
        self.per_user = per_user
        self._open: Counter[str] = Counter()

    def open_for(self, user_id: str) -> int:
        """The streams `user_id` holds open now."""
        return self._open[user_id]

    def take(self, principal: Principal) -> Callable[[], None]:
        """Count one more stream of the caller, or 429 when they hold the most allowed; the
        returned release (idempotent) gives the slot back."""
        user = principal.user_id
        if self._open[user] >= self.per_user:
            raise RateLimitedError(
                f"too many live streams: {principal.username} holds {self.per_user} open on"
                " this server (DECNET_MAX_STREAMS_PER_USER); close one first",
                SLOTS_RETRY_AFTER_S,
            )
        self._open[user] += 1
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            self._open[user] -= 1
            if self._open[user] <= 0:
                del self._open[user]

        return release


def session_stream(
    messages: Messages,
    principal: Principal,
    auth: Authenticator,
    slots: StreamSlots,
    stopping: asyncio.Event | None = None,
) -> Messages:
    """`while_session_lasts`, counted against the caller's streams (429 when they hold the
    most allowed) until it ends."""
    release = slots.take(principal)
    stream = while_session_lasts(messages, principal, auth, stopping=stopping, release=release)
    # A response never started (the client left first) is never iterated, so its `finally`
    # never runs: the slot comes back when the generator is collected.
    weakref.finalize(stream, release)
    return stream


def session_ended(reason: str) -> ServerSentEventMessage:
    """The frame that closes a stream whose session is over."""
    body = {"type": "error", "message": f"session ended: {reason}"}
    return ServerSentEventMessage(data=msgspec.json.encode(body).decode(), event="error")


def server_stopping() -> ServerSentEventMessage:
    """The frame that closes every stream when the server shuts down (clients resume later)."""
    body = {"type": "error", "message": "server shutting down"}
    return ServerSentEventMessage(data=msgspec.json.encode(body).decode(), event="error")


async def while_session_lasts(
    messages: Messages,
    principal: Principal,
    auth: Authenticator,
    clock: Callable[[], float] = time.time,
    recheck_s: float = RECHECK_S,
    stopping: asyncio.Event | None = None,
    release: Callable[[], None] | None = None,
) -> Messages:
    """Pass `messages` through until the token expires, its session stops being valid or the
    server stops; `release` is called when it ends."""
    pending: asyncio.Future[ServerSentEventMessage] | None = None
    stop = asyncio.ensure_future((stopping or asyncio.Event()).wait())
    checked_at = clock()
    try:
        while True:
            now = clock()
            remaining = principal.claims.expires_at - now
            if remaining <= 0:
                yield session_ended("token expired")
                return
            # Due by time, not only after a quiet spell: a busy stream is re-checked too.
            if now - checked_at >= recheck_s:
                checked_at = now
                reason = await _invalid(principal, auth)
                if reason is not None:
                    yield session_ended(reason)
                    return
            if pending is None:
                pending = asyncio.ensure_future(anext(messages))
            waiting: set[asyncio.Future[Any]] = {pending, stop}
            done, _ = await asyncio.wait(
                waiting,
                timeout=max(0.0, min(recheck_s - (now - checked_at), remaining)),
                return_when=asyncio.FIRST_COMPLETED,
            )
            if stop in done:
                yield server_stopping()
                return
            if pending in done:
                finished, pending = pending, None
                try:
                    message = finished.result()
                except StopAsyncIteration:
                    return
                yield message
    finally:
        if release is not None:
            release()
        stop.cancel()
        await _close(pending, messages)


async def _invalid(principal: Principal, auth: Authenticator) -> str | None:
    """Why the session no longer holds (revoked, user deleted, credentials changed), or None."""
    try:
        await auth.authenticate_claims(principal.claims)
    except (AuthenticationError, UnavailableError) as e:  # fail closed: unchecked is ended
        return str(e)
    return None


async def _close(
    pending: asyncio.Future[ServerSentEventMessage] | None, messages: Messages
) -> None:
    """Stop the inner stream (its `finally` releases the subscription), even while cancelled."""
    with anyio.CancelScope(shield=True):
        if pending is not None:
            pending.cancel()
            await _quietly(pending)
        aclose = getattr(messages, "aclose", None)
        if aclose is not None:
            await _quietly(aclose())


async def _quietly(step: Awaitable[object]) -> None:
    """Await one closing step; the client is gone either way, so a failure is logged, not raised."""
    try:
        # Cancelled just above, or the inner stream had already ended: nothing to report.
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await step
    except Exception:
        log.exception("stream_close_failed")
