"""Syslog-over-TCP deframing (RFC 6587): octet-counted and LF-delimited, detected per message.

A message starting with a non-zero digit is octet-counted (`MSG-LEN SP SYSLOG-MSG`); anything
else runs to the next LF (a CR before it is dropped). Blank lines between messages are skipped.
Buffering is bounded: a message longer than `max_message_size` yields one `FrameError` and is
skipped (by its declared length, or up to the next LF), so a hostile peer cannot make us hold
more than the cap between two `feed` calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["DEFAULT_MAX_MESSAGE_SIZE", "Frame", "FrameError", "TcpDeframer", "octet_count"]

DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024

# MSG-LEN is NONZERO-DIGIT *DIGIT; ten digits already exceed any sane cap.
_LENGTH = re.compile(rb"([1-9][0-9]{0,9}) ")
_LENGTH_PREFIX = re.compile(rb"[1-9][0-9]{0,9}")
_BLANK = frozenset(b"\r\n")
_DIGITS = frozenset(b"123456789")

_Mode = Literal["start", "octets", "line", "skip", "discard_line"]


@dataclass(frozen=True, slots=True)
class FrameError:
    """A message that was dropped while deframing; `reason` is `too_long` or `truncated`."""

    reason: str
    size: int | None = None  # the declared or observed size, when known

    @property
    def detail(self) -> str:
        """The dead letter's detail: the size when known, else why it is not."""
        if self.size is not None:
            return f"frame {self.reason} ({self.size} bytes)"
        return f"frame {self.reason} (no end of line within the cap)"


Frame = bytes | FrameError


def octet_count(line: str | bytes) -> bytes:
    """Frame one message for TCP with octet counting, the framing that can carry any byte."""
    payload = line.encode("utf-8") if isinstance(line, str) else line
    return b"%d %s" % (len(payload), payload)


class TcpDeframer:
    """Incremental splitter of one TCP stream into syslog messages."""

    def __init__(self, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        if max_message_size < 1:
            raise ValueError("max_message_size must be positive")
        self.max_message_size = max_message_size
        self._buffer = bytearray()
        self._mode: _Mode = "start"
        self._remaining = 0  # bytes still expected ("octets") or to drop ("skip")
        self._scanned = 0  # bytes of the pending line already searched for LF

    @property
    def buffered(self) -> int:
        """Bytes held for an incomplete message; never above `max_message_size`."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Frame]:
        """Accept the next chunk of the stream; return the messages it completed, in order."""
        self._buffer += data
        frames: list[Frame] = []
        pos = 0
        while pos < len(self._buffer):
            advanced = self._step(pos, frames)
            if advanced is None:
                break
            pos = advanced
        # Compacting once per chunk keeps many small messages per chunk linear.
        del self._buffer[:pos]
        return frames

    def close(self) -> list[Frame]:
        """End of stream: an unterminated line is a message, a short octet frame an error."""
        frames: list[Frame] = []
        if self._mode == "octets":
            frames.append(FrameError("truncated", self._remaining))
        elif self._buffer and self._mode in ("start", "line"):
            line = bytes(self._buffer)
            frames.append(line[:-1] if line.endswith(b"\r") else line)
        self._buffer.clear()
        self._mode, self._remaining, self._scanned = "start", 0, 0
        return frames

    def _step(self, pos: int, frames: list[Frame]) -> int | None:
        """Consume from `pos`; return the new position, or None when more bytes are needed."""
        if self._mode == "start":
            return self._start(pos, frames)
        if self._mode == "octets":
            return self._octets(pos, frames)
        if self._mode == "line":
            return self._line(pos, frames)
        if self._mode == "skip":
            return self._skip(pos)
        return self._discard_line(pos)

    def _start(self, pos: int, frames: list[Frame]) -> int | None:
        first = self._buffer[pos]
        if first in _BLANK:
            return pos + 1
        if first in _DIGITS:
            header = _LENGTH.match(self._buffer, pos)
            if header is not None:
                return self._begin_octets(int(header.group(1)), header.end(), frames)
            if _LENGTH_PREFIX.fullmatch(self._buffer, pos) is not None:
                return None  # the length field is still arriving
        # Not a valid length prefix: treat it as a line so the parser can reject it visibly.
        self._mode, self._scanned = "line", 0
        return pos

    def _begin_octets(self, length: int, body_start: int, frames: list[Frame]) -> int:
        if length > self.max_message_size:
            frames.append(FrameError("too_long", length))
            self._mode = "skip"
        else:
            self._mode = "octets"
        self._remaining = length
        return body_start

    def _octets(self, pos: int, frames: list[Frame]) -> int | None:
        end = pos + self._remaining
        if end > len(self._buffer):
            return None
        frames.append(bytes(self._buffer[pos:end]))
        self._mode = "start"
        return end

    def _line(self, pos: int, frames: list[Frame]) -> int | None:
        newline = self._buffer.find(b"\n", pos + self._scanned)
        if newline < 0:
            self._scanned = len(self._buffer) - pos
            if self._scanned <= self.max_message_size:
                return None
            frames.append(FrameError("too_long", None))
            self._mode = "discard_line"
            return len(self._buffer)
        end = newline - 1 if newline > pos and self._buffer[newline - 1] == 0x0D else newline
        if end - pos > self.max_message_size:
            frames.append(FrameError("too_long", end - pos))
        else:
            frames.append(bytes(self._buffer[pos:end]))
        self._mode = "start"
        return newline + 1

    def _skip(self, pos: int) -> int:
        dropped = min(self._remaining, len(self._buffer) - pos)
        self._remaining -= dropped
        if self._remaining == 0:
            self._mode = "start"
        return pos + dropped

    def _discard_line(self, pos: int) -> int:
        newline = self._buffer.find(b"\n", pos)
        if newline < 0:
            return len(self._buffer)
        self._mode = "start"
        return newline + 1
