"""The Litestar application factory: routes under /api/v1, the console at /, auth, OpenAPI."""

from __future__ import annotations

from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from interfaces.http.auth import BearerAuthMiddleware
from interfaces.http.console import console_router
from interfaces.http.errors import exception_handlers
from interfaces.http.head import answer_head
from interfaces.http.openapi import document_api
from interfaces.http.options import bind_options_to_routes
from interfaces.http.request_id import observe_requests
from interfaces.http.routes.artifacts import download_artifact
from interfaces.http.routes.attackers import (
    attacker_artifacts,
    attacker_commands,
    get_attacker,
    list_attackers,
)
from interfaces.http.routes.auth import AuthController
from interfaces.http.routes.config import ConfigController
from interfaces.http.routes.evidence import attacker_evidence
from interfaces.http.routes.fleet import FleetController
from interfaces.http.routes.health import health
from interfaces.http.routes.history import HISTORY_ROUTES
from interfaces.http.routes.logs import (
    histogram,
    list_bounty,
    list_dead_letters,
    list_logs,
    stats,
)
from interfaces.http.routes.readmodels import READ_MODEL_ROUTES
from interfaces.http.routes.stream import stream
from interfaces.http.routes.tamper import TAMPER_ROUTES
from interfaces.http.segments import keep_encoded_slashes
from interfaces.http.strict_body import decode_strictly
from interfaces.http.swagger import swagger_plugin
from interfaces.services import Services

OBSERVATION_ROUTES = [
    list_logs,
    histogram,
    list_dead_letters,
    list_bounty,
    stats,
    stream,
    list_attackers,
    get_attacker,
    attacker_commands,
    attacker_artifacts,
    attacker_evidence,
    download_artifact,
]

API_PREFIX = "/api/v1"
# Headers a dashboard on another origin may read: downloads name their file, 429/503 say when.
EXPOSED_HEADERS = ["Content-Disposition", "Retry-After", "X-Request-ID", "WWW-Authenticate"]


def cors_config(origins: list[str]) -> CORSConfig | None:
    """CORS for the configured origins only; none configured, no CORS headers at all.

    Bearer tokens travel in a header (or an SSE ticket), never in cookies: no credentials mode.
    """
    if not origins:
        return None
    return CORSConfig(allow_origins=origins, expose_headers=EXPOSED_HEADERS)


def create_app(services: Services) -> Litestar:
    """Build the HTTP app around a process's services."""
    api = Router(
        path=API_PREFIX,
        route_handlers=[
            AuthController,
            ConfigController,
            FleetController,
            health,
            *OBSERVATION_ROUTES,
            *READ_MODEL_ROUTES,
            *HISTORY_ROUTES,
            *TAMPER_ROUTES,
        ],
        security=[{"BearerToken": []}],
    )
    app = Litestar(
        route_handlers=[api, console_router()],
        middleware=[DefineMiddleware(BearerAuthMiddleware, exclude=["^/schema"])],
        before_request=decode_strictly,
        cors_config=cors_config(services.core.settings.cors_origin_list),
        exception_handlers=exception_handlers(),
        openapi_config=OpenAPIConfig(
            title="decnet-es",
            version="0.1.0",
            path="/schema",
            render_plugins=[swagger_plugin()],
            components=Components(
                security_schemes={
                    "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
                }
            ),
        ),
        state=State({"services": services}),
        logging_config=None,
        debug=False,
    )
    document_api(app)
    bind_options_to_routes(app)
    # Outside Litestar's exception handling, so they see every response as the client does;
    # a HEAD is a GET to everything inside, its route's metrics included.
    app.asgi_handler = answer_head(observe_requests(keep_encoded_slashes(app.asgi_handler)))
    return app
