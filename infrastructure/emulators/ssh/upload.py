"""One file arriving over SFTP/SCP, streamed into the artifact store (never the real tree).

SFTP writes carry offsets; clients send them in order, but may pipeline, so a write ahead of
the stream is held (within the upload cap) until the gap before it is filled.
"""

from __future__ import annotations

import threading

from infrastructure.artifacts.store import ArtifactStore
from infrastructure.artifacts.writer import ArtifactWriter, CapturedFile, QuotaExceeded


class Upload:
    """Bytes of one uploaded file; `QuotaExceeded` once it passes a cap (and it is discarded)."""

    def __init__(self, store: ArtifactStore, decky: str, service: str, path: str) -> None:
        self.path = path
        self._store = store
        self._decky = decky
        self._service = service
        self._writer: ArtifactWriter | None = None  # created on the first byte: no empty files
        self._next = 0
        self._ahead: dict[int, bytes] = {}
        self._ahead_bytes = 0
        self.refused = False
        self.received = 0
        self._abandoned = False
        # Calls run in worker threads; a torn-down connection may abort while one still writes.
        self._lock = threading.Lock()

    def write(self, offset: int, data: bytes) -> None:
        """Accept `data` at `offset`; overlapping rewrites of already stored bytes are ignored."""
        with self._lock:
            self._check_open()
            if self.refused:
                raise QuotaExceeded(f"upload {self.path!r} already refused")
            self.received += len(data)
            if offset > self._next:
                self._hold(offset, data)
                return
            skip = self._next - offset
            if skip < len(data):
                self._append(data[skip:])
            self._drain()

    def finish(self) -> CapturedFile | None:
        """Store the file (holes are zero-filled, as a sparse file reads); None when empty."""
        with self._lock:
            self._check_open()
            for offset in sorted(self._ahead):
                if offset > self._next:
                    self._append(b"\0" * (offset - self._next))
                self._drain()
            if self._writer is None:
                return None
            return self._writer.finish()

    def abort(self) -> None:
        """Discard whatever arrived (connection lost before close); later calls are refused."""
        with self._lock:
            self._abandoned = True
            if self._writer is not None and not self.refused:
                self._writer.abort()
            self._ahead.clear()

    def _check_open(self) -> None:
        if self._abandoned:
            raise ValueError(f"upload {self.path!r} was abandoned")

    def _hold(self, offset: int, data: bytes) -> None:
        self._ahead_bytes += len(data)
        if (
            offset + len(data) > self._store.max_upload
            or self._ahead_bytes > self._store.max_upload
        ):
            self._refuse()
        self._ahead[offset] = data

    def _drain(self) -> None:
        while ready := sorted(o for o in self._ahead if o <= self._next):
            for offset in ready:
                data = self._ahead.pop(offset)
                self._ahead_bytes -= len(data)
                skip = self._next - offset  # bytes of it already stored (a retransmission)
                if skip < len(data):
                    self._append(data[skip:])

    def _append(self, data: bytes) -> None:
        if self._writer is None:
            self._writer = self._store.open_upload(self._decky, self._service, self.path)
        try:
            self._writer.write(data)  # the writer discards itself when a cap is passed
        except QuotaExceeded:
            self.refused = True
            raise
        self._next += len(data)

    def _refuse(self) -> None:
        self.refused = True
        if self._writer is not None:
            self._writer.abort()
        self._ahead.clear()
        raise QuotaExceeded(f"upload {self.path!r} exceeds the storage cap")
