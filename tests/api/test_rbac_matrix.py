"""Every API route x {anonymous, viewer, auditor, admin, must-change admin} → the exact status."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.api.harness import Account, ApiClient, DecnetServer, make_account, unique_name

ROLES = ("anonymous", "viewer", "auditor", "admin", "must_change")


@dataclass(frozen=True)
class Route:
    """One route, a body that passes authorisation, and the status each caller must get."""

    method: str
    path: str
    body: Callable[[], object] | None
    expected: dict[str, int]
    stream: bool = False  # an SSE route: only the status line is read

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def viewer_route(ok: int) -> dict[str, int]:
    """Open to any signed-in user without a pending password change."""
    return {"anonymous": 401, "viewer": ok, "auditor": ok, "admin": ok, "must_change": 403}


def audit_route(ok: int) -> dict[str, int]:
    """Auditors and admins: history, audit trail, verification, evidence, views."""
    return {"anonymous": 401, "viewer": 403, "auditor": ok, "admin": ok, "must_change": 403}


def admin_route(ok: int) -> dict[str, int]:
    """Admins only; auditors issue no command; a must-change admin is still refused."""
    return {"anonymous": 401, "viewer": 403, "auditor": 403, "admin": ok, "must_change": 403}


def session_route(ok: int) -> dict[str, int]:
    """Allowed while a password change is pending."""
    return {"anonymous": 401, "viewer": ok, "auditor": ok, "admin": ok, "must_change": ok}


UNKNOWN = uuid.UUID("00000000-0000-4000-8000-000000000000")
STORED_AS = "2026-04-18T02:22:56Z_0123456789ab_rbac.bin"

ROUTES = [
    # Public: an incomplete body reaches validation (400) whoever calls, never 401/403.
    Route(
        "POST",
        "/auth/login",
        lambda: {"username": "nobody"},
        dict.fromkeys(ROLES, 400),
    ),
    # A body without new_password stops at validation, so no password really changes.
    Route("POST", "/auth/change-password", lambda: {"old_password": "x"}, session_route(400)),
    Route("GET", "/auth/me", None, session_route(200)),
    Route("POST", "/auth/logout", None, session_route(204)),
    Route("POST", "/auth/sse-ticket", None, viewer_route(200)),
    Route("GET", "/config", None, viewer_route(200)),
    Route("GET", "/health", None, viewer_route(200)),
    Route("PUT", "/config/deployment-limit", lambda: {"deployment_limit": 10}, admin_route(200)),
    Route(
        "PUT",
        "/config/global-mutation-interval",
        lambda: {"global_mutation_interval": "30m"},
        admin_route(200),
    ),
    Route(
        "POST",
        "/config/users",
        lambda: {"username": unique_name("rbac"), "password": "password-01"},
        admin_route(200),
    ),
    Route("DELETE", f"/config/users/{UNKNOWN}", None, admin_route(404)),
    Route("PUT", f"/config/users/{UNKNOWN}/role", lambda: {"role": "viewer"}, admin_route(404)),
    Route(
        "PUT",
        f"/config/users/{UNKNOWN}/reset-password",
        lambda: {"new_password": "password-01"},
        admin_route(404),
    ),
    # Outside developer mode even admins are refused.
    Route("DELETE", "/config/reinit", None, admin_route(403)),
    Route("GET", "/logs/dead-letters", None, admin_route(200)),
    # Observations: every read model a dashboard shows.
    Route("GET", "/logs", None, viewer_route(200)),
    Route("GET", "/logs/histogram", None, viewer_route(200)),
    Route("GET", "/bounty", None, viewer_route(200)),
    Route("GET", "/stats", None, viewer_route(200)),
    Route("GET", "/stream", None, viewer_route(200), stream=True),
    Route("GET", "/attackers", None, viewer_route(200)),
    Route("GET", f"/attackers/{UNKNOWN}", None, viewer_route(404)),
    Route("GET", f"/attackers/{UNKNOWN}/commands", None, viewer_route(404)),
    Route("GET", f"/attackers/{UNKNOWN}/artifacts", None, viewer_route(404)),
    Route("GET", f"/attackers/{UNKNOWN}/evidence", None, audit_route(404)),
    Route("GET", f"/artifacts/rbac-decky/{STORED_AS}", None, admin_route(404)),
    # Fleet: reads for everyone, commands for admins (unknown deckies, bad bodies change nothing).
    Route("GET", "/deckies", None, viewer_route(200)),
    Route("POST", "/deckies/deploy", lambda: {}, admin_route(400)),
    Route("POST", "/deckies/rbac-nope/mutate", None, admin_route(404)),
    Route(
        "PUT",
        "/deckies/rbac-nope/mutate-interval",
        lambda: {"mutate_interval": "30m"},
        admin_route(404),
    ),
    Route("DELETE", "/deckies/rbac-nope", None, admin_route(404)),
    # Read models: status for everyone, rebuilds for admins, as-of views for auditors.
    Route("GET", "/projections", None, viewer_route(200)),
    Route("POST", "/projections/rbac-nope/rebuild", None, admin_route(404)),
    Route("GET", "/views", None, audit_route(200)),
    Route("POST", "/views", lambda: {}, audit_route(400)),
    Route("DELETE", "/views/rbac-nope", None, audit_route(404)),
    # History, audit trail and tamper evidence: auditors and admins.
    Route("GET", "/events", None, audit_route(200)),
    Route("GET", "/events/stream", None, audit_route(200), stream=True),
    Route("GET", "/audit", None, audit_route(200)),
    Route("GET", "/audit/public-key", None, audit_route(200)),
    Route("GET", "/audit/checkpoints", None, audit_route(200)),
    Route("GET", "/audit/proof", None, audit_route(422)),
    Route("GET", "/audit/consistency", None, audit_route(200)),
    Route("GET", "/audit/verify", None, audit_route(200)),
]


@dataclass
class Cast:
    """One user per role on the shared server; tokens are minted per test (logout revokes)."""

    viewer: Account
    auditor: Account
    admin: Account
    must_change: Account


@pytest.fixture(scope="session")
def cast(server: DecnetServer, admin_token: str) -> Cast:
    """A viewer, an auditor, a second admin, and an admin yet to change the initial password."""
    with server.client() as api:
        return Cast(
            viewer=make_account(api, admin_token, "viewer", prefix="rbac-viewer"),
            auditor=make_account(api, admin_token, "auditor", prefix="rbac-auditor"),
            admin=make_account(api, admin_token, "admin", prefix="rbac-admin"),
            must_change=make_account(
                api, admin_token, "admin", must_change=True, prefix="rbac-pending"
            ),
        )


@pytest.fixture
def token_for(api: ApiClient, cast: Cast) -> Callable[[str], str | None]:
    """A fresh token for a role (None for anonymous)."""

    def mint(role: str) -> str | None:
        if role == "anonymous":
            return None
        account: Account = getattr(cast, role)
        return api.token(account.username, account.password)

    return mint


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_route_answers_the_role(
    api: ApiClient, token_for: Callable[[str], str | None], route: Route, role: str
) -> None:
    """Each caller gets exactly the status the access rules give for this route."""
    body = route.body() if route.body is not None else None
    token = token_for(role)
    if route.stream:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        with api.http.stream(route.method, route.path, headers=headers) as response:
            status = response.status_code
            detail = response.read().decode() if status != 200 else ""
    else:
        response = api.request(route.method, route.path, token, json=body)
        status, detail = response.status_code, response.text
    assert status == route.expected[role], detail
    if role == "must_change" and status == 403:
        assert "password change" in detail.lower()


def test_matrix_covers_every_api_route(api: ApiClient) -> None:
    """The matrix names every route the OpenAPI publishes under /api/v1."""
    schema = api.http.get(str(api.http.base_url).replace("/api/v1", "") + "/schema/openapi.json")
    published = {
        (method.upper(), path.removeprefix("/api/v1").rstrip("/") or "/")
        for path, item in schema.json()["paths"].items()
        for method in item
        if method in {"get", "post", "put", "delete", "patch"} and path.startswith("/api/v1/")
    }
    covered = {(r.method, _template(r.path)) for r in ROUTES}
    assert published == covered


def _template(path: str) -> str:
    """The OpenAPI path template a concrete matrix path stands for."""
    path = path.replace(f"/config/users/{UNKNOWN}", "/config/users/{user_id}")
    path = path.replace(f"/attackers/{UNKNOWN}", "/attackers/{uuid}")
    path = path.replace(f"/rbac-decky/{STORED_AS}", "/{decky}/{stored_as}")
    path = path.replace("/deckies/rbac-nope", "/deckies/{name}")
    path = path.replace("/projections/rbac-nope", "/projections/{name}")
    return path.replace("/views/rbac-nope", "/views/{label}")
