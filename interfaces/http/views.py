"""`?view=<label>`: every read route answers from an as-of view when asked to."""

from __future__ import annotations

from typing import Annotated, Any

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.openapi.spec import Schema
from litestar.openapi.spec.enums import OpenAPIType

from application.reads.ports import Readers
from domain.identity.roles import Capability
from domain.readmodels.control import LABEL_RE, UnknownViewError
from domain.shared.errors import ConflictError
from interfaces.http.auth import principal_of, services_of
from interfaces.http.params import given, query
from projections.schema import Namespace

VIEW_DESCRIPTION = (
    "Answer from the as-of view with this label instead of the live read models"
    " (auditors and admins; 404 unknown view, 409 while it is still building)."
)
ViewParam = Annotated[
    str | None,
    query(VIEW_DESCRIPTION, Schema(type=OpenAPIType.STRING, pattern=LABEL_RE.pattern)),
]


async def readers_for(connection: ASGIConnection[Any, Any, Any, Any], view: str | None) -> Readers:
    """The live readers, or those of a ready view the caller may read."""
    services = services_of(connection)
    label = given(view)
    if label is None:
        return services.core.read_models.live()
    if not principal_of(connection).can(Capability.AUDIT):
        raise PermissionDeniedException("Auditor or admin role required to read a view")
    state = await services.core.views.state(label) if LABEL_RE.fullmatch(label) else None
    if state is None:
        raise UnknownViewError(f"no view labelled {label[:48]!r}")
    if state != "ready":
        raise ConflictError(f"view {label!r} is {state}; it cannot answer yet")
    return services.core.read_models.at(Namespace(view=label))
