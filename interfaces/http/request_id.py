"""X-Request-ID on every response (echoed when the client sent a sane one), bound into logs, and
each request timed for `/metrics`: one ASGI layer around the whole app (ADR 0022, addendum).

The layer sits outside Litestar's own exception handling, so it sees the response a client
gets (a 401 from the auth middleware, a 404 for no route) and binds the id before anything of
the request logs. One wrapper of `send` does both jobs; before, two middlewares and a
`before_send` hook each wrapped it.

It also stops a search whose client has left. What a search costs grows with the rows it
matches (a one-letter word is a scan: seconds at 10,000,000 rows), and uvicorn tells an
application that its client went away only through `receive()`, which a GET handler never
calls: a dashboard that gave up (a closed tab, the next keystroke's search) left PostgreSQL
working for nobody. For a GET with a `search` parameter the layer waits on `receive()` beside
the handler and, when the client goes before the response is complete, cancels the handler's
task once: psycopg asks PostgreSQL to cancel the statement and waits for it to end, and the
connection goes back to the pool idle. The request is counted with status 499 (the client
closed it). Other reads are bounded by design and skip the extra task; the SSE route watches
its own client.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
import time
from typing import Any

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from infrastructure.metrics import METRICS

_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# A new id is this process's random half and a counter (32 hex digits, like a uuid4's): unique
# without a `getrandom` syscall per request.
_PROCESS = secrets.token_hex(8)
_SERIAL = itertools.count(1)
_HEADER = b"x-request-id"
_timers: dict[tuple[str, str, int], Any] = {}  # the histogram's child per label set
CLIENT_CLOSED = 499  # nginx's status for a request its client closed before the response
_STREAM_PATH = "/api/v1/stream"


def request_id_for(scope: Scope) -> str:
    """The request's id: the client's if it is sane, else a new one; stored on the scope."""
    # The ASGI Scope TypedDict does not declare `state`, which Litestar keeps in it.
    state: dict[str, Any] = scope.setdefault("state", {})  # type: ignore[typeddict-item]
    request_id: str | None = state.get("request_id")
    if request_id is None:
        sent = ""
        for name, value in scope["headers"]:
            if name == _HEADER:
                sent = value.decode("latin-1")  # the last one wins, as a dict of them did
        request_id = sent if _SANE.fullmatch(sent) else f"{_PROCESS}{next(_SERIAL):016x}"
        state["request_id"] = request_id
    return request_id


def observe_requests(app: ASGIApp) -> ASGIApp:
    """The id on the scope, in every log line and on the response; the request's latency."""

    async def observed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_for(scope)
        header = (_HEADER, request_id.encode())
        status = 500  # what an exception that escapes everything becomes

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", ()) if h[0].lower() != _HEADER]
                headers.append(header)
                message["headers"] = headers
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            if _searching(scope):
                if await _until_client_leaves(app, scope, receive, send_observed):
                    status = CLIENT_CLOSED
            else:
                await app(scope, receive, send_observed)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)
            _observe(scope, status, time.perf_counter() - started)

    return observed


def _searching(scope: Scope) -> bool:
    """A GET whose query string has a `search` parameter (not the SSE route)."""
    query: bytes = scope["query_string"]  # type: ignore[typeddict-item]  # an HTTP scope
    return (
        scope["method"] == "GET"  # type: ignore[typeddict-item]
        and (query.startswith(b"search=") or b"&search=" in query)
        and scope["path"] != _STREAM_PATH
    )


async def _until_client_leaves(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> bool:
    """Run `app`, cancelling it if the client disconnects before its response is complete;
    True when that happened (the client is gone: there is nobody to answer)."""
    pending: ReceiveMessage | None = await receive()  # a GET's request message: no body to stream
    left = asyncio.Event()
    complete = False
    abandoned = False
    task = asyncio.current_task()
    assert task is not None

    async def replayed() -> ReceiveMessage:
        nonlocal pending
        if pending is not None:
            message, pending = pending, None
            return message
        await left.wait()
        return {"type": "http.disconnect"}

    async def completing(message: Message) -> None:
        nonlocal complete
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            complete = True
        await send(message)

    async def watch() -> None:
        nonlocal abandoned
        # After the request, uvicorn's `receive` returns only when the client has gone or
        # the response is complete (both say `http.disconnect`).
        message = await receive()
        if message["type"] == "http.disconnect":
            left.set()
            if not complete:
                abandoned = True
                task.cancel()

    watcher = asyncio.create_task(watch())
    try:
        await app(scope, replayed, completing)
    except asyncio.CancelledError:
        if not abandoned:
            raise
        task.uncancel()  # this layer's own cancellation, handled here
        structlog.get_logger().info("request_abandoned", path=scope["path"])
    finally:
        watcher.cancel()
    return abandoned


def _observe(scope: Scope, status: int, seconds: float) -> None:
    # The ASGI Scope TypedDict does not declare Litestar's `path_template`.
    route: str = scope.get("path_template") or "unmatched"  # type: ignore[typeddict-item]
    key = (route, scope["method"], status)  # type: ignore[typeddict-item]  # an HTTP scope
    timer = _timers.get(key)
    if timer is None:
        timer = _timers[key] = METRICS.http_seconds.labels(route, key[1], str(status))
    timer.observe(seconds)
