"""Files attackers upload, stored under `<root>/<decky>/<service>/<stored_as>` with caps.

Uploads stream to a temporary file while their sha256 and size are computed; the per-upload and
per-decky caps are enforced while writing, so an attacker cannot fill the disk.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
DEFAULT_MAX_UPLOAD = 50 * 1024 * 1024
DEFAULT_MAX_PER_DECKY = 500 * 1024 * 1024


class QuotaExceeded(Exception):
    """An upload passed the per-upload or per-decky cap; it is discarded."""


@dataclass(frozen=True, slots=True)
class CapturedFile:
    """A stored upload: what the `file_captured` record carries."""

    stored_as: str
    sha256: str
    size: int
    orig_path: str
    path: Path

    def fields(self) -> dict[str, str]:
        """Record fields for `file_captured`."""
        return {
            "stored_as": self.stored_as,
            "sha256": self.sha256,
            "size": str(self.size),
            "orig_path": self.orig_path,
        }


def safe_name(orig_path: str) -> str:
    """The upload's base name with only `[A-Za-z0-9._-]`, never empty, `.` or `..`."""
    name = SAFE_NAME.sub("_", PurePosixPath(orig_path.replace("\\", "/")).name)[:200]
    return name if name.strip(".") else "upload"


class ArtifactWriter:
    """One upload in progress."""

    def __init__(self, store: ArtifactStore, decky: str, service: str, orig_path: str) -> None:
        self._store = store
        self._decky = decky
        self._service = service
        self.orig_path = orig_path
        self._hash = hashlib.sha256()
        self.size = 0
        directory = store.root / decky / service
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".upload-", dir=directory)
        self._file = os.fdopen(fd, "wb")
        self._tmp = Path(name)

    def write(self, data: bytes) -> None:
        """Append bytes; raises `QuotaExceeded` (and discards the upload) past a cap."""
        # Only bytes actually reserved count in `size`, so abort() gives back exactly those.
        too_big = self.size + len(data) > self._store.max_upload
        if too_big or not self._store.reserve(self._decky, len(data)):
            self.abort()
            raise QuotaExceeded(f"upload {self.orig_path!r} exceeds the storage cap")
        self.size += len(data)
        self._hash.update(data)
        self._file.write(data)

    def finish(self, now: datetime | None = None) -> CapturedFile:
        """Close and move into place under its final name."""
        self._file.close()
        digest = self._hash.hexdigest()
        stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        stored_as = f"{stamp}_{digest[:12]}_{safe_name(self.orig_path)}"
        final = self._tmp.parent / stored_as
        os.replace(self._tmp, final)
        return CapturedFile(stored_as, digest, self.size, self.orig_path, final)

    def abort(self) -> None:
        """Drop the partial upload and give back its reservation."""
        if not self._file.closed:
            self._file.close()
        self._tmp.unlink(missing_ok=True)
        self._store.release(self._decky, self.size)


class ArtifactStore:
    """Where uploads go, with a byte budget per decky (counted from what is on disk)."""

    def __init__(
        self,
        root: Path,
        max_upload: int = DEFAULT_MAX_UPLOAD,
        max_per_decky: int = DEFAULT_MAX_PER_DECKY,
    ) -> None:
        self.root = root
        self.max_upload = max_upload
        self.max_per_decky = max_per_decky
        self._used: dict[str, int] = {}

    def open_upload(self, decky: str, service: str, orig_path: str) -> ArtifactWriter:
        """Start receiving a file."""
        return ArtifactWriter(self, decky, service, orig_path)

    def store_bytes(self, decky: str, service: str, orig_path: str, data: bytes) -> CapturedFile:
        """Store a complete upload held in memory (small protocols)."""
        writer = self.open_upload(decky, service, orig_path)
        writer.write(data)
        return writer.finish()

    def reserve(self, decky: str, size: int) -> bool:
        """Count `size` bytes against the decky's budget; False when it would pass it."""
        used = self._used.get(decky)
        if used is None:
            used = self._disk_usage(decky)
        if used + size > self.max_per_decky:
            self._used[decky] = used
            return False
        self._used[decky] = used + size
        return True

    def release(self, decky: str, size: int) -> None:
        """Give back bytes of a discarded upload."""
        self._used[decky] = max(0, self._used.get(decky, 0) - size)

    def _disk_usage(self, decky: str) -> int:
        base = self.root / decky
        if not base.is_dir():
            return 0
        return sum(p.stat().st_size for p in base.rglob("*") if p.is_file())
