"""Bearer-token authentication (our own small middleware on PyJWT) and the role guards."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import Guard

from application.identity.login import Principal
from application.identity.tickets import SseTickets
from domain.identity.roles import Capability
from domain.shared.meta import CommandMeta
from interfaces.services import Services

PUBLIC = "public"
ALLOW_MUST_CHANGE = "allow_must_change"
QUERY_TOKEN = "query_token"  # noqa: S105 - a route option name, not a secret


def services_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Services:
    """The process's services, stored on the app state by the factory."""
    services: Services = connection.app.state.services
    return services


def _query_credentials(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    handler = connection.scope.get("route_handler")
    return handler is not None and bool(handler.opt.get(QUERY_TOKEN))


def _authorization(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The first `Authorization` header, read from the scope (no header mapping built)."""
    for name, value in connection.scope["headers"]:
        if name.lower() == b"authorization":
            return value.decode("latin-1")
    return ""


def _bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = _authorization(connection)
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if _query_credentials(connection):
        # EventSource cannot set headers, so the stream route also reads ?token=.
        return connection.query_params.get("token") or None
    return None


def _ticket(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """A single-use `?ticket=` (from `POST /auth/sse-ticket`) on the routes that take one."""
    if not _query_credentials(connection):
        return None
    return connection.query_params.get("ticket") or None


def sse_tickets(connection: ASGIConnection[Any, Any, Any, Any]) -> SseTickets:
    """Ticket issuing and redeeming over the process's ticket store."""
    api = services_of(connection).api
    return SseTickets(api.tickets, api.auth)


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    """Turns a bearer token (or an SSE ticket) into a `Principal` or answers 401; then the read
    rule every route shares (`requires_read`) answers 403 if it must."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        token = _bearer(connection)
        if token is not None:
            principal = await services_of(connection).api.auth.authenticate(token)
            auth: str | None = token
        else:
            ticket = _ticket(connection)
            if ticket is None:
                raise NotAuthorizedException("Not authenticated")
            principal, auth = await sse_tickets(connection).redeem(ticket), None
        handler = connection.scope.get("route_handler")
        if handler is not None:
            requires_read(principal, handler)
        return AuthenticationResult(user=principal, auth=auth)


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The authenticated caller."""
    principal: Principal = connection.user
    return principal


def requires_read(principal: Principal, handler: BaseRouteHandler) -> None:
    """Any authenticated user who has no pending password change (unless the route allows it).

    Checked by the auth middleware as soon as the caller is known, not as a Litestar guard:
    Litestar calls each guard with a copy of the route handler, on every request, and runs a
    plain-function guard in a worker thread.
    """
    if handler.opt.get(PUBLIC):
        return
    if principal.must_change_password and not handler.opt.get(ALLOW_MUST_CHANGE):
        raise PermissionDeniedException("Password change required before using this route")


def _requires(capability: Capability, refusal: str) -> Guard:
    async def guard(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        # The auth middleware already applied `requires_read` to this caller.
        if not principal_of(connection).can(capability):
            raise PermissionDeniedException(refusal)

    guard.__name__ = f"requires_{capability.value}"
    return guard


requires_command = _requires(Capability.COMMAND, "Admin role required")
requires_audit = _requires(Capability.AUDIT, "Auditor or admin role required")


def command_meta(connection: ASGIConnection[Any, Any, Any, Any]) -> CommandMeta:
    """Who is asking, from where, in which request: recorded on every event."""
    user = connection.scope.get("user")
    actor = UUID(user.user_id) if isinstance(user, Principal) else None
    client = connection.client.host if connection.client else None
    request_id = connection.scope.get("state", {}).get("request_id")
    return CommandMeta(actor_id=actor, client_ip=client, request_id=request_id)


def unauthorized(detail: str) -> NotAuthorizedException:
    """A 401 with the Bearer challenge."""
    return NotAuthorizedException(detail, headers={"WWW-Authenticate": "Bearer"})
