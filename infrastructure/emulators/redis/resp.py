"""RESP2 for the redis emulator: reading commands (multibulk or inline) and encoding replies."""

from __future__ import annotations

import shlex
from collections.abc import Iterable

from infrastructure.emulators.streams import StreamBuffer
from infrastructure.runtime.recording import escape_excerpt

MAX_ARGS = 1024
MAX_BULK = 512 * 1024  # generous for cron/SSH-key payloads, far below Redis's 512 MB
MAX_INLINE = 64 * 1024  # Redis's PROTO_INLINE_MAX_SIZE
MAX_COMMAND_BYTES = 1024 * 1024  # all arguments of one command together
COMMAND_TEXT_LIMIT = 2048
CRLF = b"\r\n"


class RespError(Exception):
    """The client broke the protocol; Redis answers `-ERR Protocol error: …` and closes."""


async def read_command(buffer: StreamBuffer) -> list[bytes] | None:
    """The next command's arguments ([] for a blank line); None at EOF."""
    line = await buffer.readline(MAX_INLINE)
    if line is None:
        return None
    if not line.startswith(b"*"):
        return _inline(line)
    args: list[bytes] = []
    total = 0
    for _ in range(_length(line[1:], MAX_ARGS, "multibulk length")):
        header = await buffer.readline(64)
        if header is None:
            return None
        if not header.startswith(b"$"):
            raise RespError(f"expected '$', got '{header[:1].decode('latin-1')}'")
        size = _length(header[1:], MAX_BULK, "bulk length")
        total += size
        if total > MAX_COMMAND_BYTES:  # many large arguments must not add up to a memory hog
            raise RespError("command too large")
        data = await buffer.read_exactly(size + 2)
        if data is None:
            return None
        args.append(data[:size])
    return args


def _length(raw: bytes, limit: int, what: str) -> int:
    text = raw.decode("latin-1").strip()
    if text == "-1":
        return 0
    if not text.isdigit() or int(text) > limit:
        raise RespError(f"invalid {what}")
    return int(text)


def _inline(line: bytes) -> list[bytes]:
    try:
        words = shlex.split(line.decode("latin-1"))
    except ValueError as exc:
        raise RespError("unbalanced quotes in request") from exc
    return [word.encode("latin-1") for word in words]


def simple(text: str) -> bytes:
    """A `+` status reply."""
    return b"+" + text.encode() + CRLF


def error(text: str) -> bytes:
    """A `-` error reply (`text` starts with its code, e.g. `ERR`)."""
    return b"-" + text.encode("utf-8", "replace") + CRLF


def integer(value: int) -> bytes:
    """A `:` integer reply."""
    return b":" + str(value).encode() + CRLF


def bulk(value: bytes | str | None) -> bytes:
    """A `$` bulk string; None is the nil bulk."""
    if value is None:
        return b"$-1" + CRLF
    data = value.encode() if isinstance(value, str) else value
    return b"$" + str(len(data)).encode() + CRLF + data + CRLF


def array(encoded: Iterable[bytes]) -> bytes:
    """A `*` array of already-encoded replies (so arrays nest)."""
    items = list(encoded)
    return b"*" + str(len(items)).encode() + CRLF + b"".join(items)


def bulks(values: Iterable[bytes | str]) -> bytes:
    """An array of bulk strings."""
    return array(bulk(value) for value in values)


def null(protocol: int) -> bytes:
    """The null reply: RESP2's nil bulk, RESP3's `_`."""
    return b"_" + CRLF if protocol == 3 else bulk(None)


def mapping(pairs: Iterable[tuple[str, bytes]], protocol: int) -> bytes:
    """Keys with already-encoded values: a RESP3 map, or RESP2's flat array."""
    items = list(pairs)
    flat = [encoded for key, value in items for encoded in (bulk(key), value)]
    if protocol != 3:
        return array(flat)
    return b"%" + str(len(items)).encode() + CRLF + b"".join(flat)


def command_text(args: list[bytes]) -> str:
    """The command as `redis-cli` would echo it: binary/space-carrying args quoted and escaped."""
    shown = []
    for arg in args:
        text = escape_excerpt(arg, COMMAND_TEXT_LIMIT)
        quote = not arg or " " in text or text != arg.decode("latin-1") or '"' in text
        shown.append(f'"{text}"' if quote else text)
    return " ".join(shown)[:COMMAND_TEXT_LIMIT]
