"""Black-box: the Swagger UI page at `/schema/swagger` loads only files this server serves."""

from __future__ import annotations

import re

import httpx

from tests.api.harness import DecnetServer

REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
MEDIA = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


def test_the_docs_page_names_no_remote_asset(server: DecnetServer) -> None:
    """Every script, stylesheet and icon of the page is a path on this server, none a CDN URL."""
    page = httpx.get(f"{server.base_url}/schema/swagger")
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    references = REFERENCE.findall(page.text)
    assert len(references) >= 4  # stylesheet, bundle, preset, icon
    for url in references:
        assert url.startswith("/"), url
        assert not url.startswith("//"), url
    for cdn in ("jsdelivr", "unpkg", "cdnjs", "googleapis"):
        assert cdn not in page.text, cdn


def test_the_docs_assets_are_served_by_us(server: DecnetServer) -> None:
    """Each referenced file answers 200 with its media type, without a token; the bundle is
    Swagger UI 5 (it renders OpenAPI 3.1, which Swagger UI 4 refuses)."""
    page = httpx.get(f"{server.base_url}/schema/swagger").text
    for url in REFERENCE.findall(page):
        response = httpx.get(f"{server.base_url}{url}")
        assert response.status_code == 200, url
        suffix = url[url.rfind(".") :]
        assert response.headers["content-type"].startswith(MEDIA[suffix]), url
        assert len(response.content) > 500, url
    bundle = next(u for u in REFERENCE.findall(page) if u.endswith("swagger-ui-bundle.js"))
    body = httpx.get(f"{server.base_url}{bundle}").text
    assert "SwaggerUIBundle" in body
    assert re.search(r'"5\.\d+\.\d+"', body), "not Swagger UI 5"
    spec = httpx.get(f"{server.base_url}/schema/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
