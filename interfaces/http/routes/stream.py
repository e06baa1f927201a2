"""`GET /stream`: the live SSE feed (token by header or `?token=`, or a single-use `?ticket=`)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get
from litestar.response import ServerSentEvent

from application.errors import UnavailableError
from interfaces.http.auth import QUERY_TOKEN, principal_of, services_of
from interfaces.http.openapi import ANSWERS, SSE_ANSWER
from interfaces.http.params import (
    MAX_OFFSET,
    TEXT,
    EndTime,
    SearchParam,
    StartTime,
    given,
    int_param,
    integer,
    log_filter,
    query,
)
from interfaces.http.stream_lifetime import session_stream
from interfaces.http.stream_session import StreamSession

HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
# A replica's reader retries Redis every 0.5 s after a failed read: a stream asked for just
# after Redis returned (its ticket already consumed there) waits out one retry, not a 503.
RECOVERY_WAIT_S = 1.0


@get(
    "/stream",
    opt={QUERY_TOKEN: True, ANSWERS: (429,)},
    tags=["stream"],
    responses=SSE_ANSWER,
)
async def stream(
    request: Request[Any, Any, Any],
    lastEventId: Annotated[
        str | None, query("Resume after this log id (or `Last-Event-ID`)", integer(0, MAX_OFFSET))
    ] = None,
    search: SearchParam = None,
    start_time: StartTime = None,
    end_time: EndTime = None,
    maxOutput: Annotated[
        str | None, query("Developer mode: end after this many frames", integer(1, MAX_OFFSET))
    ] = None,
    token: Annotated[
        str | None, query("Bearer token (EventSource cannot set headers)", TEXT)
    ] = None,
    ticket: Annotated[
        str | None, query("Single-use ticket from POST /auth/sse-ticket", TEXT)
    ] = None,
) -> ServerSentEvent:
    """Stats and histogram, then the backlog after `lastEventId` (or `Last-Event-ID`), then live.

    The stream ends when the token it was opened with (directly or through the ticket) expires
    or is revoked.
    """
    services = services_of(request)
    outage = await services.api.broadcaster.unreachable_after(RECOVERY_WAIT_S)
    if outage is not None:
        raise UnavailableError(f"{outage}; GET /logs still answers")
    cursor = given(lastEventId) or request.headers.get("last-event-id")
    last_id = int_param("lastEventId", cursor, 0, 0, MAX_OFFSET)
    f = log_filter(search, start_time, end_time)
    frames = int_param("maxOutput", maxOutput, 0, 1, MAX_OFFSET)  # checked in any mode
    max_frames = frames if services.core.settings.developer and frames else None
    live = services.core.read_models.live()
    principal = principal_of(request)
    admin = principal.is_admin
    session = StreamSession(
        live, services.api.broadcaster, f, last_id, max_frames, admin, services.api.streams
    )
    api = services.api
    messages = session_stream(session.messages(), principal, api.auth, api.slots, api.stopping)
    return ServerSentEvent(messages, headers=HEADERS)
