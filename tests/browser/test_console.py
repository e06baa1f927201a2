"""The console end to end in headless Chromium against a real `decnet serve`.

The tests run in file order and build on each other like an operator's first session: sign in
through the must-change flow, deploy (an error, then a fixed INI), watch records arrive live,
attack the fleet with `decnet attack-sim`, inspect the attacker, download what it left, then
check what a viewer sees. Screenshots of every page land in docs/screenshots/.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.api.harness import BOOTSTRAP_ADMIN, BOOTSTRAP_PASSWORD, make_account
from tests.api.observations_support import get_json, send_tcp, syslog_line, tag, wait_for
from tests.browser.conftest import ADMIN_PASSWORD, Console, Tab, shot

pytestmark = pytest.mark.browser
LIVE_WITHIN_S = 1.0
DEPLOY_WAIT_MS = 30_000


def open_console(page: Page, console: Console) -> None:
    """Load the console; once more if its modules did not start (see `Tab._expected`)."""
    for attempt in range(2):
        page.goto(console.url)
        try:
            page.wait_for_function("() => document.documentElement.dataset.booted", timeout=8000)
            return
        except PlaywrightTimeout:
            if attempt:
                raise


def sign_in(page: Page, console: Console, username: str, password: str) -> None:
    """Sign in through the form and wait for the overview to be ready."""
    open_console(page, console)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".overview[data-ready='true']")).to_be_visible()


def go(page: Page, route: str, ready: str) -> None:
    """Open a console route and wait for the element that says it rendered."""
    page.goto(f"{page.url.split('#')[0]}#{route}")
    expect(page.locator(ready).first).to_be_visible()


def admin_tab(open_tab: Callable[..., Tab], console: Console, theme: str = "light") -> Tab:
    tab = open_tab(theme)
    sign_in(tab.page, console, BOOTSTRAP_ADMIN, console.admin_password)
    return tab


def send_line(console: Console, marker: str, msg: str) -> float:
    """One syslog line from a fresh attacker over TCP; the monotonic time it was sent."""
    line = syslog_line(
        "edge-01", "ssh", "auth", {"src_ip": "198.51.100.7", "username": "root", "mark": marker},
        msg, datetime.now(UTC),
    )  # fmt: skip
    sent = time.monotonic()
    send_tcp(console.server.syslog_port, [line])
    return sent


def appears(page: Page, selector: str, text: str) -> None:
    """Wait, checking every animation frame, until the first `selector` element shows `text`."""
    page.wait_for_function(
        "([sel, text]) => (document.querySelector(sel)?.textContent || '').includes(text)",
        arg=[selector, text], polling="raf", timeout=5000,
    )  # fmt: skip


def test_first_sign_in_goes_through_the_password_change(
    open_tab: Callable[..., Tab], console: Console
) -> None:
    """The bootstrap admin signs in, must choose a new password, and lands on the overview."""
    tab = open_tab()
    tab.expect_refusal(401, "/api/v1/auth/login")
    page = tab.page
    open_console(page, console)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shot(page, "login", full_page=False)
    page.get_by_label("Username").fill(BOOTSTRAP_ADMIN)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Incorrect username or password")
    page.get_by_label("Password").fill(BOOTSTRAP_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_label("Repeat it", exact=True).fill(ADMIN_PASSWORD + "x")
    page.get_by_role("button", name="Set password and continue").click()
    expect(page.get_by_role("alert")).to_contain_text("differ")
    page.get_by_label("Repeat it", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Set password and continue").click()
    expect(page.locator(".overview[data-ready='true']")).to_be_visible()
    console.admin_password = ADMIN_PASSWORD
    expect(page.locator("#who")).to_contain_text("admin")
    token = page.evaluate("() => sessionStorage.getItem('decnet.token')")
    assert token
    assert token not in page.url


def test_deploy_shows_the_refusal_on_its_line_then_deploys(
    open_tab: Callable[..., Tab], console: Console
) -> None:
    """An INI with an unknown service is refused on its section and key; the fixed one runs."""
    tab = admin_tab(open_tab, console)
    tab.expect_refusal(422, "/api/v1/deckies/deploy")
    page = tab.page
    go(page, "/fleet", ".fleet-page")
    bad = (
        f"[general]\nnet = 127.97.{console.net}.0/24\n\n[web]\narchetype = linux-server\n\n"
        "[web.ssh]\npassword = toor\n\n[db]\nservices = mysql, redis, gopher\n"
    )
    page.get_by_label("Fleet INI").fill(bad)
    page.get_by_role("button", name="Deploy", exact=True).click()
    problem = page.locator(".ini-problem[data-section='db'][data-key='services']")
    expect(problem).to_contain_text("unknown service 'gopher'")
    expect(problem).to_have_attribute("data-line", "11")
    expect(page.locator(".ini-gutter .bad")).to_have_text("11")
    shot(page, "fleet-deploy-error")
    page.get_by_label("Fleet INI").fill(bad.replace(", gopher", ""))
    page.get_by_role("button", name="Deploy", exact=True).click()
    expect(page.locator(".form-status .notice.ok")).to_contain_text("Deployed 2 deckies")
    for name in ("web", "db"):
        row = page.locator(f"tr[data-decky='{name}']")
        expect(row).to_have_attribute("data-status", "running", timeout=DEPLOY_WAIT_MS)
        expect(row).to_contain_text(f"127.97.{console.net}.")
    expect(page.locator("tr[data-decky='web']")).to_contain_text("ssh:22")
    shot(page, "fleet")


def test_a_syslog_line_appears_live_on_the_overview_and_the_logs_page(
    open_tab: Callable[..., Tab], console: Console
) -> None:
    """A line sent to the collector shows in the overview's tail and on the logs page in < 1 s."""
    page = admin_tab(open_tab, console).page
    expect(page.locator(".live-state[data-state='live']")).to_be_visible()
    marker = tag()
    sent = send_line(console, marker, f"overview {marker}")
    appears(page, ".tail-table tbody", f"overview {marker}")
    overview_s = time.monotonic() - sent
    go(page, "/logs", ".logs-page[data-live='live']")
    sent = send_line(console, marker, f"logs page {marker}")
    appears(page, ".logs-table tbody tr.log-row", f"logs page {marker}")
    logs_s = time.monotonic() - sent
    first_row = page.locator(".logs-table tbody tr.log-row").first
    expect(first_row).to_contain_text(f"logs page {marker}")
    assert overview_s < LIVE_WITHIN_S, f"overview tail took {overview_s:.2f} s"
    assert logs_s < LIVE_WITHIN_S, f"logs page took {logs_s:.2f} s"
    first_row.click()
    detail = page.locator(".log-detail")
    expect(detail).to_contain_text(marker)
    expect(detail.locator("pre.raw")).to_contain_text("relay@55555")
    page.get_by_label("Search logs").fill(f"mark:{marker}")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator(".pager-count")).to_have_text("1\u20132 of 2")
    page.locator(".logs-table tbody tr.log-row").first.click()
    expect(page.locator(".log-detail pre.raw")).to_contain_text(marker)
    shot(page, "logs")


def test_attack_sim_then_the_attacker_in_detail(
    open_tab: Callable[..., Tab], console: Console
) -> None:
    """`decnet attack-sim` makes an attacker whose page shows path, behaviour and harvest."""
    result = console.server.run_cli(
        "attack-sim", "--url", console.server.base_url, "--token", console.admin_token(),
        "--source-ip", console.attacker_ip, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    # attack-sim waited (bounded) for the attackers model only; the artifacts come from the logs
    # model, which follows the store on its own. The page reads each once: wait for both.
    with console.server.client() as api:
        token = console.admin_token()

        def artifact_listed() -> bool | None:
            listed = get_json(api, token, "/attackers", search=console.attacker_ip)["data"]
            found = next((a for a in listed if a["ip"] == console.attacker_ip), None)
            if found is None:
                return None
            artifacts = api.get(f"/attackers/{found['uuid']}/artifacts", token)
            assert artifacts.status_code == 200, artifacts.text
            return True if ".attack-sim.sh" in artifacts.text else None

        wait_for(artifact_listed, 30, "the attacker and its artifact")
    page = admin_tab(open_tab, console).page
    go(page, "/attackers", ".attackers-table")
    page.get_by_role("link", name=console.attacker_ip, exact=True).click()
    expect(page.locator(".attacker-page[data-ready='true']")).to_be_visible()
    console.attacker_uuid = page.url.rsplit("/", 1)[-1]
    expect(page.locator(".traversal")).to_contain_text("web")
    expect(page.locator(".traversal")).to_contain_text("db")
    expect(page.get_by_role("region", name="Commands")).to_contain_text("uname -a")
    expect(page.get_by_role("region", name="Credentials")).to_contain_text("toor")
    fingerprints = page.get_by_role("region", name="Fingerprints")
    expect(fingerprints).to_contain_text("ssh_client")
    # Each fingerprint is a bounty of its own: rows that read alike would hide what differs.
    shown = fingerprints.locator("tbody tr").all_inner_texts()
    assert len(shown) == len(set(shown)), shown
    expect(page.get_by_role("region", name="Behaviour")).to_contain_text("OS guess")
    expect(page.locator(".artifacts-table")).to_contain_text(".attack-sim.sh")
    shot(page, "attacker")
    go(page, "/attackers", ".attackers-table")
    page.get_by_label("Order").select_option("traversals")
    expect(page.locator(".attackers-table tbody tr").first).to_contain_text(console.attacker_ip)
    shot(page, "attackers")


def test_an_admin_downloads_the_captured_file(
    open_tab: Callable[..., Tab], console: Console
) -> None:
    """The artifact's Download saves the exact bytes the attacker uploaded (sha256 matches)."""
    page = admin_tab(open_tab, console).page
    go(page, f"/attackers/{console.attacker_uuid}", ".attacker-page[data-ready='true']")
    row = page.locator(".artifacts-table tbody tr").first
    digest_prefix = row.locator("code.hash").get_attribute("title") or ""
    with page.expect_download() as download_info:
        row.get_by_role("button", name="Download").click()
    download = download_info.value
    path = download.path()
    assert path is not None
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == digest_prefix
    assert download.suggested_filename.endswith(".attack-sim.sh")
    go(page, "/bounty?type=credential", ".bounty-table")
    first = page.locator(".bounty-table tbody tr").first
    expect(first).to_have_attribute("data-type", "credential")
    shot(page, "bounty")


def test_an_admin_exports_the_attackers_evidence_and_it_verifies_offline(
    open_tab: Callable[..., Tab], console: Console
) -> None:
    """ "Export evidence" saves the signed bundle; `decnet evidence verify` accepts it offline."""
    page = admin_tab(open_tab, console).page
    go(page, f"/attackers/{console.attacker_uuid}", ".attacker-page[data-ready='true']")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export evidence").click()
    download = download_info.value
    assert download.suggested_filename == f"evidence-{console.attacker_ip}.zip"
    path = download.path()
    assert path is not None
    checked = subprocess.run(
        [sys.executable, "-m", "interfaces.cli.main", "evidence", "verify", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_viewer_sees_no_command_and_the_api_refuses_anyway(
    open_tab: Callable[..., Tab], console: Console
) -> None:
    """On every page a viewer gets no command button; a forged command request is a 403."""
    with console.server.client() as api:
        viewer = make_account(api, console.admin_token(), "viewer", prefix="viewer")
    tab = open_tab()
    tab.expect_refusal(403, "/api/v1/deckies/web/mutate")
    page = tab.page
    sign_in(page, console, viewer.username, viewer.password)
    routes = {
        "/overview": ".overview[data-ready='true']",
        "/logs": ".logs-table",
        "/attackers": ".attackers-table",
        f"/attackers/{console.attacker_uuid}": ".attacker-page[data-ready='true']",
        "/bounty": ".bounty-table",
        "/fleet": "tr[data-decky='web']",
        "/config": ".config-page dl",
        "/projections": ".projections-table",
    }
    for route, ready in routes.items():
        go(page, route, ready)
        assert page.locator("[data-command]").count() == 0, route
        for name in (
            "Deploy",
            "Mutate",
            "Tear down",
            "Create user",
            "Download",
            "Rebuild",
            "Export evidence",
        ):
            assert page.get_by_role("button", name=name).count() == 0, (route, name)
    shot(page, "fleet-viewer")
    status = page.evaluate(
        """async () => (await fetch('/api/v1/deckies/web/mutate', {method: 'POST',
        headers: {Authorization: 'Bearer ' + sessionStorage.getItem('decnet.token')}})).status"""
    )
    assert status == 403


def test_projections_rebuild_and_an_as_of_view(
    open_tab: Callable[..., Tab], console: Console
) -> None:
    """An admin rebuilds a read model and watches it go live again; a view built as of now
    does not show a record sent afterwards until the console is back on the live models."""
    page = admin_tab(open_tab, console).page
    go(page, "/projections", ".projections-table")
    row = page.locator("tr[data-projection='histogram']")
    row.get_by_role("button", name="Rebuild histogram").click()
    expect(page.locator(".toast")).to_contain_text("Rebuild of histogram requested")
    shot(page, "projections")
    with console.server.client() as api:
        token = console.admin_token()

        def completed() -> bool | None:
            found = api.get("/events", token, params={"type": "read_models.rebuild_completed"})
            assert found.status_code == 200, found.text
            return True if "histogram" in found.text else None

        wait_for(completed, 60, "the histogram rebuild to complete")
    expect(row).to_have_attribute("data-rebuilding", "false", timeout=10_000)
    expect(row).to_have_attribute("data-state", "live", timeout=10_000)
    label = f"asof-{tag()}"
    go(page, "/views", ".views-page")
    page.get_by_label("Label").fill(label)
    page.get_by_label("As of (UTC)").fill(datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_role("button", name="Create view").click()
    view_row = page.locator(f"tr[data-view='{label}']")
    expect(view_row).to_have_attribute("data-state", "ready", timeout=60_000)
    marker = tag()
    send_line(console, marker, f"after the view {marker}")
    view_row.get_by_role("button", name=f"Read the view {label}").click()
    expect(page.locator("#view-banner")).to_contain_text(label)
    # Reading a view renders the page again: its list, not "Loading…", belongs in the shot.
    expect(view_row).to_have_attribute("data-state", "ready")
    shot(page, "views")
    go(page, f"/logs?search=mark:{marker}", ".logs-page .results")
    expect(page.locator(".logs-page .results")).to_contain_text("No record matches")
    go(page, "/overview", ".overview[data-ready='true']")
    expect(page.locator(".live-state")).to_have_text("as-of view")
    page.get_by_role("button", name="Back to live").click()
    expect(page.locator("#view-banner")).to_be_hidden()
    go(page, f"/logs?search=mark:{marker}", ".logs-table")
    expect(page.locator(".logs-table")).to_contain_text(f"after the view {marker}")
    go(page, "/views", f"tr[data-view='{label}']")
    page.get_by_role("button", name=f"Drop the view {label}").click()
    page.get_by_role("button", name="Drop", exact=True).click()
    expect(page.locator(f"tr[data-view='{label}']")).to_have_count(0, timeout=15_000)


def test_the_event_history_and_the_audit_trail(
    open_tab: Callable[..., Tab], console: Console
) -> None:
    """An admin pages the history filtered by type (each event's data on demand) and finds the
    deploy and the password change in the audit trail; a viewer has neither page."""
    page = admin_tab(open_tab, console).page
    go(page, "/events", ".events-table")
    page.get_by_label("Types (comma-separated)").fill("fleet.decky_deployed")
    page.get_by_role("button", name="Show").click()
    rows = page.locator(".events-table tbody tr[data-type='fleet.decky_deployed']")
    expect(rows).to_have_count(2)
    rows.first.get_by_role("button").click()
    expect(page.locator(".events-table pre.raw")).to_contain_text(f"127.97.{console.net}.")
    shot(page, "events")
    go(page, "/audit", ".audit-table")
    expect(page.locator(".audit-table tr[data-action='fleet_deployed']")).to_have_count(2)
    expect(page.locator(".audit-table tr[data-action='password_changed']").first).to_be_visible()
    page.get_by_role("button", name="Verify the history").click()
    expect(page.locator(".verify-result")).to_have_attribute("data-ok", "true", timeout=30_000)
    expect(page.locator(".integrity")).to_contain_text("Intact")
    shot(page, "audit")
    with console.server.client() as api:
        viewer = make_account(api, console.admin_token(), "viewer", prefix="nohistory")
    viewer_page = open_tab().page
    sign_in(viewer_page, console, viewer.username, viewer.password)
    expect(viewer_page.locator("#nav")).not_to_contain_text("Events")
    expect(viewer_page.locator("#nav")).not_to_contain_text("Audit")
    expect(viewer_page.locator("#nav")).not_to_contain_text("Views")


def test_every_page_in_both_themes_without_errors(
    open_tab: Callable[..., Tab], console: Console
) -> None:
    """Each page renders in the dark and the light theme with no console error (screenshots)."""
    for theme in ("dark", "light"):
        page = admin_tab(open_tab, console, theme).page
        assert page.evaluate("document.documentElement.dataset.theme") == theme
        expect(page.locator(".chart canvas")).to_be_visible()
        page.wait_for_timeout(300)
        shot(page, f"overview-{theme}", full_page=False)
        go(page, "/config", ".users-table")
        shot(page, f"config-{theme}" if theme == "dark" else "config")
        go(page, "/fleet", "tr[data-decky='web'][data-status='running']")
        if theme == "dark":
            shot(page, "fleet-dark")
    toggle = page.locator("#theme-toggle")
    toggle.click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    page.reload()
    expect(page.locator("tr[data-decky='web']")).to_be_visible()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
