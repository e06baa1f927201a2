"""`/health`: every component reported honestly; 503 when a critical one fails."""

from __future__ import annotations

from typing import Any, Literal

import anyio
import msgspec
from litestar import Request, Response, get
from litestar.openapi.datastructures import ResponseSpec

from application.ports import ComponentHealth
from interfaces.http.auth import services_of
from interfaces.services import Services

COMPONENTS = (
    "database",
    "docker",
    "ingestion_worker",
    "collector_worker",
    "attacker_worker",
    "sniffer_worker",
    "redis",
    "signing_key",
)
CRITICAL = frozenset({"database", "docker", "ingestion_worker"})
CHECK_TIMEOUT_S = 3.0


async def _check(services: Services, name: str) -> ComponentHealth:
    probe = services.core.health.get(name)
    if probe is None:
        return ComponentHealth("disabled", "not part of this build yet")
    try:
        with anyio.fail_after(CHECK_TIMEOUT_S):
            result: ComponentHealth = await probe()
            return result
    except TimeoutError:
        return ComponentHealth("failing", f"no answer within {CHECK_TIMEOUT_S:.0f}s")
    except Exception as e:  # a probe that raises is a failing component, not a failing route
        return ComponentHealth("failing", f"{type(e).__name__}: {e}")


class ComponentState(msgspec.Struct):
    """One component: `ok`, `failing` or `disabled`, and why."""

    status: str
    detail: str


class HealthResponse(msgspec.Struct):
    """`healthy`, `degraded` or `unhealthy`, and every component."""

    status: Literal["healthy", "degraded", "unhealthy"]
    components: dict[str, ComponentState]


HEALTH_ANSWERS = {
    200: ResponseSpec(HealthResponse, description="Healthy or degraded", generate_examples=False),
    503: ResponseSpec(
        HealthResponse, description="A critical component is failing", generate_examples=False
    ),
}


@get("/health", tags=["health"], responses=HEALTH_ANSWERS)
async def health(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Component health: `healthy`, `degraded` (non-critical failing) or `unhealthy` (503)."""
    services = services_of(request)
    results: dict[str, ComponentHealth] = {}

    async def check(name: str) -> None:
        results[name] = await _check(services, name)

    async with anyio.create_task_group() as tg:  # one deadline for all, not one after another
        for name in COMPONENTS:
            tg.start_soon(check, name)
    results = {name: results[name] for name in COMPONENTS}
    failing = {name for name, r in results.items() if r.status == "failing"}
    status = "unhealthy" if failing & CRITICAL else "degraded" if failing else "healthy"
    body = {
        "status": status,
        "components": {n: {"status": r.status, "detail": r.detail} for n, r in results.items()},
    }
    return Response(body, status_code=503 if status == "unhealthy" else 200)
