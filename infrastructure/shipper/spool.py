"""The shipper's spool: append-only segment files plus a cursor of what the collector took.

Every record an emulator emits is appended here first (one RFC 5424 line per LF, which
`format_line` guarantees is safe) and sent from here, so a collector that is away, restarting or
slow loses nothing: the lines wait on disk, bounded by `max_bytes`, and go out in order once it
answers. The cursor file holds `segment offset` of the first line not yet acknowledged and is
replaced atomically; fully sent segments are deleted.

The files are written without fsync: they survive the emulator process dying (the page cache
keeps them), not the host losing power. Calls are short synchronous file operations on small
lines, made from the event loop on purpose (one emulator per process, no other work to stall).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from domain.shared.errors import UnavailableError

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_SEGMENT_BYTES = 4 * 1024 * 1024
_SEGMENT = re.compile(r"([0-9]{12})\.spool")
_CURSOR = "cursor"


class SpoolFullError(UnavailableError):
    """The spool holds `max_bytes` of unsent lines; the caller waits for the collector."""


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """A place in the spool: segment number and byte offset inside it."""

    segment: int
    offset: int


@dataclass(frozen=True, slots=True)
class Batch:
    """Lines read from the spool (without their LF) and the position just after the last."""

    lines: list[bytes]
    end: Position


class Spool:
    """Segment files in `directory`; one writer and one reader (the shipper) per directory."""

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    ) -> None:
        if max_bytes < 1 or segment_bytes < 1:
            raise ValueError("spool sizes must be positive")
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        directory.mkdir(parents=True, exist_ok=True)
        self._cursor = self._read_cursor()
        segments = [n for n in self._segments() if n >= self._cursor.segment]
        for n in self._segments():
            if n < self._cursor.segment:  # a crash between the cursor write and the unlink
                (directory / _name(n)).unlink()
        self._write_segment = max([self._cursor.segment, *segments])
        self._sizes = {n: (directory / _name(n)).stat().st_size for n in segments}
        self._sizes.setdefault(self._write_segment, 0)

    @property
    def pending_bytes(self) -> int:
        """Bytes appended but not yet committed as delivered."""
        return sum(self._sizes.values()) - self._cursor.offset

    @property
    def cursor(self) -> Position:
        """The first position not yet committed."""
        return self._cursor

    def append(self, line: bytes) -> None:
        """Append one line (no LF inside); `SpoolFullError` when the bound is reached."""
        if b"\n" in line:
            raise ValueError("a spooled line cannot contain LF")
        size = len(line) + 1
        if self.pending_bytes + size > self.max_bytes:
            raise SpoolFullError(f"the spool holds {self.pending_bytes} unsent bytes")
        if self._sizes[self._write_segment] >= self.segment_bytes:
            self._write_segment += 1
            self._sizes[self._write_segment] = 0
        with (self.directory / _name(self._write_segment)).open("ab") as f:
            f.write(line + b"\n")
        self._sizes[self._write_segment] += size

    def read(self, max_bytes: int) -> Batch:
        """Whole lines from the cursor on, about `max_bytes` of them (at least one if any)."""
        lines: list[bytes] = []
        position = self._cursor
        taken = 0
        while taken < max_bytes:
            size = self._sizes.get(position.segment, 0)
            if position.offset >= size:
                if position.segment >= self._write_segment:
                    break
                position = Position(position.segment + 1, 0)
                continue
            with (self.directory / _name(position.segment)).open("rb") as f:
                f.seek(position.offset)
                chunk = f.read(max(max_bytes - taken, 1))
            whole = chunk[: chunk.rfind(b"\n") + 1]
            if not whole:  # one line longer than what is left of the budget: take it whole
                with (self.directory / _name(position.segment)).open("rb") as f:
                    f.seek(position.offset)
                    whole = f.readline()
            lines += whole.split(b"\n")[:-1]
            taken += len(whole)
            position = Position(position.segment, position.offset + len(whole))
        return Batch(lines, position)

    def commit(self, position: Position) -> None:
        """Record that everything before `position` was delivered; drop finished segments."""
        if position <= self._cursor:
            return
        tmp = self.directory / f"{_CURSOR}.tmp"
        tmp.write_text(f"{position.segment} {position.offset}\n")
        os.replace(tmp, self.directory / _CURSOR)
        for n in [n for n in self._sizes if n < position.segment]:
            (self.directory / _name(n)).unlink(missing_ok=True)
            del self._sizes[n]
        self._cursor = position

    def _segments(self) -> list[int]:
        found = (_SEGMENT.fullmatch(p.name) for p in self.directory.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def _read_cursor(self) -> Position:
        try:
            segment, offset = (self.directory / _CURSOR).read_text().split()
        except FileNotFoundError:
            return Position(0, 0)
        return Position(int(segment), int(offset))


def _name(segment: int) -> str:
    return f"{segment:012d}.spool"
