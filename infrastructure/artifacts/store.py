"""The one owner of `<root>/<decky>/<service>/<stored_as>`: uploads go in, downloads are found.

Every method touches the disk: async callers run them in a worker thread
(`anyio.to_thread.run_sync`), never on the event loop.
"""

from __future__ import annotations

from pathlib import Path

import structlog

from domain.observations.artifacts import check_artifact_name
from domain.shared.errors import MalformedError, NotFoundError
from infrastructure.artifacts.budget import DEFAULT_MAX_PER_DECKY, DEFAULT_MAX_UPLOAD, UploadBudget
from infrastructure.artifacts.writer import ArtifactWriter, CapturedFile

log = structlog.get_logger()


class ArtifactEscapeError(MalformedError, ValueError):
    """A requested decky or service directory resolves outside the artifacts root (HTTP 400)."""


class ArtifactStore:
    """Captured files under `root`, with a byte budget per decky (counted from what is on disk)."""

    def __init__(
        self,
        root: Path,
        max_upload: int = DEFAULT_MAX_UPLOAD,
        max_per_decky: int = DEFAULT_MAX_PER_DECKY,
    ) -> None:
        self.root = root
        self.budget = UploadBudget(self._disk_usage, max_upload, max_per_decky)

    @property
    def max_upload(self) -> int:
        """The most bytes one upload may hold."""
        return self.budget.max_upload

    def open_upload(self, decky: str, service: str, orig_path: str) -> ArtifactWriter:
        """Start receiving a file into the decky's service directory."""
        return ArtifactWriter(self.budget, decky, self.root / decky / service, orig_path)

    def save(self, decky: str, service: str, orig_path: str, data: bytes) -> CapturedFile:
        """Store a complete upload held in memory (small protocols)."""
        writer = self.open_upload(decky, service, orig_path)
        writer.write(data)
        return writer.finish()

    def find(self, decky: str, stored_as: str, service: str | None = None) -> Path:
        """The stored file, in `service`'s directory or else any of the decky's, inside the root.

        Raises `ArtifactNameError` for a name outside its rule, `ArtifactEscapeError` when the
        decky's or the requested service's directory leads out of the root, `NotFoundError` when
        no such file is stored.
        """
        check_artifact_name(decky, stored_as, service)
        base = self.root.resolve()
        decky_dir = _inside(base, base / decky)
        if decky_dir is None:
            raise ArtifactEscapeError("path escapes the artifacts root")
        if service is not None:
            found = _requested(base, decky_dir / service / stored_as)
        else:
            found = _first_stored(base, decky_dir, decky, stored_as)
        if found is None:
            raise NotFoundError(f"artifact {decky}/{stored_as} not found")
        return found

    def _disk_usage(self, decky: str) -> int:
        base = self.root / decky
        if not base.is_dir():
            return 0
        return sum(p.stat().st_size for p in base.rglob("*") if p.is_file())


def _requested(base: Path, path: Path) -> Path | None:
    """The file at `path` if stored there; `ArtifactEscapeError` when it leads out of `base`."""
    found = _inside(base, path)
    if found is None:
        raise ArtifactEscapeError("path escapes the artifacts root")
    return found if found.is_file() else None


def _first_stored(base: Path, decky_dir: Path, decky: str, stored_as: str) -> Path | None:
    """The file in the first service directory (by name) holding it; links out are skipped."""
    for service in _subdirectories(decky_dir):
        found = _inside(base, decky_dir / service / stored_as)
        if found is None:
            # One link out of the root must not hide the decky's other services.
            log.warning("artifacts_candidate_outside_root", decky=decky, service=service)
        elif found.is_file():
            return found
    return None


def _inside(base: Path, path: Path) -> Path | None:
    """`path` resolved, or None when that leads outside `base`."""
    resolved = path.resolve()
    return resolved if resolved.is_relative_to(base) else None


def _subdirectories(path: Path) -> list[str]:
    """Names of the directories in `path`, sorted (none when it is not a directory)."""
    return sorted(p.name for p in path.iterdir() if p.is_dir()) if path.is_dir() else []
