"""`/artifacts/{decky}/{stored_as}`: captured file bytes, confined to the artifacts root."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from litestar import Request, get
from litestar.openapi.spec import Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import Parameter
from litestar.response import File

from domain.fleet.names import DECKY_NAME_RULE
from domain.observations.artifacts import SERVICE_RULE, STORED_AS_RULE
from interfaces.http.auth import requires_command, services_of
from interfaces.http.openapi import raw_answer
from interfaces.http.params import given, query


@get(
    "/artifacts/{decky:str}/{stored_as:str}",
    guards=[requires_command],
    tags=["artifacts"],
    responses=raw_answer(bytes, "application/octet-stream", "The captured file, as an attachment"),
)
async def download_artifact(
    request: Request[Any, Any, Any],
    decky: Annotated[str, Parameter(schema_extra={"pattern": DECKY_NAME_RULE})],
    stored_as: Annotated[str, Parameter(schema_extra={"pattern": STORED_AS_RULE})],
    service: Annotated[
        str | None,
        query(
            "The service directory to look in",
            Schema(type=OpenAPIType.STRING, pattern=SERVICE_RULE),
        ),
    ] = None,
) -> File:
    """The captured file as an attachment (admin only): 400 bad or escaping name, 404 missing."""
    store = services_of(request).core.artifacts
    path = await anyio.to_thread.run_sync(store.find, decky, stored_as, given(service))
    return File(
        path=path,
        filename=stored_as,
        media_type="application/octet-stream",
        content_disposition_type="attachment",
        headers={"X-Content-Type-Options": "nosniff"},
    )
