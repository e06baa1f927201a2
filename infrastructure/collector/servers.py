"""RFC 5424 syslog listeners: UDP datagrams and TCP streams (octet-counted or newline-framed)."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from application.ports import ComponentHealth
from infrastructure.collector.framing import FrameError, TcpDeframer
from infrastructure.collector.sink import CollectorSink

log = structlog.get_logger()
READ_CHUNK = 64 * 1024
MAX_TCP_CLIENTS = 512


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, sink: CollectorSink) -> None:
        self._sink = sink

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        # One datagram is one message; a trailing newline is framing, not content.
        self._sink.accept_line(data.rstrip(b"\r\n"), "udp")


class SyslogCollector:
    """The collector worker: owns both listeners and reports their state."""

    def __init__(self, sink: CollectorSink, host: str, port: int) -> None:
        self._sink = sink
        self._host = host
        self._port = port
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._clients: set[asyncio.Task[None]] = set()
        self.error = ""

    async def start(self) -> None:
        """Bind UDP and TCP on host:port; a bind failure is reported, not raised."""
        loop = asyncio.get_running_loop()
        try:
            self._udp, _ = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self._sink), local_addr=(self._host, self._port)
            )
            self._tcp = await asyncio.start_server(
                self._serve_tcp, self._host, self._port, limit=READ_CHUNK
            )
        except OSError as e:
            self.error = f"cannot listen on {self._host}:{self._port}: {e.strerror or e}"
            log.error("collector_bind_failed", host=self._host, port=self._port, error=str(e))
            return
        log.info("collector_listening", host=self._host, port=self._port)

    async def stop(self) -> None:
        """Stop listening and close client connections."""
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
        for task in list(self._clients):
            task.cancel()
        for task in list(self._clients):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def health(self) -> ComponentHealth:
        """ok with counters, or failing with the bind error."""
        if self.error:
            return ComponentHealth("failing", self.error)
        if self._tcp is None:
            return ComponentHealth("failing", "collector not started")
        s = self._sink.stats
        return ComponentHealth(
            "ok",
            f"udp+tcp {self._host}:{self._port}; accepted {s.accepted}, "
            f"dead-lettered {s.rejected}, udp overflow {s.udp_overflow}",
        )

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if len(self._clients) >= MAX_TCP_CLIENTS or task is None:
            writer.close()
            return
        self._clients.add(task)
        self._sink.stats.tcp_connections += 1
        try:
            await self._read_stream(reader)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._clients.discard(task)
            writer.close()

    async def _read_stream(self, reader: asyncio.StreamReader) -> None:
        deframer = TcpDeframer()
        while data := await reader.read(READ_CHUNK):
            self._accept_frames(deframer.feed(data))
            # Back-pressure: stop reading this socket while the store is far behind.
            await self._sink.wait_for_capacity()
        self._accept_frames(deframer.close())

    def _accept_frames(self, frames: list[bytes | FrameError]) -> None:
        for frame in frames:
            if isinstance(frame, FrameError):
                self._sink.reject(
                    b"", frame.reason, f"frame {frame.reason} ({frame.size} bytes)", "tcp"
                )
            else:
                self._sink.accept_line(frame, "tcp")
