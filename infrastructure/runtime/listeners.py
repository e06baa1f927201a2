"""Real sockets for one service of one decky: a guarded TCP listener and a logging UDP endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from infrastructure.metrics import METRICS
from infrastructure.runtime.handlers import ServiceHandler
from infrastructure.runtime.recording import Recorder, escape_excerpt
from infrastructure.runtime.session import Connection, IdleTimeoutError

log = structlog.get_logger()

STOP_GRACE_S = 5.0  # how long stop() waits for handlers to record their disconnect
UDP_QUEUE_SIZE = 1024


@dataclass(frozen=True, slots=True)
class ListenerLimits:
    """Guards against abusive peers: silence, endless sessions, connection floods."""

    idle_timeout: float = 60.0
    max_session_s: float = 600.0
    max_connections: int = 64


class Listener(Protocol):
    """A started service endpoint."""

    port: int

    @property
    def active_connections(self) -> int:
        """Connections currently served."""
        ...

    async def stop(self) -> None:
        """Stop accepting and close every connection."""
        ...


class TcpListener:
    """Accepts connections for one service; the handler never raises out of it."""

    def __init__(self, handler: ServiceHandler, recorder: Recorder, limits: ListenerLimits) -> None:
        self._handler = handler
        self._recorder = recorder
        self._limits = limits
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[object]] = set()
        self.port = 0

    @property
    def active_connections(self) -> int:
        """Connections currently served."""
        return len(self._tasks)

    async def start(self, ip: str, ports: Sequence[int]) -> int:
        """Bind the first port of `ports` that is free (0 = any); return the bound port."""
        last_error: OSError = OSError(f"no candidate port for {ip}")
        for port in ports:
            try:
                self._server = await asyncio.start_server(self._accept, ip, port)
            except OSError as exc:
                last_error = exc
                continue
            self.port = self._server.sockets[0].getsockname()[1]
            return self.port
        raise last_error

    async def stop(self) -> None:
        """Stop accepting, cancel every connection, wait briefly for their records."""
        if self._server is None:
            return
        self._server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_GRACE_S)
        await self._server.wait_closed()
        self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is None or len(self._tasks) >= self._limits.max_connections:
            log.warning(
                "runtime_connection_rejected",
                decky=self._recorder.decky,
                service=self._recorder.service,
                peer=writer.get_extra_info("peername"),
                limit=self._limits.max_connections,
            )
            writer.transport.abort()
            return
        self._tasks.add(task)
        METRICS.emulator_sessions.labels(self._recorder.service).inc()
        conn = Connection(reader, writer, self._recorder, self._limits.idle_timeout)
        try:
            await self._serve(conn)
        except asyncio.CancelledError:
            # Swallowed on purpose: Python 3.11's stream callback reports a cancelled task
            # as an unhandled error, and this task is ours to end.
            conn.abort()
        finally:
            self._tasks.discard(task)

    async def _serve(self, conn: Connection) -> None:
        reason = "closed"
        try:
            await conn.opened()
            async with asyncio.timeout(self._limits.max_session_s):
                await self._handler(conn)
        except IdleTimeoutError:
            reason = "idle_timeout"
        except TimeoutError:
            reason = "session_timeout"
        except asyncio.CancelledError:
            reason = "listener_stopped"
        except OSError:
            reason = "reset"
        except Exception:
            # An emulator bug must cost one connection, never the listener.
            log.exception(
                "runtime_handler_failed",
                decky=self._recorder.decky,
                service=self._recorder.service,
            )
            reason = "handler_error"
        finally:
            conn.abort()
        await conn.closed(reason)


class _DatagramQueue(asyncio.DatagramProtocol):
    """Queues datagrams for the recorder; counts (never hides) what a full queue drops."""

    def __init__(self, decky: str, service: str) -> None:
        self.queue: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue(UDP_QUEUE_SIZE)
        self.dropped = 0
        self._decky = decky
        self._service = service

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            self.queue.put_nowait((data, addr))
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning(
                    "runtime_udp_dropped",
                    decky=self._decky,
                    service=self._service,
                    dropped=self.dropped,
                )


class UdpListener:
    """A UDP endpoint that records each datagram as a `data` record; it answers nothing."""

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder
        self._protocol = _DatagramQueue(recorder.decky, recorder.service)
        self._transport: asyncio.DatagramTransport | None = None
        self._worker: asyncio.Task[None] | None = None
        self.port = 0

    @property
    def active_connections(self) -> int:
        """UDP has no connections."""
        return 0

    async def start(self, ip: str, ports: Sequence[int]) -> int:
        """Bind the first free port of `ports`; return it."""
        loop = asyncio.get_running_loop()
        last_error: OSError = OSError(f"no candidate port for {ip}")
        for port in ports:
            try:
                transport, _ = await loop.create_datagram_endpoint(
                    lambda: self._protocol, local_addr=(ip, port)
                )
            except OSError as exc:
                last_error = exc
                continue
            self._transport = transport
            self.port = transport.get_extra_info("sockname")[1]
            self._worker = asyncio.create_task(self._record_loop())
            return self.port
        raise last_error

    async def stop(self) -> None:
        """Close the socket and the recording loop."""
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.wait([self._worker], timeout=STOP_GRACE_S)
            self._worker = None

    async def _record_loop(self) -> None:
        while True:
            data, (src_ip, src_port) = await self._protocol.queue.get()
            fields = {
                "src_ip": src_ip,
                "src_port": str(src_port),
                "dst_port": str(self.port),
                "transport": "udp",
                "bytes": str(len(data)),
                "excerpt": escape_excerpt(data),
            }
            await self._recorder.emit("data", src_ip, f"{len(data)} byte datagram", fields)
