"""`/artifacts/{decky}/{stored_as}`: captured file bytes, confined to the artifacts root."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from litestar import Request, get
from litestar.response import File

from interfaces.http.auth import requires_command, services_of
from interfaces.http.params import TEXT, given, query


@get("/artifacts/{decky:str}/{stored_as:str}", guards=[requires_command], tags=["artifacts"])
async def download_artifact(
    request: Request[Any, Any, Any],
    decky: str,
    stored_as: str,
    service: Annotated[str | None, query("The service directory to look in", TEXT)] = None,
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
