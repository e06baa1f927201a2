"""X-Request-ID on every response (echoed when the client sent a sane one), bound into logs, and
each request timed for `/metrics`: one ASGI layer around the whole app (ADR 0022, addendum).

The layer sits outside Litestar's own exception handling, so it sees the response a client
gets (a 401 from the auth middleware, a 404 for no route) and binds the id before anything of
the request logs. One wrapper of `send` does both jobs; before, two middlewares and a
`before_send` hook each wrapped it.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from typing import Any

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from infrastructure.metrics import METRICS

_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# A new id is this process's random half and a counter (32 hex digits, like a uuid4's): unique
# without a `getrandom` syscall per request.
_PROCESS = secrets.token_hex(8)
_SERIAL = itertools.count(1)
_HEADER = b"x-request-id"
_timers: dict[tuple[str, str, int], Any] = {}  # the histogram's child per label set


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
            await app(scope, receive, send_observed)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)
            _observe(scope, status, time.perf_counter() - started)

    return observed


def _observe(scope: Scope, status: int, seconds: float) -> None:
    # The ASGI Scope TypedDict does not declare Litestar's `path_template`.
    route: str = scope.get("path_template") or "unmatched"  # type: ignore[typeddict-item]
    key = (route, scope["method"], status)  # type: ignore[typeddict-item]  # an HTTP scope
    timer = _timers.get(key)
    if timer is None:
        timer = _timers[key] = METRICS.http_seconds.labels(route, key[1], str(status))
    timer.observe(seconds)
