"""Black-box tests of `GET /health` against a real `decnet serve`."""

from __future__ import annotations

from collections.abc import Callable

from tests.api.harness import Account, ApiClient

COMPONENTS = {
    "database",
    "docker",
    "ingestion_worker",
    "collector_worker",
    "attacker_worker",
    "sniffer_worker",
}
CRITICAL = {"database", "docker", "ingestion_worker"}


def test_health_reports_every_component(api: ApiClient, admin_token: str) -> None:
    """Health lists every documented component with a known status and a detail string."""
    response = api.get("/health", admin_token)
    body = response.json()
    assert set(body) == {"status", "components"}
    assert set(body["components"]) >= COMPONENTS
    for name, component in body["components"].items():
        assert set(component) == {"status", "detail"}, name
        assert component["status"] in {"ok", "failing", "disabled"}, name
        assert isinstance(component["detail"], str), name


def test_health_status_follows_the_components(api: ApiClient, admin_token: str) -> None:
    """Status is unhealthy (503) iff a critical component fails, degraded if another one does."""
    response = api.get("/health", admin_token)
    body = response.json()
    failing = {n for n, c in body["components"].items() if c["status"] == "failing"}
    expected = "unhealthy" if failing & CRITICAL else "degraded" if failing else "healthy"
    assert body["status"] == expected
    assert response.status_code == (503 if expected == "unhealthy" else 200)


def test_health_sees_the_database_up(api: ApiClient, admin_token: str) -> None:
    """With PostgreSQL reachable the database component is ok."""
    assert api.get("/health", admin_token).json()["components"]["database"]["status"] == "ok"


def test_health_is_the_same_for_viewers(
    api: ApiClient, admin_token: str, make_user: Callable[..., Account]
) -> None:
    """A viewer reads the same health report as an admin."""
    as_viewer = api.get("/health", make_user("viewer").token)
    as_admin = api.get("/health", admin_token)
    assert as_viewer.status_code == as_admin.status_code
    assert set(as_viewer.json()["components"]) == set(as_admin.json()["components"])
