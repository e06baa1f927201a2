"""`GET /stream`: the live SSE feed (token by header or `?token=`, or a single-use `?ticket=`)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import ServerSentEvent

from interfaces.http.auth import QUERY_TOKEN, principal_of, services_of
from interfaces.http.params import SearchParam, given, int_param, log_filter
from interfaces.http.stream_lifetime import while_session_lasts
from interfaces.http.stream_session import StreamSession

HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@get("/stream", opt={QUERY_TOKEN: True}, tags=["stream"])
async def stream(
    request: Request[Any, Any, Any],
    lastEventId: str | None = None,
    search: SearchParam = None,
    start_time: str | None = None,
    end_time: str | None = None,
    maxOutput: str | None = None,
    token: str | None = None,
    ticket: str | None = None,
) -> ServerSentEvent:
    """Stats and histogram, then the backlog after `lastEventId` (or `Last-Event-ID`), then live.

    The stream ends when the token it was opened with (directly or through the ticket) expires
    or is revoked.
    """
    services = services_of(request)
    cursor = given(lastEventId) or request.headers.get("last-event-id")
    last_id = int_param("lastEventId", cursor, 0, 0)
    f = log_filter(search, start_time, end_time)
    max_frames = None
    if services.core.settings.developer and given(maxOutput) is not None:
        max_frames = int_param("maxOutput", maxOutput, 0, 1)
    live = services.core.read_models.live()
    principal = principal_of(request)
    admin = principal.is_admin
    session = StreamSession(live, services.api.broadcaster, f, last_id, max_frames, admin)
    messages = while_session_lasts(
        session.messages(), principal, services.api.auth, stopping=services.api.stopping
    )
    return ServerSentEvent(messages, headers=HEADERS)
