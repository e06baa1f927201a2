"""`HEAD` is answered wherever `GET` is: the same status and headers, no body (RFC 9110 §9.3.2).

Litestar routes a `HEAD` only to a handler declared for it, so `curl -I`, a load balancer's
health probe or a link checker got 405 from every read route. This layer hands the application
a copy of the request as a `GET` and sends the client only what comes before the body: the
response's start (its `Content-Length` is the one a `GET` gets) and an empty, final body. The
server still holds the request as a `HEAD` and writes no body whatever it is given; ending the
response at the first body message also ends a stream (`/stream`), whose handler then sees
its client gone. `Allow` (an OPTIONS answer, a 405) names `HEAD` wherever it names `GET`.
"""

from __future__ import annotations

from typing import cast

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

_END: Message = {"type": "http.response.body", "body": b"", "more_body": False}
_ALLOW = b"allow"


def allowing_head(allow: str) -> str:
    """An `Allow` value with `HEAD` beside `GET`."""
    methods = {m.strip() for m in allow.split(",") if m.strip()}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


def answer_head(app: ASGIApp) -> ASGIApp:
    """`app`, with each `HEAD` request served as its `GET` without the body."""

    async def answered(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
        elif scope["method"] == "HEAD":
            await _headers_only(app, scope, receive, send)
        elif scope["method"] == "OPTIONS":
            await app(scope, receive, _amending_allow(send))
        else:
            await app(scope, receive, send)

    return answered


async def _headers_only(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    ended = False

    async def headers_only(message: Message) -> None:
        nonlocal ended
        if ended:
            return
        if message["type"] == "http.response.body":
            ended = True
            message = _END
        await send(message)

    as_get = cast(HTTPScope, {**scope, "method": "GET"})  # a copy: the server's stays a HEAD
    await app(as_get, receive, headers_only)


def _amending_allow(send: Send) -> Send:
    async def amended(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [
                (name, allowing_head(value.decode("latin-1")).encode("latin-1"))
                if name.lower() == _ALLOW
                else (name, value)
                for name, value in message.get("headers", ())
            ]
        await send(message)

    return amended
