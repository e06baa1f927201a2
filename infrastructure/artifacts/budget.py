"""Byte caps on uploads: per upload and per decky, counted from disk, safe across threads."""

from __future__ import annotations

import threading
from collections.abc import Callable

DEFAULT_MAX_UPLOAD = 50 * 1024 * 1024
DEFAULT_MAX_PER_DECKY = 500 * 1024 * 1024


class UploadBudget:
    """How many bytes each decky may still store; the first count comes from `disk_usage`."""

    def __init__(
        self,
        disk_usage: Callable[[str], int],
        max_upload: int = DEFAULT_MAX_UPLOAD,
        max_per_decky: int = DEFAULT_MAX_PER_DECKY,
    ) -> None:
        self.max_upload = max_upload
        self.max_per_decky = max_per_decky
        self._disk_usage = disk_usage
        self._used: dict[str, int] = {}
        # Uploads write from worker threads: reservations are read-modify-write.
        self._lock = threading.Lock()

    def reserve(self, decky: str, size: int) -> bool:
        """Count `size` bytes against the decky's budget; False when it would pass it."""
        with self._lock:
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
        with self._lock:
            self._used[decky] = max(0, self._used.get(decky, 0) - size)
