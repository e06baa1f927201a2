"""SMTP message transfer: the DATA body (dot-unstuffed, capped) and envelope addresses."""

from __future__ import annotations

from infrastructure.emulators.streams import StreamBuffer

MESSAGE_CAP = 1024 * 1024  # bytes of one message kept; the rest is read and dropped


async def read_message(buffer: StreamBuffer, max_line: int) -> tuple[bytes | None, int]:
    """The dot-unstuffed message (at most `MESSAGE_CAP` bytes kept) and its full size."""
    kept = bytearray()
    size = 0
    while True:
        line = await buffer.read_until(b"\n", max_line)
        if line is None:
            return None, size
        if line.rstrip(b"\r\n") == b".":
            return bytes(kept), size
        if line.startswith(b".."):
            line = line[1:]
        size += len(line)
        if size <= MESSAGE_CAP:
            kept += line


def address_of(text: str) -> str:
    """The address inside `<…>` (parameters such as SIZE=… dropped)."""
    text = text.strip()
    if text.startswith("<"):
        return text[1 : text.find(">")] if ">" in text else text[1:]
    return text.split(" ")[0]
