"""Black-box tests of authentication outcomes in the audit trail: login, login_failed (with the
name tried) and logout are stored events shown in `/audit` with actor, client IP and request id;
no password or token ever appears; the throttle bounds how many a flood writes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.api.harness import Account, ApiClient, DecnetServer, fresh_source_ip, unique_name
from tests.api.observations_support import wait_for


def trail(api: ApiClient, token: str, expected: int, **params: Any) -> list[dict[str, Any]]:
    """`/audit` rows for the filter, waiting (≤ 10 s) until at least `expected` are there."""
    deadline = time.monotonic() + 10
    while True:
        response = api.get("/audit", token, params={"limit": 200, **params})
        assert response.status_code == 200, response.text
        rows: list[dict[str, Any]] = response.json()["data"]
        if len(rows) >= expected or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def trail_with(api: ApiClient, token: str, request_id: str, **params: Any) -> list[dict[str, Any]]:
    """`/audit` rows for the filter once one of them is the request `request_id` (≤ 10 s)."""

    def probe() -> list[dict[str, Any]] | None:
        response = api.get("/audit", token, params={"limit": 200, **params})
        assert response.status_code == 200, response.text
        rows: list[dict[str, Any]] = response.json()["data"]
        return rows if any(r["request_id"] == request_id for r in rows) else None

    return wait_for(probe, 10, f"{request_id} in the audit trail", every=0.2)


def test_login_failure_and_logout_are_audited_with_who_where_and_which_request(
    server: DecnetServer, api: ApiClient, admin_token: str, make_user: Callable[..., Account]
) -> None:
    """A failed login names the username tried (no actor); a login and a logout name the user;
    each carries the client's address and its X-Request-ID."""
    user = make_user("viewer")
    ghost = unique_name("ghost")
    ip = fresh_source_ip()
    with server.client(source_ip=ip) as client:
        failed = client.post(
            "/auth/login",
            json={"username": ghost, "password": "guessed-pw-1"},
            headers={"X-Request-ID": f"req-fail-{ghost}"},
        )
        assert failed.status_code == 401
        logged_in = client.post(
            "/auth/login",
            json={"username": user.username.upper(), "password": user.password},
            headers={"X-Request-ID": f"req-in-{ghost}"},
        )
        assert logged_in.status_code == 200
        token = logged_in.json()["access_token"]
        out = client.post("/auth/logout", token, headers={"X-Request-ID": f"req-out-{ghost}"})
        assert out.status_code == 204

    [failure] = trail(api, admin_token, 1, action="login_failed", target=ghost)
    assert failure["actor"] is None
    assert (failure["client_ip"], failure["request_id"]) == (ip, f"req-fail-{ghost}")
    assert failure["outcome"] == "failure"

    # The user's earlier logins (`make_user`) already satisfy a count: wait for this one.
    logins = trail_with(api, admin_token, f"req-in-{ghost}", action="login", actor=user.username)
    success = next(r for r in logins if r["request_id"] == f"req-in-{ghost}")
    assert success["actor"] == {"uuid": user.uuid, "username": user.username}
    assert (success["target"], success["client_ip"], success["outcome"]) == (
        user.username,
        ip,
        "success",
    )

    logouts = trail(api, admin_token, 1, action="logout", actor=user.username)
    logout = next(r for r in logouts if r["request_id"] == f"req-out-{ghost}")
    assert (logout["client_ip"], logout["actor"]["uuid"]) == (ip, user.uuid)


def test_login_events_hold_no_secret(
    server: DecnetServer, api: ApiClient, admin_token: str, make_user: Callable[..., Account]
) -> None:
    """`/events?type=user.logged_in|user.login_failed`, `/audit` and the server's own log never
    show the password tried, the right password or the token issued (also when the token rides
    in a stream's query string, as EventSource sends it)."""
    user = make_user("viewer")
    guess = "wrong-" + unique_name("pw")
    with server.client(source_ip=fresh_source_ip()) as client:
        assert client.login(user.username, guess).status_code == 401
        token = client.token(user.username, user.password)
    # `make_user` logged in twice, then this test's login: three (the audit model lags alone).
    trail(api, admin_token, 3, actor=user.username, action="login")

    def failed_attempt() -> bool | None:
        params = {"type": "user.login_failed", "limit": 1000}
        events = api.get("/events", admin_token, params=params).json()["data"]
        mine = [e for e in events if e["data"].get("username") == user.username]
        return True if mine else None

    # The history model follows the store on its own too: wait for the failed attempt there.
    wait_for(failed_attempt, 10, "the failed attempt in the history", every=0.2)
    for path, params in (
        ("/events", {"type": ["user.logged_in", "user.login_failed"], "limit": 1000}),
        ("/audit", {"limit": 1000}),
    ):
        text = api.get(path, admin_token, params=params).text
        for secret in (guess, user.password, token):
            assert secret not in text, path
    events = api.get("/events", admin_token, params={"type": "user.login_failed", "limit": 1000})
    tried = [e for e in events.json()["data"] if e["data"].get("username") == user.username]
    assert tried, "the failed attempt is a stored event"
    assert not {k for k in tried[-1]["data"] if "password" in k or "token" in k}
    with server.client() as client:  # refused before streaming: logged with its path
        bad = {"token": token, "lastEventId": "abc"}
        assert client.get("/stream", None, params=bad).status_code == 422
    log = server.log_path.read_text(errors="replace")
    for secret in (guess, user.password, token):
        assert secret not in log


def test_a_flood_writes_no_more_events_than_the_throttle_admits(
    server: DecnetServer, api: ApiClient, admin_token: str
) -> None:
    """Twenty-five wrong logins from one address for one name: ten `login_failed` entries."""
    ghost = unique_name("flood")
    with server.client(source_ip=fresh_source_ip()) as client:
        codes = [client.login(ghost, "wrong-password").status_code for _ in range(25)]
    assert codes.count(401) == 10
    assert codes.count(429) == 15
    time.sleep(1)
    assert len(trail(api, admin_token, 10, action="login_failed", target=ghost)) == 10
