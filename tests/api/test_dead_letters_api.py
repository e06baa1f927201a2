"""`GET /logs/dead-letters` and `decnet dead-letters` against a real `decnet serve`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.api.harness import Account, ApiClient, DecnetServer
from tests.api.observations_support import send_tcp, send_udp, tag, wait_for


def _mine(api: ApiClient, token: str, marker: str, expected: int) -> list[dict[str, Any]]:
    """Every dead letter whose raw line carries `marker`, once all `expected` have arrived."""

    def probe() -> list[dict[str, Any]] | None:
        body = api.get("/logs/dead-letters", token, params={"limit": 1000}).json()
        rows = [r for r in body["data"] if marker in r["raw"]]
        return rows if len(rows) >= expected else None

    return wait_for(probe, 10, f"{expected} dead letters marked {marker}")


def test_dead_letters_are_listed_newest_first_for_admins(
    server: DecnetServer, api: ApiClient, admin_token: str, make_user: Callable[..., Account]
) -> None:
    """Unparsable lines show up with reason, raw line, source and received_at, newest first."""
    marker = f"dl{tag()}"
    send_udp(server.syslog_port, [f"garbage {marker} one"])
    _mine(api, admin_token, marker, 1)
    send_tcp(server.syslog_port, [f"<134>1 - host app - ev - no timestamp {marker} two"])
    rows = _mine(api, admin_token, marker, 2)
    assert [r["raw"] for r in rows] == [
        f"<134>1 - host app - ev - no timestamp {marker} two",
        f"garbage {marker} one",
    ]
    for row in rows:
        assert set(row) == {"id", "received_at", "reason", "detail", "raw", "source"}
        assert row["reason"]
        assert row["received_at"].endswith("Z")
    assert rows[0]["id"] > rows[1]["id"]
    assert [r["source"].split(":")[0] for r in rows] == ["tcp", "udp"]
    page = api.get("/logs/dead-letters", admin_token, params={"limit": 1, "offset": 0}).json()
    assert (page["limit"], page["offset"], len(page["data"])) == (1, 0, 1)
    assert page["total"] >= 2
    assert page["data"][0]["id"] >= rows[0]["id"]
    viewer = make_user("viewer")
    assert api.get("/logs/dead-letters", viewer.token).status_code == 403
    assert api.get("/logs/dead-letters").status_code == 401
    for bad in ({"limit": "0"}, {"limit": "1001"}, {"offset": "-1"}, {"limit": "x"}):
        assert api.get("/logs/dead-letters", admin_token, params=bad).status_code == 422, bad


def test_cli_lists_dead_letters_with_control_characters_escaped(
    server: DecnetServer, api: ApiClient, admin_token: str
) -> None:
    """`decnet dead-letters --limit N` prints the newest N; terminal escapes arrive inert."""
    marker = f"cli{tag()}"
    send_udp(server.syslog_port, [f"\x1b[31mred {marker}"])
    _mine(api, admin_token, marker, 1)
    done = server.run_cli(
        "dead-letters", "--url", server.base_url, "--token", admin_token, "--limit", "1"
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "dead letters (showing 1 from offset 0, newest first)" in lines[0]
    assert lines[1].split() == ["ID", "RECEIVED", "SOURCE", "REASON", "RAW"]
    assert len(lines) == 3
    assert f"\\x1b[31mred {marker}" in lines[2]
    assert "\x1b" not in done.stdout
    refused = server.run_cli("dead-letters", "--url", server.base_url, "--token", "nope")
    assert refused.returncode == 1
    assert "(401)" in refused.stderr
