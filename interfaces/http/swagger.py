"""Swagger UI at `/schema/swagger` from files we ship: nothing is fetched from a CDN.

swagger-ui-dist is vendored beside the console's other third-party code (`vendor/MANIFEST.json`
records its version, the npm tarball's integrity and each file's sha256) and served by the
console's `/assets/` route. The `swagger-ui-bundle` wheel was the other way to package it, but
it carries Swagger UI 4, which cannot render the OpenAPI 3.1 document Litestar generates.
"""

from __future__ import annotations

from litestar.openapi.plugins import SwaggerRenderPlugin

ASSETS = "/assets/vendor/swagger-ui"


def swagger_plugin() -> SwaggerRenderPlugin:
    """Litestar's Swagger page with every script, stylesheet and icon pointing at our files."""
    return SwaggerRenderPlugin(
        js_url=f"{ASSETS}/swagger-ui-bundle.js",
        css_url=f"{ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{ASSETS}/favicon-32x32.png'>",
    )
