"""Black-box tests of `POST /auth/sse-ticket` and `GET /stream?ticket=`, and of a stream ending
with the session it was opened in (logout, token expiry)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx

from tests.api.conftest import activate_admin
from tests.api.harness import API_PREFIX, Account, ApiClient, DecnetServer
from tests.api.observations_support import SseReader, open_stream

RECHECK_S = 5.0  # interfaces.http.stream_lifetime.RECHECK_S


def ticket(api: ApiClient, token: str) -> str:
    response = api.post("/auth/sse-ticket", token)
    assert response.status_code == 200, response.text
    value: str = response.json()["ticket"]
    return value


def stream_url(server: DecnetServer) -> str:
    return f"{server.base_url}{API_PREFIX}/stream"


def status_of(server: DecnetServer, params: dict[str, str]) -> int:
    with open_stream(stream_url(server), params) as sse:
        return sse.response.status_code


def ending(sse: SseReader, timeout: float) -> str:
    """Read until the server's `event: error` frame; its message."""
    events = sse.until(lambda ev: bool(ev) and ev[-1].event == "error", timeout, "error frame")
    message: str = json.loads(events[-1].data or "{}")["message"]
    assert sse.next() is None, "the stream goes on after its closing frame"
    return message


def test_a_ticket_opens_the_stream_once(
    server: DecnetServer, api: ApiClient, admin_token: str
) -> None:
    """A ticket opens `/stream` (stats frame first); the same ticket a second time is a 401."""
    value = ticket(api, admin_token)
    with open_stream(stream_url(server), {"ticket": value}) as sse:
        assert sse.response.status_code == 200
        events = sse.until(lambda ev: any(e.data for e in ev), 5, "a data frame")
        assert json.loads(events[-1].data or "{}")["type"] == "stats"
    assert status_of(server, {"ticket": value}) == 401


def test_bad_or_missing_tickets_are_refused(server: DecnetServer, api: ApiClient) -> None:
    """Unknown tickets, empty tickets and no credentials at all are 401 with the challenge."""
    for params in ({"ticket": "x" * 43}, {"ticket": ""}, {}):
        with open_stream(stream_url(server), params) as sse:
            assert sse.response.status_code == 401, params
            assert sse.response.headers["www-authenticate"] == "Bearer"
    assert api.post("/auth/sse-ticket").status_code == 401


def test_a_ticket_is_for_the_stream_only(
    server: DecnetServer, api: ApiClient, admin_token: str
) -> None:
    """A ticket is no credential for any other route."""
    value = ticket(api, admin_token)
    response = httpx.get(f"{server.base_url}{API_PREFIX}/stats", params={"ticket": value})
    assert response.status_code == 401
    assert status_of(server, {"ticket": value}) == 200  # not spent by the refused request


def test_viewers_get_tickets_and_pending_password_changes_do_not(
    api: ApiClient, make_user: Callable[..., Account]
) -> None:
    """Any signed-in user may have a ticket, except one who must change the password first."""
    viewer, pending = make_user("viewer"), make_user("viewer", must_change=True)
    assert api.post("/auth/sse-ticket", viewer.token).status_code == 200
    assert api.post("/auth/sse-ticket", pending.token).status_code == 403


def test_a_ticket_dies_with_its_token(
    server: DecnetServer, api: ApiClient, make_user: Callable[..., Account]
) -> None:
    """A ticket taken before a logout is refused after it: it stands for the revoked token."""
    user = make_user("viewer")
    value = ticket(api, user.token)
    assert api.post("/auth/logout", user.token).status_code == 204
    assert status_of(server, {"ticket": value}) == 401


def test_a_stream_ends_soon_after_its_token_is_revoked(
    server: DecnetServer, api: ApiClient, make_user: Callable[..., Account]
) -> None:
    """An open stream ends with `event: error` within the re-check period of a logout."""
    user = make_user("viewer")
    params = {"ticket": ticket(api, user.token)}
    with open_stream(stream_url(server), params, read_timeout=20) as sse:
        sse.until(lambda ev: any(e.data for e in ev), 5, "the stats frame")
        assert api.post("/auth/logout", user.token).status_code == 204
        revoked_at = time.monotonic()
        assert ending(sse, RECHECK_S + 5) == "session ended: token has been revoked"
    assert time.monotonic() - revoked_at < RECHECK_S + 2


def test_a_stream_ends_when_its_token_expires(
    spawn_server: Callable[..., DecnetServer],
) -> None:
    """With 6-second tokens, a stream opened by ticket ends at the token's expiry, not later."""
    server = spawn_server(extra_env={"DECNET_JWT_TTL_S": "6"})
    token = activate_admin(server)
    issued = time.monotonic()
    with (
        server.client() as api,
        open_stream(stream_url(server), {"ticket": ticket(api, token)}, read_timeout=20) as sse,
    ):
        assert ending(sse, 15) == "session ended: token expired"
    assert 4.0 < time.monotonic() - issued < 8.0


def test_a_stream_ends_soon_after_its_user_is_deleted_or_changes_role(
    server: DecnetServer, api: ApiClient, admin_token: str, make_user: Callable[..., Account]
) -> None:
    """Deleting the user or changing its role ends its open stream within the re-check period."""
    deleted, demoted = make_user("viewer"), make_user("admin")
    acts = [
        (deleted, lambda: api.delete(f"/config/users/{deleted.uuid}", admin_token)),
        (demoted, lambda: api.set_role(admin_token, demoted.uuid, "viewer")),
    ]
    reasons = []
    for user, act in acts:
        params = {"ticket": ticket(api, user.token)}
        with open_stream(stream_url(server), params, read_timeout=20) as sse:
            sse.until(lambda ev: any(e.data for e in ev), 5, "the stats frame")
            assert act().status_code in (200, 204)
            acted_at = time.monotonic()
            reasons.append(ending(sse, RECHECK_S + 5))
        assert time.monotonic() - acted_at < RECHECK_S + 2
    assert reasons == [
        "session ended: user no longer exists",
        "session ended: token was issued before the last credential change",
    ]


def test_the_history_stream_also_ends_with_its_session(
    server: DecnetServer, api: ApiClient, make_user: Callable[..., Account]
) -> None:
    """`/events/stream` ends like `/stream`: a logout closes it within the re-check period."""
    auditor = make_user("auditor")
    url = f"{server.base_url}{API_PREFIX}/events/stream"
    with open_stream(url, {"token": auditor.token}, read_timeout=20) as sse:
        assert sse.response.status_code == 200
        sse.until(lambda ev: bool(ev), 5, "the opening comment")
        assert api.post("/auth/logout", auditor.token).status_code == 204
        assert ending(sse, RECHECK_S + 5) == "session ended: token has been revoked"
