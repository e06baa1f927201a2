"""The console's files, read once from the package: bytes, media type and a content ETag."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

STATIC_PACKAGE = "interfaces.http.console"
STATIC_DIR = "static"
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class Asset:
    """One file of the console as it is served."""

    body: bytes
    media_type: str
    etag: str


def _media_type(name: str) -> str:
    suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    if suffix in MEDIA_TYPES:
        return MEDIA_TYPES[suffix]
    if name.isupper() or name.startswith("LICENSE"):
        return MEDIA_TYPES[".txt"]
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _walk(folder: Traversable, prefix: str) -> dict[str, Asset]:
    found: dict[str, Asset] = {}
    for entry in folder.iterdir():
        name = f"{prefix}{entry.name}"
        if entry.is_dir():
            found.update(_walk(entry, f"{name}/"))
        elif entry.is_file() and not entry.name.startswith("."):
            body = entry.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            found[name] = Asset(body, _media_type(entry.name), etag)
    return found


def load_assets() -> dict[str, Asset]:
    """Every file under the package's `static/`, keyed by its path relative to it."""
    return _walk(resources.files(STATIC_PACKAGE).joinpath(STATIC_DIR), "")
