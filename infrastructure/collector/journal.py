"""The collector's write-ahead journal: every accepted message is on disk before it is batched.

Segments are files of length-prefixed msgpack frames under `<data_dir>/journal`. The collector
appends with one unbuffered `os.write` per entry (it survives a killed process); with the `batch`
fsync policy the group commit (`group_commit.py`) then fdatasyncs appends in groups, so they also
survive a kernel crash or a power loss. The batcher tails the segments and appends batches to the
event store; a checkpoint file records how far the store holds. The journal is at once the crash
log, the spool during a database outage, and the bounded queue between the sockets and the store.
"""

from __future__ import annotations

import contextlib
import os
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import msgspec
import structlog

from domain.observations.batch import RejectedLine
from domain.observations.records import InteractionRecord
from infrastructure.disk_full import is_disk_full

_HEADER = struct.Struct(">I")
SEGMENT_BYTES = 64 * 1024 * 1024
CHECKPOINT = "checkpoint.json"
# fdatasync skips the metadata a reader does not need; macOS has only fsync.
DATASYNC: Callable[[int], None] = getattr(os, "fdatasync", os.fsync)

Entry = InteractionRecord | RejectedLine
FsyncPolicy = Literal["batch", "off"]
log = structlog.get_logger()


class JournalFull(Exception):
    """The disk refused a journal write (ENOSPC/EDQUOT); nothing of that entry was kept."""


class _Frame(msgspec.Struct, array_like=True):
    record: InteractionRecord | None = None
    rejected: RejectedLine | None = None


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_Frame)


class Checkpoint(msgspec.Struct, frozen=True):
    """Everything before `offset` in `segment` (and all earlier segments) is in the store."""

    segment: str
    offset: int


@dataclass(frozen=True, slots=True)
class SyncPlan:
    """One group commit: the segment files to fdatasync and the journal position they cover."""

    target: int
    fds: tuple[int, ...]
    directory: bool


@dataclass(frozen=True, slots=True)
class Chunk:
    """Entries read from one segment and the byte range they occupy."""

    segment: str
    first_offset: int
    end_offset: int
    entries: list[Entry]


class Journal:
    """Append-only segments; one writer per process, tailed by one reader (the batcher)."""

    def __init__(
        self,
        directory: Path,
        segment_bytes: int = SEGMENT_BYTES,
        fsync: FsyncPolicy = "batch",
        datasync: Callable[[int], None] = DATASYNC,
    ) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._segment_bytes = segment_bytes
        self._fd: int | None = None
        self._segment = ""
        self._size = 0
        self.bytes_written = 0
        self.fsync: FsyncPolicy = fsync
        self.synced_bytes = 0  # with `batch`: everything before this position is fdatasync'ed
        self._datasync = datasync
        self._retired: list[int] = []  # rotated-away segments whose last writes are not synced
        self._dir_dirty = False
        self._lock = threading.Lock()  # a sync in a worker thread vs. closing its files

    @property
    def current_segment(self) -> str:
        """The segment being written (empty before the first append)."""
        return self._segment

    def append(self, entry: Entry) -> None:
        """Write one entry durably enough to survive the process being killed."""
        frame = (
            _Frame(record=entry) if isinstance(entry, InteractionRecord) else _Frame(rejected=entry)
        )
        payload = _encoder.encode(frame)
        data = _HEADER.pack(len(payload)) + payload
        try:
            if self._fd is None or self._size + len(data) > self._segment_bytes:
                self._rotate()
            assert self._fd is not None
            self._write(self._fd, data)
        except OSError as e:
            if not is_disk_full(e):
                raise
            if self._size > 0:
                # What this segment holds may already be in the store: a new segment lets the
                # batcher delete it once read (when the journal itself filled the disk).
                self._rotate()
            raise JournalFull(e.strerror or str(e)) from e
        self._size += len(data)
        self.bytes_written += len(data)

    def _write(self, fd: int, data: bytes) -> None:
        """All of `data` or, on an error, none of it (a torn frame would stop the reader)."""
        view = memoryview(data)
        try:
            while view:  # a short write would tear the frame: finish it
                view = view[os.write(fd, view) :]
        except OSError:
            if len(view) < len(data):
                try:
                    os.ftruncate(fd, self._size)
                except OSError:
                    self._fd, self._size = None, 0  # a torn tail of a finished segment is skipped
                    self._retire(fd)
            raise

    @property
    def unsynced(self) -> bool:
        """With `batch`: appends exist that no fdatasync covers yet."""
        return self.fsync == "batch" and self.synced_bytes < self.bytes_written

    def sync_plan(self) -> SyncPlan:
        """What a group commit started now must sync (called on the event loop)."""
        fds = (*self._retired, self._fd) if self._fd is not None else tuple(self._retired)
        plan = SyncPlan(self.bytes_written, fds, self._dir_dirty)
        self._dir_dirty = False
        return plan

    def sync(self, plan: SyncPlan) -> None:
        """fdatasync the plan's files, and the directory if a segment was created (in a thread)."""
        with self._lock:
            for fd in plan.fds:
                if fd == self._fd or fd in self._retired:  # not closed by `close` meanwhile
                    self._datasync(fd)
            if plan.directory:
                _fsync_directory(self.directory)

    def synced(self, plan: SyncPlan) -> None:
        """The plan's sync completed: advance the synced position, close retired segments."""
        with self._lock:
            for fd in plan.fds:
                if fd in self._retired:
                    self._retired.remove(fd)
                    os.close(fd)
        self.synced_bytes = max(self.synced_bytes, plan.target)

    def close(self) -> None:
        """Close the segment files; with `batch`, sync them first (so a clean stop is durable)."""
        with self._lock:
            fds = [*self._retired, *([] if self._fd is None else [self._fd])]
            try:
                if self.fsync == "batch" and fds:
                    for fd in fds:
                        self._datasync(fd)
                    if self._dir_dirty:
                        _fsync_directory(self.directory)
                    self._dir_dirty = False
                    self.synced_bytes = self.bytes_written
            finally:
                for fd in fds:
                    os.close(fd)
                self._retired.clear()
                self._fd = None

    def segments(self) -> list[str]:
        """Segment names, oldest first."""
        return sorted(p.name for p in self.directory.glob("*.jnl"))

    def read(self, segment: str, offset: int, max_entries: int) -> Chunk:
        """Complete entries of `segment` from `offset` (a torn tail frame is left unread)."""
        with open(self.directory / segment, "rb") as f:
            f.seek(offset)
            data = f.read(max_entries * 2048)
        entries: list[Entry] = []
        pos = 0
        while len(entries) < max_entries and pos + _HEADER.size <= len(data):
            (length,) = _HEADER.unpack_from(data, pos)
            end = pos + _HEADER.size + length
            if end > len(data):
                if pos == 0 and length > len(data):
                    return self._read_large(segment, offset, length)
                break
            frame = _decode(data[pos + _HEADER.size : end])
            if frame is None:  # garbage where a frame should be: an unsynced tail after power loss
                break
            # A frame carries exactly one of the two (the writer sets one), which mypy cannot see.
            entries.append(frame.record if frame.record is not None else frame.rejected)  # type: ignore[arg-type]
            pos = end
        return Chunk(segment, offset, offset + pos, entries)

    def _read_large(self, segment: str, offset: int, length: int) -> Chunk:
        with open(self.directory / segment, "rb") as f:
            f.seek(offset + _HEADER.size)
            payload = f.read(length)
        if len(payload) < length:
            return Chunk(segment, offset, offset, [])
        frame = _decode(payload)
        if frame is None:
            return Chunk(segment, offset, offset, [])
        entry = frame.record if frame.record is not None else frame.rejected
        end = offset + _HEADER.size + length
        return Chunk(segment, offset, end, [entry] if entry is not None else [])

    def size(self, segment: str) -> int:
        """Bytes in a segment file."""
        return (self.directory / segment).stat().st_size

    def load_checkpoint(self) -> Checkpoint | None:
        """The last saved checkpoint, if any."""
        path = self.directory / CHECKPOINT
        if not path.is_file():
            return None
        try:
            return msgspec.json.decode(path.read_bytes(), type=Checkpoint)
        except msgspec.DecodeError as e:
            # Not synced before a power loss: replaying from the oldest segment is safe, the
            # store recognises the batches it already holds.
            log.warning("journal_checkpoint_unreadable", error=str(e))
            return None

    def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Atomically replace the checkpoint, then delete segments wholly before it.

        A checkpoint the disk refuses is only logged: the store holds those batches, so a replay
        from an older checkpoint (or from the first segment left) skips them, and deleting the
        segments still gives the space back.
        """
        tmp = self.directory / f"{CHECKPOINT}.tmp"
        try:
            tmp.write_bytes(msgspec.json.encode(checkpoint))
            os.replace(tmp, self.directory / CHECKPOINT)
        except OSError as e:
            log.warning("journal_checkpoint_not_saved", error=str(e), segment=checkpoint.segment)
            with contextlib.suppress(OSError):
                tmp.unlink()
        for name in self.segments():
            if name < checkpoint.segment and name != self._segment:
                with contextlib.suppress(FileNotFoundError):
                    (self.directory / name).unlink()

    def _rotate(self) -> None:
        if self._fd is not None:
            self._retire(self._fd)
            self._fd = None
        self._segment = f"{time.time_ns():020d}-{os.getpid()}.jnl"
        self._size = 0
        self._dir_dirty = True  # the new file's name must reach the disk too
        self._fd = os.open(
            self.directory / self._segment, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600
        )

    def _retire(self, fd: int) -> None:
        """A segment is no longer written: close it once a group commit synced its last writes
        (at once when nothing is unsynced: an open file keeps a deleted segment's space)."""
        if self.unsynced:
            self._retired.append(fd)
        else:
            with self._lock:  # never under a sync in a worker thread
                os.close(fd)


def _decode(payload: bytes) -> _Frame | None:
    try:
        return _decoder.decode(payload)
    except msgspec.DecodeError:
        return None


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
