"""One accepted TCP connection as a handler sees it: timed reads, counted writes, records."""

from __future__ import annotations

import asyncio
import time

from infrastructure.runtime.recording import Recorder, escape_excerpt

READ_SIZE = 4096
# A chatty peer still gets its bytes counted, but only the first chunks become `data` records,
# so one connection cannot flood the event store.
MAX_DATA_RECORDS = 64


class IdleTimeoutError(Exception):
    """The peer stayed silent (or stopped reading) for longer than the idle timeout."""


class Connection:
    """Wraps a stream pair; every read is bounded by the idle timeout and recorded as `data`."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        recorder: Recorder,
        idle_timeout: float,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._recorder = recorder
        self._idle_timeout = idle_timeout
        peer = writer.get_extra_info("peername") or ("", 0)
        local = writer.get_extra_info("sockname") or ("", 0)
        self.peer_ip: str = peer[0]
        self.peer_port: int = peer[1]
        self.local_ip: str = local[0]  # the decky's address (FTP passive ports bind to it)
        self.local_port: int = local[1]
        self.started = time.monotonic()
        self.bytes_in = 0
        self.bytes_out = 0
        self._data_records = 0

    def endpoint_fields(self) -> dict[str, str]:
        """The fields every record of this connection carries."""
        return {
            "src_ip": self.peer_ip,
            "src_port": str(self.peer_port),
            "dst_port": str(self.local_port),
        }

    def mute_data(self) -> None:
        """Stop `data` records for this connection.

        For emulators that record the meaningful events themselves: ssh bytes are ciphertext,
        and a telnet session would otherwise log every keystroke twice.
        """
        self._data_records = MAX_DATA_RECORDS

    async def record(self, event_type: str, msg: str = "", **fields: str) -> None:
        """Emit one record about this connection (emulators use it for auth, commands...)."""
        await self._recorder.emit(
            event_type, self.peer_ip, msg, {**self.endpoint_fields(), **fields}
        )

    async def opened(self) -> None:
        """Record the `connect` event."""
        await self.record("connect", f"connection from {self.peer_ip}:{self.peer_port}")

    async def closed(self, reason: str) -> None:
        """Record the `disconnect` event with duration and byte counts."""
        duration = time.monotonic() - self.started
        await self.record(
            "disconnect",
            f"{self.peer_ip}:{self.peer_port} closed ({reason})",
            duration_s=f"{duration:.3f}",
            bytes_in=str(self.bytes_in),
            bytes_out=str(self.bytes_out),
            reason=reason,
        )

    async def recv(self, size: int = READ_SIZE) -> bytes:
        """Read up to `size` bytes; b"" at end of stream; IdleTimeout when the peer is silent."""
        try:
            async with asyncio.timeout(self._idle_timeout):
                return await self._read(size)
        except TimeoutError as exc:
            raise IdleTimeoutError from exc

    async def recv_until(self, separator: bytes, limit: int = 16384) -> bytes:
        """Read until `separator` (or `limit` bytes, or EOF) within ONE idle timeout in total.

        The single deadline is what defeats slowloris: trickling a byte at a time does not
        extend it.
        """
        buffer = b""
        try:
            async with asyncio.timeout(self._idle_timeout):
                while separator not in buffer and len(buffer) < limit:
                    chunk = await self._read(READ_SIZE)
                    if not chunk:
                        break
                    buffer += chunk
        except TimeoutError as exc:
            raise IdleTimeoutError from exc
        return buffer

    async def send(self, data: bytes) -> None:
        """Write and drain; a peer that stops reading counts as idle."""
        self._writer.write(data)
        self.bytes_out += len(data)
        try:
            async with asyncio.timeout(self._idle_timeout):
                await self._writer.drain()
        except TimeoutError as exc:
            raise IdleTimeoutError from exc

    def abort(self) -> None:
        """Drop the connection at once (no lingering half-closed socket)."""
        self._writer.transport.abort()

    async def _read(self, size: int) -> bytes:
        data = await self._reader.read(size)
        if data:
            self.bytes_in += len(data)
            await self._record_data(data)
        return data

    async def _record_data(self, data: bytes) -> None:
        if self._data_records >= MAX_DATA_RECORDS:
            return
        self._data_records += 1
        await self.record(
            "data", f"{len(data)} bytes", bytes=str(len(data)), excerpt=escape_excerpt(data)
        )
