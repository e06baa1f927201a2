"""Carrying bytes between the runtime's `Connection` and asyncssh, which needs a real socket.

asyncssh runs on one end of a socketpair (its public `run_server(sock)`), and two pumps copy
bytes between the other end and the attacker's connection. The listener keeps owning the
attacker's socket, so idle timeouts, byte counts and `disconnect` records work as for any
service, and the pump sees the client's identification line before asyncssh does.
"""

from __future__ import annotations

import asyncio

from infrastructure.runtime.recording import escape_excerpt
from infrastructure.runtime.session import Connection

CHUNK = 65536
MAX_IDENT = 255  # RFC 4253: the identification line is at most 255 bytes


class IdentSniffer:
    """Finds the client's `SSH-2.0-…` line at the start of the stream."""

    def __init__(self) -> None:
        self._buffer = b""
        self.done = False

    def feed(self, chunk: bytes) -> str | bytes | None:
        """Once the first line is complete: the ident line (str), or what a non-SSH peer sent."""
        if self.done:
            return None
        self._buffer += chunk[: MAX_IDENT + 1]
        line, newline, _ = self._buffer.partition(b"\n")
        if not newline and len(self._buffer) <= MAX_IDENT:
            return None
        self.done = True
        text = line.rstrip(b"\r")
        if text.startswith(b"SSH-") and newline:
            return text.decode("ascii", "replace")
        return self._buffer


async def pump_in(conn: Connection, writer: asyncio.StreamWriter) -> None:
    """Attacker → asyncssh, recording the client banner (or what a non-SSH probe sent)."""
    sniffer = IdentSniffer()
    while chunk := await conn.recv(CHUNK):
        found = sniffer.feed(chunk)
        if found is not None:
            await _record_ident(conn, found)
        writer.write(chunk)
        await writer.drain()
    if writer.can_write_eof():
        writer.write_eof()  # asyncssh sees the attacker leave and cleans up its channels


async def pump_out(reader: asyncio.StreamReader, conn: Connection) -> None:
    """asyncssh → attacker, until asyncssh closes its end."""
    while chunk := await reader.read(CHUNK):
        await conn.send(chunk)


async def _record_ident(conn: Connection, value: str | bytes) -> None:
    if isinstance(value, str):
        # `ssh_client_banner` + `client_version` is what bounty and tool guesses read.
        await conn.record("ssh_client_banner", f"client version {value}", client_version=value)
    else:
        await conn.record(
            "data", f"{len(value)} bytes", bytes=str(len(value)), excerpt=escape_excerpt(value)
        )
