"""The emulators' `RecordSink` in a Docker decky: RFC 5424 over TCP to the collector, via a spool.

`submit` appends the record's line to the spool (waiting only when the spool is full), and `run`
sends the spool in order over one TCP connection (RFC 6587 octet counting), reconnecting with a
capped backoff while the collector is away. A batch is committed (removed from the spool) only
once the collector's TCP stack acknowledged every byte of it and the connection is still open:
syslog over TCP has no application-level acknowledgement, and bytes merely written to our
kernel are lost when the peer dies. A batch whose delivery is not confirmed is sent again on the
next connection, so a record can arrive twice only when the collector took it and died before
its kernel's ACK reached us; it is never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import socket
import struct
import sys
import termios
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import structlog

from domain.observations.records import InteractionRecord
from domain.shared.errors import InvalidError
from infrastructure.collector.framing import octet_count
from infrastructure.collector.rfc5424 import format_line
from infrastructure.shipper.spool import Batch, Spool, SpoolFullError

log = structlog.get_logger()

# Linux `tcp_info.tcpi_state` values: data is deliverable only in these two.
_TCP_ESTABLISHED = 1
_TCP_CLOSE_WAIT = 8
_CONFIRMABLE = sys.platform == "linux"


class ShipperTargetError(InvalidError):
    """`DECNET_SYSLOG_TARGET` is not `tcp://HOST:PORT`."""


@dataclass(frozen=True, slots=True)
class ShipperOptions:
    """Tunables of the shipper (seconds and bytes)."""

    batch_bytes: int = 256 * 1024
    connect_timeout: float = 5.0
    ack_timeout: float = 10.0  # longer without an ACK: the connection is presumed dead
    retry_initial: float = 0.2
    retry_max: float = 5.0


def parse_target(target: str) -> tuple[str, int]:
    """`tcp://host:port` (IPv6 hosts in brackets) as (host, port)."""
    parts = urlsplit(target)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "tcp" or not parts.hostname or port is None:
        raise ShipperTargetError(f"syslog target must be tcp://HOST:PORT, not {target!r}")
    return parts.hostname, port


class SyslogShipper:
    """Spool-first `RecordSink`; `run()` is the sending loop, `close()` stops it."""

    def __init__(self, target: str, spool: Spool, options: ShipperOptions | None = None) -> None:
        self._host, self._port = parse_target(target)
        self._spool = spool
        self._options = options or ShipperOptions()
        self._wake = asyncio.Event()
        self._space = asyncio.Event()
        self._writer: asyncio.StreamWriter | None = None
        self.delivered = 0  # records the collector acknowledged since start
        self.connected = False

    async def submit(self, record: InteractionRecord) -> None:
        """Spool the record's line; waits while the spool is full. ValueError: unformattable."""
        line = format_line(record).encode("utf-8")
        while True:
            try:
                self._spool.append(line)
                break
            except SpoolFullError as exc:
                self._space.clear()
                log.warning("shipper_spool_full", error=str(exc), target=self.target)
                await self._space.wait()
        self._wake.set()

    @property
    def target(self) -> str:
        """Where records go, for logs and health."""
        return f"tcp://{self._host}:{self._port}"

    @property
    def pending_bytes(self) -> int:
        """Spooled bytes the collector has not acknowledged yet."""
        return self._spool.pending_bytes

    async def run(self) -> None:
        """Send the spool forever; reconnects with a capped backoff while the collector is away."""
        delay = self._options.retry_initial
        while True:
            self._wake.clear()  # before reading: a submit from now on wakes the wait below
            batch = self._spool.read(self._options.batch_bytes)
            if not batch.lines:
                await self._wake.wait()
                continue
            try:
                await self._send(batch)
            except OSError as exc:
                await self._disconnect(f"{type(exc).__name__}: {exc}")
                log.warning(
                    "shipper_send_failed",
                    error=f"{type(exc).__name__}: {exc}",
                    pending_bytes=self._spool.pending_bytes,
                    retry_in_s=round(delay, 2),
                    target=self.target,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._options.retry_max)
                continue
            delay = self._options.retry_initial
            self._spool.commit(batch.end)
            self.delivered += len(batch.lines)
            self._space.set()

    async def close(self) -> None:
        """Drop the connection; what is spooled stays for the next start."""
        await self._disconnect("closed")

    async def _send(self, batch: Batch) -> None:
        writer = await self._connection()
        writer.write(b"".join(octet_count(line) for line in batch.lines))
        await writer.drain()
        await self._acknowledged(writer)

    async def _connection(self) -> asyncio.StreamWriter:
        if self._writer is not None and _state(self._writer) in (_TCP_ESTABLISHED, None):
            return self._writer
        if self._writer is not None:
            await self._disconnect("peer closed")
        async with asyncio.timeout(self._options.connect_timeout):
            _, writer = await asyncio.open_connection(self._host, self._port)
        self._writer = writer
        self.connected = True
        log.info("shipper_connected", target=self.target, pending_bytes=self.pending_bytes)
        return writer

    async def _acknowledged(self, writer: asyncio.StreamWriter) -> None:
        """Wait until the peer's TCP stack ACKed every byte, on a connection still open."""
        if not _CONFIRMABLE:
            return  # drained to our kernel is the best this platform tells us
        deadline = time.monotonic() + self._options.ack_timeout
        pause = 0.001
        while True:
            state = _state(writer)
            if state not in (_TCP_ESTABLISHED, _TCP_CLOSE_WAIT):
                raise ConnectionResetError(f"connection left ESTABLISHED (tcp state {state})")
            if _unsent(writer) == 0:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"no ACK within {self._options.ack_timeout}s")
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)

    async def _disconnect(self, reason: str) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        self.connected = False
        writer.close()
        # The peer is gone or going; whatever close raises says nothing we act on.
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        log.info("shipper_disconnected", target=self.target, reason=reason)


def _socket(writer: asyncio.StreamWriter) -> socket.socket | None:
    sock: socket.socket | None = writer.get_extra_info("socket")
    return sock


def _state(writer: asyncio.StreamWriter) -> int | None:
    """The connection's TCP state on Linux (None elsewhere or when the socket is gone)."""
    sock = _socket(writer)
    if not _CONFIRMABLE or sock is None or sock.fileno() < 0:
        return None if not _CONFIRMABLE else 7  # 7: TCP_CLOSE
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
    return int(info[0])


def _unsent(writer: asyncio.StreamWriter) -> int:
    """Bytes in the socket's send queue not yet ACKed by the peer (Linux `SIOCOUTQ`)."""
    sock = _socket(writer)
    if sock is None or sock.fileno() < 0:
        raise ConnectionResetError("socket closed")
    raw = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
    return int(struct.unpack("i", raw)[0])
