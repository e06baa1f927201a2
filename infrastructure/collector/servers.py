"""RFC 5424 syslog listeners: UDP datagrams and TCP streams (octet-counted or newline-framed)."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from application.ports import ComponentHealth
from infrastructure.collector.admission import Admission, peer_ip, reset
from infrastructure.collector.framing import FrameError, TcpDeframer
from infrastructure.collector.group_commit import JournalSyncFailed
from infrastructure.collector.limits import CollectorLimits
from infrastructure.collector.sink import CollectorSink
from infrastructure.collector.udp import UdpProtocol, kernel_drops, open_udp_socket

log = structlog.get_logger()
READ_CHUNK = 64 * 1024
# With fsync `batch`, TCP readers pause while more journal than this is not yet on disk: the
# group commit then runs while they read on, instead of each reader waiting for every sync.
UNSYNCED_WINDOW = 4 * 1024 * 1024


class SyslogCollector:
    """The collector worker: owns both listeners and reports their state."""

    def __init__(
        self, sink: CollectorSink, host: str, port: int, limits: CollectorLimits | None = None
    ) -> None:
        self._sink = sink
        self._host = host
        self._port = port
        self._limits = limits or CollectorLimits()
        self._admission = Admission(self._limits, sink.stats)
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._clients: set[asyncio.Task[None]] = set()
        self.error = ""

    async def start(self) -> None:
        """Bind UDP and TCP on host:port; a bind failure is reported, not raised."""
        loop = asyncio.get_running_loop()
        try:
            sock, granted = open_udp_socket(self._host, self._port, self._limits.udp_rcvbuf)
            self._udp, _ = await loop.create_datagram_endpoint(
                lambda: UdpProtocol(self._sink), sock=sock
            )
            self._tcp = await asyncio.start_server(
                self._serve_tcp, self._host, self._port, limit=READ_CHUNK
            )
        except OSError as e:
            self.error = f"cannot listen on {self._host}:{self._port}: {e.strerror or e}"
            log.error("collector_bind_failed", host=self._host, port=self._port, error=str(e))
            return
        self._sink.stats.udp_rcvbuf_bytes = granted
        log.info(
            "collector_listening",
            host=self._host,
            port=self._port,
            udp_rcvbuf=granted,
            journal_fsync=self._sink.group_commit.policy,
        )

    async def stop(self) -> None:
        """Stop listening and close client connections."""
        if self._udp is not None:
            self.refresh_stats()
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
        for task in list(self._clients):
            task.cancel()
        for task in list(self._clients):
            try:
                with contextlib.suppress(asyncio.CancelledError):  # cancelled just above
                    await task
            except Exception:  # a reader's bug surfaces here: note it, stop the others anyway
                log.exception("syslog_client_failed")

    def refresh_stats(self) -> None:
        """Read the counters only the kernel keeps (UDP receive-buffer drops) into the stats."""
        sock = self._udp.get_extra_info("socket") if self._udp is not None else None
        drops = kernel_drops(sock) if sock is not None else None
        if drops is not None:
            self._sink.stats.udp_kernel_drops = drops

    def health(self) -> ComponentHealth:
        """ok with counters, or failing with the bind or journal sync error."""
        if self.error:
            return ComponentHealth("failing", self.error)
        if self._tcp is None:
            return ComponentHealth("failing", "collector not started")
        self.refresh_stats()
        s, group = self._sink.stats, self._sink.group_commit
        sync_ms = 1000 * s.journal_sync_seconds / s.journal_syncs if s.journal_syncs else 0.0
        detail = (
            f"udp+tcp {self._host}:{self._port}; accepted {s.accepted}, "
            f"dead-lettered {s.rejected}, udp overflow {s.udp_overflow}, "
            f"udp kernel drops {s.udp_kernel_drops} (receive buffer {s.udp_rcvbuf_bytes} bytes); "
            f"tcp open {s.tcp_open} of {self._limits.tcp_max_clients} "
            f"({self._limits.tcp_max_per_ip} per ip), refused at client cap "
            f"{s.tcp_refused_client_cap}, refused at per-ip cap {s.tcp_refused_ip_cap}, "
            f"idle-closed {s.tcp_idle_closed}; journal fsync {group.policy} "
            f"({s.journal_syncs} syncs, {sync_ms:.2f} ms each)"
        )
        if group.error:
            return ComponentHealth("failing", f"{group.error}; {detail}")
        if self._sink.disk_full:
            return ComponentHealth(
                "failing",
                f"{self._sink.disk_full} (TCP senders held, {s.udp_disk_full} UDP lines dropped, "
                f"{s.journal_write_failures} writes refused); {detail}",
            )
        return ComponentHealth("ok", detail)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ip = peer_ip(writer)
        refusal = self._admission.admit(ip)
        if refusal is not None:
            self._admission.refuse(writer, ip, refusal)
            return
        task = asyncio.current_task()
        assert task is not None  # asyncio runs each connection's callback in a task of its own
        self._clients.add(task)
        try:
            await self._read_stream(reader, ip)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except JournalSyncFailed:
            reset(writer)  # what we read may not be on disk: the sender must not think it is
        except OSError as e:  # the journal failed otherwise (EIO, ...): not journaled, no FIN
            log.error("collector_tcp_journal_failed", peer=ip, error=str(e))
            reset(writer)
        except asyncio.CancelledError:
            pass  # `stop` ends this connection; asyncio would log a cancelled handler as an error
        finally:
            self._clients.discard(task)
            self._admission.release(ip)
            writer.close()

    async def _read_stream(self, reader: asyncio.StreamReader, ip: str) -> None:
        deframer = TcpDeframer()
        # Idle is counted from the last complete message, not the last byte: a peer dripping
        # bytes that never finish a line would otherwise hold its slot for ever.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._limits.tcp_idle_timeout_s
        while data := await self._read_or_idle(reader, ip, deadline):
            frames = deframer.feed(data)
            await self._accept_frames(frames)  # may wait for disk space: count idle after it
            if frames:
                deadline = loop.time() + self._limits.tcp_idle_timeout_s
            # Group commit: read on while a sync runs, but never far ahead of the disk.
            await self._sink.durable(slack=UNSYNCED_WINDOW)
            # Back-pressure: stop reading this socket while the store is far behind.
            await self._sink.wait_for_capacity()
        await self._accept_frames(deframer.close())
        await self._sink.durable()  # the FIN a sender may wait for comes after its lines are synced

    async def _read_or_idle(self, reader: asyncio.StreamReader, ip: str, deadline: float) -> bytes:
        """The next chunk; b"" at end of stream or at `deadline` (which frees the slot)."""
        try:
            async with asyncio.timeout_at(deadline):
                return await reader.read(READ_CHUNK)
        except TimeoutError:
            self._sink.stats.tcp_idle_closed += 1
            log.debug("collector_tcp_idle_closed", peer=ip, after_s=self._limits.tcp_idle_timeout_s)
            return b""

    async def _accept_frames(self, frames: list[bytes | FrameError]) -> None:
        """Journal each frame in order; while the disk is full, hold the rest (and, by not
        reading, the sender) until a retry succeeds."""
        for frame in frames:
            while not self._accept_frame(frame):
                await self._sink.wait_for_disk()

    def _accept_frame(self, frame: bytes | FrameError) -> bool:
        if isinstance(frame, FrameError):
            return self._sink.reject(b"", frame.reason, frame.detail, "tcp")
        return self._sink.accept_line(frame, "tcp")
