"""What the line- and frame-oriented emulators share: a buffered reader and the `users` setting.

`Connection.recv()` hands out whatever chunk arrived; protocols with pipelining (SMTP, redis,
HTTP keep-alive) need the bytes after a line kept for the next read, which this buffer does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class ByteStream(Protocol):
    """A connection's byte interface: `Connection`, or TLS layered on top of one."""

    async def recv(self, size: int = 4096) -> bytes:
        """Up to `size` bytes; b"" at end of stream."""
        ...

    async def send(self, data: bytes) -> None:
        """Write all of `data`."""
        ...


class LineTooLong(Exception):
    """The peer sent more than the allowed bytes without the expected separator."""


class StreamBuffer:
    """Reads lines and exact byte counts from a `ByteStream`, keeping what is left over."""

    def __init__(self, stream: ByteStream) -> None:
        self._stream = stream
        self._buffer = bytearray()

    @property
    def pending(self) -> int:
        """Bytes received but not consumed yet."""
        return len(self._buffer)

    async def read_until(self, separator: bytes, limit: int) -> bytes | None:
        """Bytes up to and including `separator`; None at EOF; `LineTooLong` past `limit`."""
        start = 0
        while True:
            index = self._buffer.find(separator, start)
            if index >= 0:
                end = index + len(separator)
                if end > limit:
                    raise LineTooLong(f"more than {limit} bytes before {separator!r}")
                return self._take(end)
            if len(self._buffer) > limit:
                raise LineTooLong(f"more than {limit} bytes before {separator!r}")
            # The separator may straddle the next chunk, so search again from just before it.
            start = max(0, len(self._buffer) - len(separator) + 1)
            if not await self._fill():
                return None

    async def readline(self, limit: int = 4096) -> bytes | None:
        """One line without its CRLF/LF; None at EOF."""
        line = await self.read_until(b"\n", limit)
        return None if line is None else line.rstrip(b"\r\n")

    async def read_exactly(self, size: int) -> bytes | None:
        """Exactly `size` bytes; None if the stream ends first."""
        while len(self._buffer) < size:
            if not await self._fill():
                return None
        return self._take(size)

    async def read_some(self) -> bytes:
        """Whatever is buffered, else the next chunk; b"" at EOF."""
        if not self._buffer and not await self._fill():
            return b""
        return self._take(len(self._buffer))

    async def _fill(self) -> bool:
        chunk = await self._stream.recv()
        self._buffer += chunk
        return bool(chunk)

    def _take(self, size: int) -> bytes:
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data


def parse_users(config: Mapping[str, str]) -> dict[str, str]:
    """The `users` setting (`name:password,…`) as a dict; malformed entries are skipped."""
    accounts: dict[str, str] = {}
    for entry in config.get("users", "").split(","):
        name, sep, password = entry.strip().partition(":")
        if sep and name:
            accounts[name] = password
    return accounts


def password_matches(accounts: Mapping[str, str], username: str, password: str) -> bool:
    """True when the pair is configured; a configured password `*` accepts any password."""
    expected = accounts.get(username)
    return expected is not None and expected in {"*", password}
