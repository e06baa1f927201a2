"""X-Request-ID on every response (echoed when the client sent a sane one), bound into logs."""

from __future__ import annotations

import itertools
import re
import secrets
from typing import Any

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# A new id is this process's random half and a counter (32 hex digits, like a uuid4's): unique
# without a `getrandom` syscall per request.
_PROCESS = secrets.token_hex(8)
_SERIAL = itertools.count(1)


def request_id_for(scope: Scope) -> str:
    """The request's id: the client's if it is sane, else a new one; stored on the scope."""
    # The ASGI Scope TypedDict does not declare `state`, which Litestar keeps in it.
    state: dict[str, Any] = scope.setdefault("state", {})  # type: ignore[typeddict-item]
    if "request_id" not in state:
        sent = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        state["request_id"] = sent if _SANE.fullmatch(sent) else f"{_PROCESS}{next(_SERIAL):016x}"
    request_id: str = state["request_id"]
    return request_id


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Bind the request id into every log line of the request."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        with structlog.contextvars.bound_contextvars(request_id=request_id_for(scope)):
            await app(scope, receive, send)

    return middleware


async def add_request_id_header(message: Message, scope: Scope) -> None:
    """`before_send` hook: runs for every response, error responses included."""
    if message["type"] == "http.response.start" and scope["type"] == ScopeType.HTTP:
        headers = [h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"]
        headers.append((b"x-request-id", request_id_for(scope).encode()))
        message["headers"] = headers
