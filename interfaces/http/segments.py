"""An encoded slash (`%2F`) stays inside its path segment of the API.

The server decodes the whole path before routing, so `/artifacts/..%2Felsewhere/x` arrived as
four segments, matched no route and got 404, where SPEC §3 answers a name outside its pattern
with 400. Here a path whose raw form holds an encoded slash is decoded segment by segment, each
slash that was encoded kept as `%2F`: the route's own validation then sees the name as sent
and rejects it (after authentication and the role check, like any other bad name). Paths
without one are left alone.
"""

from __future__ import annotations

from urllib.parse import unquote

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

_API = b"/api/"


def keep_encoded_slashes(app: ASGIApp) -> ASGIApp:
    """`app`, routing API paths by the segments their client sent."""

    async def routed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            raw = scope.get("raw_path") or b""
            if raw.startswith(_API) and b"%2f" in raw.lower():
                scope["path"] = segments_path(raw)
        await app(scope, receive, send)

    return routed


def segments_path(raw: bytes) -> str:
    """The raw path decoded one segment at a time, a decoded slash written back as `%2F`."""
    return "/".join(
        unquote(segment).replace("/", "%2F")
        for segment in raw.decode("ascii", "replace").split("/")
    )
