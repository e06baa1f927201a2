"""How a captured file is named (SPEC §3): the names are made and checked by the rules here."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import PurePosixPath

from domain.fleet.names import DECKY_NAME_RULE, is_decky_name
from domain.shared.errors import MalformedError

STORED_AS_RULE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z_[a-f0-9]{12}_[A-Za-z0-9._-]{1,255}$"
SERVICE_RULE = "^[a-z0-9_-]{1,32}$"
_STORED_AS = re.compile(STORED_AS_RULE)
_SERVICE = re.compile(SERVICE_RULE)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_MAX_BASE_NAME = 200


class ArtifactNameError(MalformedError, ValueError):
    """A requested decky, stored_as or service name breaks its rule (HTTP 400)."""


def check_artifact_name(decky: str, stored_as: str, service: str | None = None) -> None:
    """Raise `ArtifactNameError` unless each part follows its rule (`service` None: any)."""
    if not is_decky_name(decky):
        raise ArtifactNameError(f"decky must match {DECKY_NAME_RULE}")
    if _STORED_AS.fullmatch(stored_as) is None:
        raise ArtifactNameError("stored_as does not match the artifact naming pattern")
    if service is not None and _SERVICE.fullmatch(service) is None:
        raise ArtifactNameError(f"service must match {SERVICE_RULE}")


def safe_name(orig_path: str) -> str:
    """The path's base name with only `[A-Za-z0-9._-]`, never empty, `.` or `..`."""
    base = PurePosixPath(orig_path.replace("\\", "/")).name
    name = _UNSAFE.sub("_", base)[:_MAX_BASE_NAME]
    return name if name.strip(".") else "upload"


def stored_as_name(moment: datetime, sha256: str, orig_path: str) -> str:
    """The name an upload is stored under: its second, its digest's prefix, its safe base name."""
    return f"{moment.strftime('%Y-%m-%dT%H:%M:%SZ')}_{sha256[:12]}_{safe_name(orig_path)}"
