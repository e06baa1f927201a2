"""Every foundation route x {anonymous, viewer, admin, must-change admin} → the exact status."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.api.harness import Account, ApiClient, DecnetServer, make_account, unique_name

ROLES = ("anonymous", "viewer", "admin", "must_change")


@dataclass(frozen=True)
class Route:
    """One route, a body that passes authorisation, and the status each caller must get."""

    method: str
    path: str
    body: Callable[[], object] | None
    expected: dict[str, int]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def viewer_route(ok: int) -> dict[str, int]:
    """Open to any signed-in user without a pending password change."""
    return {"anonymous": 401, "viewer": ok, "admin": ok, "must_change": 403}


def admin_route(ok: int) -> dict[str, int]:
    """Admins only; a must-change admin is still refused."""
    return {"anonymous": 401, "viewer": 403, "admin": ok, "must_change": 403}


def session_route(ok: int) -> dict[str, int]:
    """Allowed while a password change is pending."""
    return {"anonymous": 401, "viewer": ok, "admin": ok, "must_change": ok}


UNKNOWN = uuid.UUID("00000000-0000-4000-8000-000000000000")

ROUTES = [
    # Public: an incomplete body reaches validation (400) whoever calls, never 401/403.
    Route(
        "POST",
        "/auth/login",
        lambda: {"username": "nobody"},
        {"anonymous": 400, "viewer": 400, "admin": 400, "must_change": 400},
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
]


@dataclass
class Cast:
    """One user per role on the shared server; tokens are minted per test (logout revokes)."""

    viewer: Account
    admin: Account
    must_change: Account


@pytest.fixture(scope="session")
def cast(server: DecnetServer, admin_token: str) -> Cast:
    """A viewer, a second admin, and an admin who has not changed the initial password."""
    with server.client() as api:
        return Cast(
            viewer=make_account(api, admin_token, "viewer", prefix="rbac-viewer"),
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
    response = api.request(route.method, route.path, token_for(role), json=body)
    assert response.status_code == route.expected[role], response.text
    if role == "must_change" and response.status_code == 403:
        assert "password change" in response.json()["detail"].lower()


FOUNDATION_PREFIXES = ("/auth", "/config", "/health", "/logs/dead-letters")


def test_matrix_covers_every_foundation_route(api: ApiClient) -> None:
    """The matrix names every auth, config, health and dead-letter route the OpenAPI publishes."""
    schema = api.http.get(str(api.http.base_url).replace("/api/v1", "") + "/schema/openapi.json")
    published = {
        (method.upper(), path.removeprefix("/api/v1").rstrip("/") or "/")
        for path, item in schema.json()["paths"].items()
        for method in item
        if method in {"get", "post", "put", "delete", "patch"}
        and path.removeprefix("/api/v1").startswith(FOUNDATION_PREFIXES)
    }
    covered = {(r.method, r.path.replace(str(UNKNOWN), "{user_id}")) for r in ROUTES}
    assert published == covered
