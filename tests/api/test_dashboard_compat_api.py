"""Black-box tests of what DECNET's own web dashboard (1.2.1) needs from the API: CORS for a
dashboard served from another origin, and the ticketed live stream as its `EventSource` opens it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.api.conftest import activate_admin
from tests.api.harness import API_PREFIX, ApiClient, Backend, DecnetServer, scratch_dir
from tests.api.observations_support import open_stream

DASHBOARD = "http://dashboard.example:5173"  # where DECNET's Vite dev server serves it
OTHER = "https://soc.example"
STRANGER = "https://evil.example"


@pytest.fixture(scope="module")
def cors_server(backend: Backend) -> Iterator[DecnetServer]:
    """A server that lets two dashboard origins call it."""
    env = {"DECNET_CORS_ORIGINS": f"{DASHBOARD}, {OTHER}"}
    with (
        scratch_dir(f"cors-{backend.name}") as data_dir,
        backend.server(data_dir, extra_env=env) as running,
    ):
        yield running


def preflight(server: DecnetServer, origin: str, method: str, path: str) -> httpx.Response:
    """The browser's OPTIONS before a cross-origin request with an Authorization header."""
    return httpx.options(
        f"{server.base_url}{API_PREFIX}{path}",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/attackers"),
        ("POST", "/auth/login"),
        ("POST", "/auth/sse-ticket"),
        ("PUT", "/deckies/decky-01/mutate-interval"),
    ],
)
def test_a_configured_origin_passes_the_preflight(
    cors_server: DecnetServer, method: str, path: str
) -> None:
    """Preflights from a configured origin are answered with that origin, the method and headers."""
    for origin in (DASHBOARD, OTHER):
        response = preflight(cors_server, origin, method, path)
        assert response.status_code in (200, 204), response.text
        assert response.headers["access-control-allow-origin"] == origin
        assert method in response.headers["access-control-allow-methods"]
        allowed = response.headers["access-control-allow-headers"].lower()
        assert "authorization" in allowed or allowed == "*"


def test_a_configured_origin_reads_answers_and_their_headers(cors_server: DecnetServer) -> None:
    """Cross-origin answers carry Allow-Origin and expose Retry-After and the request id."""
    token = activate_admin(cors_server)
    response = httpx.get(
        f"{cors_server.base_url}{API_PREFIX}/attackers",
        headers={"Origin": DASHBOARD, "Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == DASHBOARD
    exposed = response.headers["access-control-expose-headers"].lower()
    assert {"retry-after", "x-request-id", "content-disposition"} <= {
        h.strip() for h in exposed.split(",")
    }
    refused = httpx.get(f"{cors_server.base_url}{API_PREFIX}/attackers", headers={"Origin": OTHER})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == OTHER  # the browser sees the 401


def test_other_origins_get_no_cors_headers(cors_server: DecnetServer) -> None:
    """An origin not configured gets no Allow-Origin on a preflight or an answer."""
    response = preflight(cors_server, STRANGER, "GET", "/attackers")
    assert "access-control-allow-origin" not in response.headers
    token = activate_admin(cors_server)
    answer = httpx.get(
        f"{cors_server.base_url}{API_PREFIX}/attackers",
        headers={"Origin": STRANGER, "Authorization": f"Bearer {token}"},
    )
    assert "access-control-allow-origin" not in answer.headers


def test_no_origin_is_allowed_by_default(server: DecnetServer, admin_token: str) -> None:
    """Without DECNET_CORS_ORIGINS no origin gets CORS headers."""
    response = preflight(server, DASHBOARD, "GET", "/attackers")
    assert "access-control-allow-origin" not in response.headers
    answer = httpx.get(
        f"{server.base_url}{API_PREFIX}/stats",
        headers={"Origin": DASHBOARD, "Authorization": f"Bearer {admin_token}"},
    )
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers


def test_the_dashboard_stream_flow_works_cross_origin(cors_server: DecnetServer) -> None:
    """As DECNET's dashboard does it: POST /auth/sse-ticket with no body, then an EventSource on
    `/stream?ticket=` from its origin; the frames are unnamed-`message` JSON `{type, data}`."""
    token = activate_admin(cors_server)
    with ApiClient(cors_server.base_url) as api:
        minted = api.post("/auth/sse-ticket", token, headers={"Origin": DASHBOARD})
    assert minted.status_code == 200, minted.text
    assert minted.headers["access-control-allow-origin"] == DASHBOARD
    ticket = minted.json()["ticket"]
    assert isinstance(ticket, str)
    assert len(ticket) >= 32
    headers = {"Origin": DASHBOARD, "Accept": "text/event-stream"}
    url = f"{cors_server.base_url}{API_PREFIX}/stream"
    with open_stream(url, {"ticket": ticket}, headers=headers) as sse:
        assert sse.response.status_code == 200
        assert sse.response.headers["access-control-allow-origin"] == DASHBOARD
        events = sse.until(lambda ev: any(e.data for e in ev), 5, "a data frame")
        frame = next(e for e in events if e.data)
        assert frame.event in (None, "message")  # what EventSource.onmessage receives
        payload = json.loads(frame.data or "{}")
        assert payload["type"] == "stats"
        assert {"total_logs", "unique_attackers"} <= set(payload["data"])
