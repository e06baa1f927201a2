"""`/projections` (status, zero-downtime rebuilds) and `/views` (as-of views of the past)."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
import anyio.to_thread
import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.openapi.spec import Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import Parameter
from litestar.types import ControllerRouterHandler

from application.readmodels.status import projection_statuses
from application.reads.rows import ProjectionStatus, ViewInfo
from domain.observations.timeparse import parse_time_param
from domain.readmodels.control import LABEL_RE
from domain.shared.errors import InvalidError
from interfaces.http.auth import command_meta, requires_audit, requires_command, services_of
from interfaces.http.commands import in_thread
from interfaces.http.openapi import ANSWERS, documented
from interfaces.http.params import TIME, whole
from interfaces.status import status_sources

DROP_WAIT_S = 10.0


class RebuildAccepted(msgspec.Struct):
    """A rebuild was requested; follow it on `GET /projections`."""

    message: str
    name: str
    position: int


class ViewRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A view until a store position, or until a time (ISO-8601; naive means UTC)."""

    label: Annotated[str, documented(pattern=LABEL_RE.pattern)]
    until: Annotated[
        int | float | str,  # a float only as a whole number (`whole`)
        documented(
            one_of=None,
            any_of=[
                Schema(type=OpenAPIType.INTEGER, minimum=0, description="a store position"),
                *TIME,
            ],
        ),
    ]


class ViewAccepted(msgspec.Struct):
    """A view was requested; follow it on `GET /views`."""

    message: str
    label: str
    until_position: int
    position: int


ViewLabel = Annotated[
    str, Parameter(description="The view's label", schema_extra={"pattern": LABEL_RE.pattern})
]


@get("/projections", tags=["projections"])
async def list_projections(request: Request[Any, Any, Any]) -> list[ProjectionStatus]:
    """Every read model: state, position, lag in events and seconds, rebuild progress."""
    core = services_of(request).core
    return await projection_statuses(status_sources(core.store, core.projection_facts))


@post(
    "/projections/{name:str}/rebuild",
    guards=[requires_command],
    status_code=202,
    tags=["projections"],
    opt={ANSWERS: (409,)},
)
async def rebuild_projection(request: Request[Any, Any, Any], name: str) -> RebuildAccepted:
    """Rebuild one read model beside the live one and swap it in when caught up (409 busy)."""
    commands = services_of(request).core.read_model_commands
    position = await in_thread(commands.request_rebuild, command_meta(request), name)
    return RebuildAccepted(f"Rebuild of {name} requested", name, position)


class ViewsController(Controller):
    """As-of views (auditors and admins)."""

    path = "/views"
    tags = ["views"]
    # Guards on each handler, not the controller: the automatic OPTIONS handler passes no auth
    # middleware, and a controller guard would ask it for a user (a 500).

    @post("/", guards=[requires_audit], status_code=202, opt={ANSWERS: (409,)})
    async def create_view(self, request: Request[Any, Any, Any], data: ViewRequest) -> ViewAccepted:
        """Build every read model as of a position or time into a view of its own (409: cap)."""
        until: int | Any = data.until
        if isinstance(data.until, float):
            until = whole("until", data.until)
        elif isinstance(data.until, str):
            until = parse_time_param(data.until)
            if until is None:
                raise InvalidError("until must be a store position or an ISO-8601 time")
        commands = services_of(request).core.read_model_commands
        position, until_position = await in_thread(
            commands.create_view, command_meta(request), data.label, until
        )
        return ViewAccepted(f"View {data.label} requested", data.label, until_position, position)

    @get("/", guards=[requires_audit])
    async def list_views(self, request: Request[Any, Any, Any]) -> list[ViewInfo]:
        """Every view with its state and build progress."""
        return await services_of(request).core.views.infos()

    @delete("/{label:str}", guards=[requires_audit], status_code=204)
    async def drop_view(self, request: Request[Any, Any, Any], label: ViewLabel) -> None:
        """Drop a view and its tables (404 unknown); answers once the view is gone."""
        services = services_of(request)
        await in_thread(services.core.read_model_commands.drop_view, command_meta(request), label)
        with anyio.move_on_after(DROP_WAIT_S):  # the projector drops it; readers stop seeing it
            # Polling on purpose: the projector, maybe in another process, drops it; its row tells.
            while await services.core.views.state(label) is not None:  # noqa: ASYNC110 - see above
                await anyio.sleep(0.05)


READ_MODEL_ROUTES: list[ControllerRouterHandler] = [
    list_projections,
    rebuild_projection,
    ViewsController,
]
