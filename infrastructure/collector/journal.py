"""The collector's write-ahead journal: every accepted message is on disk before it is batched.

Segments are files of length-prefixed msgpack frames under `<data_dir>/journal`. The collector
appends with one unbuffered `os.write` per entry (it survives a killed process); the batcher tails
the segments and appends batches to the event store; a checkpoint file records how far the store
holds. The journal is at once the crash log, the spool during a database outage, and the bounded
queue between the sockets and the store.
"""

from __future__ import annotations

import contextlib
import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path

import msgspec

from domain.observations.batch import RejectedLine
from domain.observations.records import InteractionRecord

_HEADER = struct.Struct(">I")
SEGMENT_BYTES = 64 * 1024 * 1024
CHECKPOINT = "checkpoint.json"

Entry = InteractionRecord | RejectedLine


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
class Chunk:
    """Entries read from one segment and the byte range they occupy."""

    segment: str
    first_offset: int
    end_offset: int
    entries: list[Entry]


class Journal:
    """Append-only segments; one writer per process, tailed by one reader (the batcher)."""

    def __init__(self, directory: Path, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._segment_bytes = segment_bytes
        self._fd: int | None = None
        self._segment = ""
        self._size = 0
        self.bytes_written = 0

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
        if self._fd is None or self._size + len(data) > self._segment_bytes:
            self._rotate()
        assert self._fd is not None
        view = memoryview(data)
        while view:  # a short write would tear the frame: finish it
            view = view[os.write(self._fd, view) :]
        self._size += len(data)
        self.bytes_written += len(data)

    def close(self) -> None:
        """Close the current segment file."""
        if self._fd is not None:
            os.close(self._fd)
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
            frame = _decoder.decode(data[pos + _HEADER.size : end])
            entries.append(frame.record if frame.record is not None else frame.rejected)  # type: ignore[arg-type]
            pos = end
        return Chunk(segment, offset, offset + pos, entries)

    def _read_large(self, segment: str, offset: int, length: int) -> Chunk:
        with open(self.directory / segment, "rb") as f:
            f.seek(offset + _HEADER.size)
            payload = f.read(length)
        if len(payload) < length:
            return Chunk(segment, offset, offset, [])
        frame = _decoder.decode(payload)
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
        return msgspec.json.decode(path.read_bytes(), type=Checkpoint)

    def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Atomically replace the checkpoint, then delete segments wholly before it."""
        tmp = self.directory / f"{CHECKPOINT}.tmp"
        tmp.write_bytes(msgspec.json.encode(checkpoint))
        os.replace(tmp, self.directory / CHECKPOINT)
        for name in self.segments():
            if name < checkpoint.segment and name != self._segment:
                with contextlib.suppress(FileNotFoundError):
                    (self.directory / name).unlink()

    def _rotate(self) -> None:
        self.close()
        self._segment = f"{time.time_ns():020d}-{os.getpid()}.jnl"
        self._fd = os.open(
            self.directory / self._segment, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600
        )
        self._size = 0
