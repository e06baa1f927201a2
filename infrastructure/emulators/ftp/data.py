"""FTP passive data connections: a one-shot listener on the decky's own address.

Only passive mode exists. PORT/EPRT would make the honeypot connect out to an address the
attacker chooses (FTP bounce), so they are refused.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress

import anyio.to_thread

from infrastructure.artifacts.writer import ArtifactWriter

ACCEPT_TIMEOUT_S = 15.0  # how long a PASV port waits for the client's data connection
DATA_IDLE_S = 15.0  # a stalled transfer is abandoned after this many silent seconds
CHUNK = 65536


class DataChannelError(Exception):
    """The data connection never came, or broke mid-transfer."""


class PassiveChannel:
    """One PASV/EPSV port: accepts a single data connection from the control peer only."""

    def __init__(self, peer_ip: str) -> None:
        self._peer_ip = peer_ip
        self._accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue(1)
        )
        self._server: asyncio.Server | None = None
        self.port = 0

    async def open(self, local_ip: str) -> int:
        """Listen on a free port of `local_ip` (the decky's address); return the port."""
        self._server = await asyncio.start_server(self._on_accept, local_ip, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """The client's data connection; `DataChannelError` if it does not come in time."""
        try:
            async with asyncio.timeout(ACCEPT_TIMEOUT_S):
                return await self._accepted.get()
        except TimeoutError as exc:
            raise DataChannelError("no data connection") from exc
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop listening; a connection not yet taken is dropped."""
        if self._server is not None:
            self._server.close()
            self._server = None
        while not self._accepted.empty():
            _, writer = self._accepted.get_nowait()
            writer.transport.abort()

    async def _on_accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("", 0)
        # Someone else racing for the port (data theft) or a second connection: refuse.
        if peer[0] != self._peer_ip or self._accepted.full():
            writer.transport.abort()
            return
        self._accepted.put_nowait((reader, writer))


async def send_data(channel: PassiveChannel, payload: bytes) -> None:
    """Deliver `payload` over the data connection and close it."""
    _, writer = await channel.connection()
    try:
        writer.write(payload)
        async with asyncio.timeout(DATA_IDLE_S):
            await writer.drain()
    except (TimeoutError, OSError) as exc:
        raise DataChannelError("transfer interrupted") from exc
    finally:
        await _close(writer)


async def receive_upload(channel: PassiveChannel, upload: ArtifactWriter) -> None:
    """Stream the data connection into `upload` until EOF; the caller finishes or aborts it."""
    reader, writer = await channel.connection()
    try:
        while True:
            async with asyncio.timeout(DATA_IDLE_S):
                chunk = await reader.read(CHUNK)
            if not chunk:
                return
            await anyio.to_thread.run_sync(upload.write, chunk)
    except (TimeoutError, OSError) as exc:
        raise DataChannelError("transfer interrupted") from exc
    finally:
        await _close(writer)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with suppress(OSError, TimeoutError):
        async with asyncio.timeout(2.0):
            await writer.wait_closed()
