"""One upload streamed to a temporary file, hashed and capped while it arrives, then named.

Every method touches the disk: call them from a worker thread, never on the event loop.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from domain.observations.artifacts import stored_as_name
from infrastructure.artifacts.budget import UploadBudget
from infrastructure.disk_full import is_disk_full


class QuotaExceeded(Exception):
    """An upload passed the per-upload or per-decky cap; it is discarded."""


class StorageFull(QuotaExceeded):
    """The disk refused the upload's bytes (ENOSPC/EDQUOT); it is discarded like one over a cap."""


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


class ArtifactWriter:
    """One upload in progress in `directory`, counted against the decky's budget."""

    def __init__(self, budget: UploadBudget, decky: str, directory: Path, orig_path: str) -> None:
        self._budget = budget
        self._decky = decky
        self.orig_path = orig_path
        self._hash = hashlib.sha256()
        self.size = 0
        self._settled = False  # finished or aborted: nothing more may happen to it
        # A connection torn down may abort while a worker thread is still writing.
        self._lock = threading.Lock()
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".upload-", dir=directory)
        self._file = os.fdopen(fd, "wb")
        self._tmp = Path(name)

    def write(self, data: bytes) -> None:
        """Append bytes; raises `QuotaExceeded` (and discards the upload) past a cap."""
        with self._lock:
            if self._settled:
                raise ValueError(f"upload {self.orig_path!r} was already settled")
            # Only bytes actually reserved count in `size`, so abort() gives back exactly those.
            too_big = self.size + len(data) > self._budget.max_upload
            if too_big or not self._budget.reserve(self._decky, len(data)):
                self._discard()
                raise QuotaExceeded(f"upload {self.orig_path!r} exceeds the storage cap")
            self.size += len(data)
            self._hash.update(data)
            try:
                self._file.write(data)
            except OSError as e:
                self._refused(e)

    def finish(self, now: datetime | None = None) -> CapturedFile:
        """Close and move into place under its final name."""
        with self._lock:
            if self._settled:
                raise ValueError(f"upload {self.orig_path!r} was already settled")
            try:
                self._file.close()  # flushes: the disk may refuse the last bytes here
            except OSError as e:
                self._refused(e)
            self._settled = True
            digest = self._hash.hexdigest()
            stored_as = stored_as_name(now or datetime.now(UTC), digest, self.orig_path)
            final = self._tmp.parent / stored_as
            os.replace(self._tmp, final)
            return CapturedFile(stored_as, digest, self.size, self.orig_path, final)

    def abort(self) -> None:
        """Drop the partial upload and give back its reservation (nothing once settled)."""
        with self._lock:
            self._discard()

    def _refused(self, error: OSError) -> None:
        """A write failed: discard the partial file; a full disk is `StorageFull`."""
        self._discard()
        if is_disk_full(error):
            raise StorageFull(f"upload {self.orig_path!r}: {error.strerror}") from error
        raise error

    def _discard(self) -> None:
        if self._settled:
            return
        self._settled = True
        with contextlib.suppress(OSError):  # a flush the full disk refuses: the file goes anyway
            self._file.close()
        self._tmp.unlink(missing_ok=True)
        self._budget.release(self._decky, self.size)
