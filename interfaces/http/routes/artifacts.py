"""`/artifacts/{decky}/{stored_as}`: captured file bytes, confined to the artifacts root."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio.to_thread
from litestar import Request, get
from litestar.exceptions import HTTPException
from litestar.response import File

from domain.observations.artifacts import ArtifactNameError
from infrastructure.artifacts.store import ArtifactEscapeError, ArtifactStore
from interfaces.http.auth import container_of, requires_admin
from interfaces.http.params import given


async def _find(root: Path, decky: str, stored_as: str, service: str | None) -> Path:
    """The stored file (off the event loop); a bad or escaping name is 400, a missing one 404."""
    store = ArtifactStore(root)
    try:
        return await anyio.to_thread.run_sync(store.find, decky, stored_as, service)
    except (ArtifactNameError, ArtifactEscapeError) as e:
        raise HTTPException(status_code=400, detail=str(e)) from None


@get("/artifacts/{decky:str}/{stored_as:str}", guards=[requires_admin], tags=["artifacts"])
async def download_artifact(
    request: Request[Any, Any, Any], decky: str, stored_as: str, service: str | None = None
) -> File:
    """The captured file as an attachment (admin only)."""
    root = container_of(request).settings.artifacts_dir
    path = await _find(root, decky, stored_as, given(service))
    return File(
        path=path,
        filename=stored_as,
        media_type="application/octet-stream",
        content_disposition_type="attachment",
        headers={"X-Content-Type-Options": "nosniff"},
    )
