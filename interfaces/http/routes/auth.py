"""`/auth`: login, change-password, me, logout, SSE tickets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post

from application.errors import AuthenticationError, RateLimitedError, UnavailableError
from domain.identity.roles import PASSWORD_MAX, PASSWORD_MIN
from infrastructure.metrics import METRICS
from interfaces.http.auth import (
    ALLOW_MUST_CHANGE,
    PUBLIC,
    command_meta,
    principal_of,
    services_of,
    sse_tickets,
)
from interfaces.http.commands import in_thread, settle
from interfaces.http.openapi import ANSWERS, documented
from interfaces.http.schemas import MessageResponse, UserResponse

LOGIN_MAX_BODY_BYTES = 64 * 1024


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    username: str
    password: str


class TokenResponse(msgspec.Struct):
    access_token: str
    token_type: str
    must_change_password: bool


class ChangePasswordRequest(msgspec.Struct, forbid_unknown_fields=True):
    old_password: str
    new_password: Annotated[str, documented(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)]


class TicketResponse(msgspec.Struct):
    ticket: str


class AuthController(Controller):
    """Session endpoints; only login is public."""

    path = "/auth"
    tags = ["auth"]

    @post(
        "/login",
        opt={PUBLIC: True, "exclude_from_auth": True, ANSWERS: (401, 429)},
        status_code=200,
        security=[],
        # Credentials are a few hundred bytes; the one public body need not take megabytes.
        request_max_body_size=LOGIN_MAX_BODY_BYTES,
    )
    async def login(self, request: Request[Any, Any, Any], data: LoginRequest) -> TokenResponse:
        """Exchange credentials for a bearer token (401 bad credentials, 429 throttled)."""
        services = services_of(request)
        meta = command_meta(request)
        client_ip = meta.client_ip or "unknown"
        try:
            result = await services.api.auth.login(
                data.username, data.password, client_ip, meta.request_id
            )
        except RateLimitedError:
            METRICS.logins_throttled.inc()
            raise
        except AuthenticationError:
            METRICS.login_failures.inc()
            raise
        return TokenResponse(result.access_token, "bearer", result.must_change_password)

    @post("/change-password", opt={ALLOW_MUST_CHANGE: True}, status_code=200)
    async def change_password(
        self, request: Request[Any, Any, Any], data: ChangePasswordRequest
    ) -> MessageResponse:
        """Rotate one's own password; ends every token issued before (401 wrong old password)."""
        services = services_of(request)
        principal = principal_of(request)
        position = await in_thread(
            services.core.users.change_password,
            command_meta(request),
            UUID(principal.user_id),
            data.old_password,
            data.new_password,
        )
        await settle(services, position, ["users"])
        return MessageResponse("Password updated successfully")

    @get("/me", opt={ALLOW_MUST_CHANGE: True})
    async def me(self, request: Request[Any, Any, Any]) -> UserResponse:
        """Who the token belongs to."""
        p = principal_of(request)
        return UserResponse(p.user_id, p.username, p.role, p.must_change_password)

    @post("/logout", opt={ALLOW_MUST_CHANGE: True}, status_code=204)
    async def logout(self, request: Request[Any, Any, Any]) -> None:
        """Revoke the token used for this request."""
        services = services_of(request)
        p = principal_of(request)
        expires = datetime.fromtimestamp(p.claims.expires_at, tz=UTC)
        position = await in_thread(
            services.core.users.revoke_token,
            command_meta(request),
            UUID(p.user_id),
            p.claims.jti,
            expires,
        )
        # The event is the record; the denylist makes every replica refuse the token now.
        try:
            await services.api.auth.denylist.deny(p.claims.jti, p.claims.expires_at)
        except UnavailableError:
            # Without the denylist, the users model (which every replica asks) must hold the
            # revocation before the logout is confirmed; else 503 (the event stays saved).
            if not await services.api.progress.wait_for(position, ["users"]):
                raise
            return
        await settle(services, position, ["users"])

    @post("/sse-ticket", status_code=200)
    async def sse_ticket(self, request: Request[Any, Any, Any]) -> TicketResponse:
        """A single-use ticket for `GET /stream?ticket=` (≤ 30 s, never past this token's expiry).

        Browsers cannot set headers on `EventSource`; the ticket keeps the token out of URLs.
        """
        ticket = await sse_tickets(request).issue(principal_of(request).claims)
        return TicketResponse(ticket)
