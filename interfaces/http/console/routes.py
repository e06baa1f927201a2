"""`/` and `/assets/*`: the console's page and files, public, under a strict CSP."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get
from litestar.exceptions import NotFoundException

from interfaces.http.auth import PUBLIC
from interfaces.http.console.assets import Asset, load_assets

INDEX = "index.html"
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
PUBLIC_OPT = {"exclude_from_auth": True, PUBLIC: True}


def _serve(request: Request[Any, Any, Any], asset: Asset) -> Response[bytes]:
    """The file, or 304 when the browser's copy is current; browsers revalidate every load."""
    headers = {**SECURITY_HEADERS, "ETag": asset.etag, "Cache-Control": "no-cache"}
    if asset.etag in request.headers.get("if-none-match", ""):
        return Response(b"", status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def console_router() -> Router:
    """The console's routes over the files shipped in the package (read once, here)."""
    assets = load_assets()
    index = assets[INDEX]

    @get("/", opt=PUBLIC_OPT, include_in_schema=False, name="console")
    async def console_page(request: Request[Any, Any, Any]) -> Response[bytes]:
        """The single page; the client routes by the URL fragment (`#/logs`, ...)."""
        return _serve(request, index)

    @get("/assets/{file_path:path}", opt=PUBLIC_OPT, include_in_schema=False)
    async def console_asset(request: Request[Any, Any, Any], file_path: str) -> Response[bytes]:
        """A script, stylesheet or image of the console; nothing outside the shipped set."""
        asset = assets.get(f"assets/{file_path.lstrip('/')}")
        if asset is None:
            raise NotFoundException(f"no console asset {file_path[:120]!r}")
        return _serve(request, asset)

    return Router(path="/", route_handlers=[console_page, console_asset], include_in_schema=False)
