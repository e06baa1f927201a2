"""`/config`: settings and user administration."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.exceptions import PermissionDeniedException
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import Parameter

from domain.fleet.durations import format_duration, parse_duration
from domain.fleet.settings import DEPLOYMENT_LIMIT_RANGE
from domain.identity.roles import PASSWORD_MAX, PASSWORD_MIN, USERNAME_RE, Role, parse_role
from domain.identity.user import UsernameTakenError
from interfaces.http.auth import command_meta, principal_of, requires_command, services_of
from interfaces.http.commands import in_thread, settle
from interfaces.http.openapi import ANSWERS, DURATION_PATTERN, documented
from interfaces.http.params import uuid_param, whole
from interfaces.http.schemas import (
    ConfigResponse,
    MessageResponse,
    ReinitResponse,
    UserResponse,
)

UserId = Annotated[str, Parameter(description="The user's uuid", schema_extra={"format": "uuid"})]


ROLE = documented(enum=[r.value for r in Role])
PASSWORD = documented(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)
LOW, HIGH = DEPLOYMENT_LIMIT_RANGE


class DeploymentLimitRequest(msgspec.Struct, forbid_unknown_fields=True):
    # A float is taken only when it is a whole number (`whole`): the schema says integer.
    deployment_limit: Annotated[
        int | float, documented(one_of=None, type=OpenAPIType.INTEGER, minimum=LOW, maximum=HIGH)
    ]


class GlobalIntervalRequest(msgspec.Struct, forbid_unknown_fields=True):
    global_mutation_interval: Annotated[str, documented(pattern=DURATION_PATTERN)]


class CreateUserRequest(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[str, documented(pattern=USERNAME_RE.pattern)]
    password: Annotated[str, PASSWORD]
    role: Annotated[str, ROLE] = "viewer"


class RoleRequest(msgspec.Struct, forbid_unknown_fields=True):
    role: Annotated[str, ROLE]


class ResetPasswordRequest(msgspec.Struct, forbid_unknown_fields=True):
    new_password: Annotated[str, PASSWORD]


class ConfigController(Controller):
    """Viewers read the settings; admins change them and manage users."""

    path = "/config"
    tags = ["config"]

    @get("/")
    async def read_config(self, request: Request[Any, Any, Any]) -> ConfigResponse:
        """Settings; admins also get the users (and `developer_mode` in developer mode)."""
        services = services_of(request)
        principal = principal_of(request)
        values = await services.core.directory.settings()
        body = ConfigResponse(
            role=principal.role,
            deployment_limit=values.deployment_limit,
            global_mutation_interval=format_duration(values.global_mutation_interval_minutes),
        )
        if principal.is_admin:
            body.users = await services.core.directory.list_users()
            if services.core.settings.developer:
                body.developer_mode = True
        return body

    @put("/deployment-limit", guards=[requires_command])
    async def set_limit(
        self, request: Request[Any, Any, Any], data: DeploymentLimitRequest
    ) -> MessageResponse:
        """Cap the fleet size (1..500)."""
        services = services_of(request)
        position = await in_thread(
            services.core.config.set_deployment_limit,
            command_meta(request),
            whole("deployment_limit", data.deployment_limit),
        )
        await settle(services, position, ["settings"])
        return MessageResponse("Deployment limit updated")

    @put("/global-mutation-interval", guards=[requires_command])
    async def set_interval(
        self, request: Request[Any, Any, Any], data: GlobalIntervalRequest
    ) -> MessageResponse:
        """How often deckies without their own interval mutate (`^[1-9]\\d*[mdMyY]$`)."""
        services = services_of(request)
        minutes = parse_duration(data.global_mutation_interval)
        position = await in_thread(
            services.core.config.set_global_mutation_interval, command_meta(request), minutes
        )
        await settle(services, position, ["settings"])
        return MessageResponse("Global mutation interval updated")

    @post("/users", guards=[requires_command], status_code=200, opt={ANSWERS: (409,)})
    async def create_user(
        self, request: Request[Any, Any, Any], data: CreateUserRequest
    ) -> UserResponse:
        """A new user who must change the given password at first login (409 duplicate)."""
        services = services_of(request)
        role = parse_role(data.role)
        if await services.core.directory.by_username(data.username) is not None:
            # Also catches a name held in another casing under a claim from before the
            # case-insensitive rule (the command itself checks the case-folded claim).
            raise UsernameTakenError(f"username {data.username!r} already exists")
        user, position = await in_thread(
            services.core.users.register, command_meta(request), data.username, data.password, role
        )
        await settle(services, position, ["users"])
        return UserResponse(str(user.id), user.username, user.role.value, True)

    @delete("/users/{user_id:str}", guards=[requires_command], status_code=200)
    async def delete_user(
        self, request: Request[Any, Any, Any], user_id: UserId
    ) -> MessageResponse:
        """Remove another user; their tokens stop working (403 yourself)."""
        services = services_of(request)
        position = await in_thread(
            services.core.users.delete, command_meta(request), uuid_param("user uuid", user_id)
        )
        await settle(services, position, ["users"])
        return MessageResponse("User deleted")

    @put("/users/{user_id:str}/role", guards=[requires_command])
    async def change_role(
        self, request: Request[Any, Any, Any], user_id: UserId, data: RoleRequest
    ) -> MessageResponse:
        """Change another user's role (403 yourself)."""
        services = services_of(request)
        role = parse_role(data.role)
        position = await in_thread(
            services.core.users.change_role,
            command_meta(request),
            uuid_param("user uuid", user_id),
            role,
        )
        await settle(services, position, ["users"])
        return MessageResponse("User role updated")

    @put("/users/{user_id:str}/reset-password", guards=[requires_command])
    async def reset_password(
        self, request: Request[Any, Any, Any], user_id: UserId, data: ResetPasswordRequest
    ) -> MessageResponse:
        """Set a password the user must change; their tokens stop working."""
        services = services_of(request)
        position = await in_thread(
            services.core.users.reset_password,
            command_meta(request),
            uuid_param("user uuid", user_id),
            data.new_password,
        )
        await settle(services, position, ["users"])
        return MessageResponse("Password reset successfully")

    @delete("/reinit", guards=[requires_command], status_code=200)
    async def reinit(self, request: Request[Any, Any, Any]) -> ReinitResponse:
        """Developer mode only: forget every observation (logs, bounties) made so far."""
        services = services_of(request)
        if not services.core.settings.developer:
            raise PermissionDeniedException("reinit is only available in developer mode")
        deleted = await services.api.purge.purge(command_meta(request))
        return ReinitResponse("Data purged", deleted)
