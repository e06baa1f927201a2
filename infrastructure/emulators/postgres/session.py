"""One PostgreSQL connection as the emulator drives it: framed reads, errors, records."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from infrastructure.emulators.postgres.builds import PostgresBuild
from infrastructure.emulators.postgres.wire import (
    MAX_AUTH_MESSAGE,
    MAX_STARTUP_PACKET,
    PgError,
    error_response,
    printable,
)
from infrastructure.emulators.shell.login import clip
from infrastructure.emulators.streams import StreamBuffer
from infrastructure.runtime.session import Connection

OPTIONS_JSON_BUDGET = 2048
GSS_TOKEN_CAP = 16384 - 4  # PQ_GSS_RECV_BUFFER_SIZE less the length word


class BadLength(Exception):
    """A message announced a length the server refuses to read."""


@dataclass(slots=True)
class PgSession:
    """The connection, its read buffer, and the build whose errors it speaks."""

    conn: Connection
    buffer: StreamBuffer
    build: PostgresBuild
    decky: str

    async def read_startup(self) -> tuple[int, bytes] | None:
        """(protocol code, rest) of the next startup-phase packet; None when there is none."""
        header = await self.buffer.read_exactly(4)
        if header is None:
            return None
        length = int.from_bytes(header, "big", signed=True) - 4
        if length < 4 or length > MAX_STARTUP_PACKET:
            await self.note("bad_startup", "invalid length of startup packet", header)
            return None
        payload = await self.buffer.read_exactly(length)
        if payload is None:
            await self.note("bad_startup", "incomplete startup packet", header)
            return None
        return int.from_bytes(payload[:4], "big"), payload[4:]

    async def read_message(self) -> tuple[int, bytes] | None:
        """(type byte, body) of the next typed message; None at EOF; `BadLength` if refused."""
        header = await self.buffer.read_exactly(5)
        if header is None:
            return None
        length = int.from_bytes(header[1:], "big", signed=True) - 4
        if length < 0 or length > MAX_AUTH_MESSAGE:
            raise BadLength(length)
        body = await self.buffer.read_exactly(length)
        return None if body is None else (header[0], body)

    async def read_gss_token(self) -> None:
        """Consume the client's first GSSAPI token (length-prefixed), as the server reads it."""
        header = await self.buffer.read_exactly(4)
        length = int.from_bytes(header or b"", "big")
        if header is not None and 0 <= length <= GSS_TOKEN_CAP:
            await self.buffer.read_exactly(length)

    async def fail(self, error: PgError) -> None:
        """Send the FATAL ErrorResponse; the caller then closes the connection."""
        await self.conn.send(error_response(self.build, error))

    async def note(self, event: str, reason: str, raw: bytes = b"") -> None:
        """Record a protocol-level event that is not an authentication attempt."""
        fields = {"reason": reason}
        if raw:
            fields["excerpt"] = raw[:64].hex()
        await self.conn.record(event, reason, **fields)


def options_json(options: Mapping[str, str]) -> str:
    """Startup options as a JSON object, dropping entries past the size budget (stays valid)."""
    kept: dict[str, str] = {}
    budget = OPTIONS_JSON_BUDGET
    for key, value in options.items():
        key, value = clip(printable(key)), clip(printable(value))
        budget -= len(key) + len(value)
        if budget < 0:
            break
        kept[key] = value
    return json.dumps(kept)
