"""`/artifacts/{decky}/{stored_as}`: captured file bytes, confined to the artifacts root."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from litestar import Request, get
from litestar.exceptions import HTTPException
from litestar.response import File

from domain.shared.errors import NotFoundError
from interfaces.http.auth import requires_admin, services_of
from interfaces.http.params import given

DECKY_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
STORED_AS_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z_[a-f0-9]{12}_[A-Za-z0-9._-]{1,255}$"
)
SERVICE_RE = re.compile(r"^[a-z0-9_-]{1,32}$")


def _bad(detail: str) -> HTTPException:
    return HTTPException(status_code=400, detail=detail)


def find_artifact(root: Path, decky: str, stored_as: str, service: str | None) -> Path:
    """The artifact's path under `root/<decky>/<service>/`, never outside the root."""
    if not DECKY_RE.fullmatch(decky):
        raise _bad("decky must match ^[a-z0-9][a-z0-9-]{0,62}$")
    if not STORED_AS_RE.fullmatch(stored_as) or stored_as in {".", ".."}:
        raise _bad("stored_as does not match the artifact naming pattern")
    if service is not None and not SERVICE_RE.fullmatch(service):
        raise _bad("service must match ^[a-z0-9_-]{1,32}$")
    base = root.resolve()
    decky_dir = (base / decky).resolve()
    if not decky_dir.is_relative_to(base):
        raise _bad("path escapes the artifacts root")
    services = [service] if service else sorted(p.name for p in _dirs(decky_dir))
    for name in services:
        candidate = (decky_dir / name / stored_as).resolve()
        if not candidate.is_relative_to(base):
            raise _bad("path escapes the artifacts root")
        if candidate.is_file():
            return candidate
    raise NotFoundError(f"artifact {decky}/{stored_as} not found")


def _dirs(path: Path) -> list[Path]:
    return [p for p in path.iterdir() if p.is_dir()] if path.is_dir() else []


@get("/artifacts/{decky:str}/{stored_as:str}", guards=[requires_admin], tags=["artifacts"])
async def download_artifact(
    request: Request[Any, Any, Any], decky: str, stored_as: str, service: str | None = None
) -> File:
    """The captured file as an attachment (admin only)."""
    root = services_of(request).core.settings.artifacts_dir
    path = find_artifact(root, decky, stored_as, given(service))
    return File(
        path=path,
        filename=stored_as,
        media_type="application/octet-stream",
        content_disposition_type="attachment",
        headers={"X-Content-Type-Options": "nosniff"},
    )
