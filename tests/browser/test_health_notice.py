"""The overview says when the server is not healthy, and which component fails and why.

A server restarted on another signing key than the one its history's checkpoints name (what a
split process without the shared key file was) reports `signing_key` failing: the overview
shows it, with the fix, to whoever signs in; a healthy server shows nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from infrastructure.audit.signing import SigningKey
from tests.api.harness import BOOTSTRAP_ADMIN, Backend, scratch_dir
from tests.api.observations_support import get_json, wait_for
from tests.browser.conftest import Console, Tab
from tests.browser.test_console import sign_in

pytestmark = pytest.mark.browser
SIGN_EACH_SECOND = {"DECNET_CHECKPOINT_EVERY_S": "1"}


def test_the_overview_names_a_failing_component_and_shows_nothing_when_healthy(
    open_tab: Callable[..., Tab],
) -> None:
    with (
        scratch_dir("browser-health") as data_dir,
        scratch_dir("browser-health-key") as keys,
        Backend("embedded").server(data_dir, extra_env=SIGN_EACH_SECOND) as server,
    ):
        console = Console(server)
        token = console.admin_token()
        with server.client() as api:
            wait_for(
                lambda: get_json(api, token, "/audit/checkpoints")["total"] or None,
                30,
                "the history's first checkpoint",
            )
        # given a healthy server, the overview shows no notice
        tab = open_tab()
        sign_in(tab.page, console, BOOTSTRAP_ADMIN, console.admin_password)
        expect(tab.page.locator(".health-notice")).to_be_empty()
        tab.context.close()  # its live stream would retry against the stopped server

        # when it restarts holding another key than the one that signed its history
        other = keys / "other.pem"
        SigningKey.load_or_create(other)
        server.stop()
        server.extra_env["DECNET_SIGNING_KEY_FILE"] = str(other)
        server.start()

        # then the overview says the server is degraded, and why
        tab = open_tab()
        sign_in(tab.page, console, BOOTSTRAP_ADMIN, console.admin_password)
        notice = tab.page.locator(".health-notice .notice.warn")
        expect(notice).to_contain_text("The server is degraded")
        failing = notice.locator("[data-component='signing_key']")
        expect(failing).to_contain_text(SigningKey.load(other).fingerprint())
        expect(failing).to_contain_text("DECNET_SIGNING_KEY_FILE")
        expect(notice.locator("li")).to_have_count(1)
