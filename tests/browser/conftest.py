"""Fixtures for the console's end-to-end tests: a real `decnet serve`, headless Chromium, and a
page per test whose console errors and uncaught exceptions fail the test.

Debian's chromium is driven directly (`playwright install` cannot download browsers here); set
DECNET_CHROMIUM to use another binary.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

from tests.api.harness import (
    BOOTSTRAP_ADMIN,
    BOOTSTRAP_PASSWORD,
    Backend,
    DecnetServer,
    scratch_dir,
)

CHROMIUM = os.environ.get("DECNET_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 860}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ADMIN_PASSWORD = "console-admin-pw-01"


@dataclass
class Console:
    """The server under test and what the tests learned about it along the way."""

    server: DecnetServer
    admin_password: str = BOOTSTRAP_PASSWORD
    net: int = field(default_factory=lambda: secrets.randbelow(200) + 20)
    attacker_ip: str = field(default_factory=lambda: f"127.0.0.{secrets.randbelow(120) + 100}")
    attacker_uuid: str = ""

    @property
    def url(self) -> str:
        return self.server.base_url + "/"

    def admin_token(self) -> str:
        """A bearer token for API set-up steps (after the browser changed the password)."""
        with self.server.client() as api:
            if self.admin_password == BOOTSTRAP_PASSWORD:
                first = api.token(BOOTSTRAP_ADMIN, BOOTSTRAP_PASSWORD)
                changed = api.change_password(first, BOOTSTRAP_PASSWORD, ADMIN_PASSWORD)
                assert changed.status_code == 200, changed.text
                self.admin_password = ADMIN_PASSWORD
            return api.token(BOOTSTRAP_ADMIN, self.admin_password)


@pytest.fixture(scope="session")
def console() -> Iterator[Console]:
    """One embedded-PostgreSQL server for the whole browser suite (its admin not yet activated)."""
    with scratch_dir("browser") as data_dir, Backend("embedded").server(data_dir) as server:
        yield Console(server)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium for the session."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@dataclass
class Tab:
    """A page and the errors it reported, less the refusals a test provokes on purpose."""

    page: Page
    context: BrowserContext
    errors: list[str] = field(default_factory=list)
    expected: list[tuple[int, str]] = field(default_factory=list)

    def expect_refusal(self, status: int, path: str) -> None:
        """Chromium logs every 4xx as a console error: this one is the test's own doing."""
        self.expected.append((status, path))

    def _expected(self, message: ConsoleMessage) -> bool:
        if "net::ERR_NETWORK_CHANGED" in message.text:
            # Deploying deckies adds loopback addresses; Chromium then aborts requests in
            # flight as if the network changed. The machine's doing, not the console's.
            return True
        found = re.match(r"Failed to load resource: .* status of (\d+)", message.text)
        url = str(message.location.get("url", ""))
        return bool(found) and any(
            int(found.group(1)) == status and path in url for status, path in self.expected
        )

    def watch(self) -> None:
        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error" and not self._expected(message):
                self.errors.append(f"console error: {message.text} ({message.location})")

        self.page.on("console", on_console)
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))


@pytest.fixture
def open_tab(browser: Browser) -> Iterator[Callable[..., Tab]]:
    """New isolated tabs (own sessionStorage); the test fails if any logged an error."""
    tabs: list[Tab] = []

    def open_one(theme: str = "light") -> Tab:
        context = browser.new_context(viewport=VIEWPORT, color_scheme=theme, accept_downloads=True)
        tab = Tab(context.new_page(), context)
        tab.watch()
        tabs.append(tab)
        return tab

    yield open_one
    errors = [e for tab in tabs for e in tab.errors]
    for tab in tabs:
        tab.context.close()
    assert not errors, "\n".join(errors)


def shot(page: Page, name: str, full_page: bool = True) -> None:
    """Save a screenshot under docs/screenshots/ (committed, shown in the README)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
