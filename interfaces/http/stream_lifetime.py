"""An SSE stream lives no longer than the session it was opened with, nor than the server.

It ends at the token's expiry, and within `RECHECK_S` of the token being revoked, the user being
deleted or the password being changed, with an `event: error` frame saying why. When the server
is shutting down (`stopping` set) it ends at once, so the HTTP server's graceful shutdown finds
no response still open and has nothing to cancel.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import msgspec
import structlog
from litestar.response import ServerSentEventMessage

from application.errors import AuthenticationError, UnavailableError
from application.identity.login import Authenticator, Principal

RECHECK_S = 5.0
log = structlog.get_logger()
Messages = AsyncIterator[ServerSentEventMessage]


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
) -> Messages:
    """Pass `messages` through until the token expires, its session stops being valid or the
    server stops."""
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
