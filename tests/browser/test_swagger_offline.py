"""Swagger UI renders in Chromium with every request off this server refused (air-gapped)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Route, expect

from tests.browser.conftest import Console, Tab

pytestmark = pytest.mark.browser


def test_swagger_ui_renders_with_no_network_but_ours(
    console: Console, open_tab: Callable[..., Tab]
) -> None:
    """/schema/swagger draws its operations while any other host is unreachable."""
    tab = open_tab()
    ours = urlparse(console.server.base_url).netloc
    elsewhere: list[str] = []

    def refuse_foreign(route: Route) -> None:
        url = route.request.url
        if urlparse(url).netloc == ours or url.startswith("data:"):
            route.continue_()
        else:
            elsewhere.append(url)
            route.abort()

    tab.page.route("**/*", refuse_foreign)
    tab.page.goto(console.server.base_url + "/schema/swagger")
    expect(tab.page.locator(".swagger-ui .information-container .title")).to_contain_text(
        "decnet-es", timeout=15_000
    )
    expect(tab.page.locator(".opblock-summary-path[data-path='/api/v1/attackers']")).to_have_count(
        1
    )
    assert elsewhere == []
