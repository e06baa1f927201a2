"""Black-box tests of the console's HTTP surface: `/`, `/assets/*`, headers, the API beside it."""

from __future__ import annotations

import httpx

from tests.api.harness import DecnetServer

CSP_PARTS = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
]


def get(server: DecnetServer, path: str, **headers: str) -> httpx.Response:
    return httpx.get(server.base_url + path, headers=headers, timeout=10)


def test_the_console_page_is_public_and_locked_down(server: DecnetServer) -> None:
    """`/` answers the page without a token, under a strict CSP without unsafe-inline."""
    response = get(server, "/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/assets/js/main.js">' in response.text
    csp = response.headers["content-security-policy"]
    assert all(part in csp for part in CSP_PARTS), csp
    assert "unsafe" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers.get("x-request-id")


def test_assets_revalidate_with_etags(server: DecnetServer) -> None:
    """An asset has an ETag and no-cache; sending the ETag back gives 304 without a body."""
    first = get(server, "/assets/js/main.js")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/javascript")
    assert first.headers["cache-control"] == "no-cache"
    assert "content-security-policy" in first.headers
    again = get(server, "/assets/js/main.js", **{"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""


def test_only_shipped_files_are_served(server: DecnetServer) -> None:
    """Unknown or escaping asset paths are a JSON 404, never a file from elsewhere."""
    escaping = ["/assets/%2e%2e/%2e%2e/pyproject.toml", "/assets/../index.html"]
    for path in ["/assets/nope.js", *escaping]:
        response = get(server, path)
        assert response.status_code == 404, path
        assert isinstance(response.json()["detail"], str)


def test_the_api_and_its_docs_are_unchanged_beside_the_console(server: DecnetServer) -> None:
    """Swagger and the OpenAPI still answer; the console routes stay out of the API schema;
    an unknown API path is still a JSON 404 and an API route still wants a token."""
    assert get(server, "/schema/swagger").status_code == 200
    spec = get(server, "/schema/openapi.json").json()
    assert "/" not in spec["paths"]
    assert not [p for p in spec["paths"] if p.startswith("/assets")]
    assert "/api/v1/auth/sse-ticket" in spec["paths"]
    missing = get(server, "/api/v1/no-such-route")
    assert missing.status_code in (401, 404)
    assert "detail" in missing.json()
    assert get(server, "/api/v1/stats").status_code == 401
