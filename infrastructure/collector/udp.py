"""The UDP side of the collector: a socket with a large receive buffer and its drop counter.

UDP cannot be paused, so a burst is absorbed by the kernel's receive buffer while the event loop
catches up; what does not fit is dropped by the kernel. The buffer is sized from the settings
(SO_RCVBUFFORCE when privileged, else SO_RCVBUF, capped by `net.core.rmem_max`), and the kernel's
per-socket drop counter is read back so those losses are reported instead of unseen.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
import sys
from pathlib import Path

import structlog

from infrastructure.collector.sink import CollectorSink

log = structlog.get_logger()
LINUX = sys.platform.startswith("linux")
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)  # Linux; Python does not export it
SO_MEMINFO = 55  # Linux ≥ 4.6: the socket's sk_meminfo array; index 8 is sk_drops
SK_MEMINFO_DROPS = 8


class UdpProtocol(asyncio.DatagramProtocol):
    """One datagram is one syslog message."""

    def __init__(self, sink: CollectorSink) -> None:
        self._sink = sink

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        """Journal the datagram (a trailing newline is framing, not content)."""
        self._sink.accept_line(data.rstrip(b"\r\n"), "udp")


def open_udp_socket(host: str, port: int, rcvbuf: int) -> tuple[socket.socket, int]:
    """A bound, non-blocking datagram socket and the receive buffer size the kernel granted."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        granted = set_receive_buffer(sock, rcvbuf)
        sock.bind(address)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock, granted


def set_receive_buffer(sock: socket.socket, size: int) -> int:
    """Ask for `size` bytes (forced past rmem_max when permitted); return what the kernel set."""
    forced = False
    if LINUX:
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
            forced = True
        except OSError:  # EPERM without CAP_NET_ADMIN
            pass
    if not forced:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
    granted: int = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    wanted = 2 * size if LINUX else size  # Linux doubles the request for its bookkeeping
    if granted < wanted:
        log.warning(
            "collector_udp_rcvbuf_capped",
            requested=size,
            granted=granted,
            hint="raise net.core.rmem_max, or run with CAP_NET_ADMIN",
        )
    return granted


def kernel_drops(sock: socket.socket) -> int | None:
    """Datagrams the kernel dropped on this socket since it was opened (None if unknowable)."""
    if not LINUX:
        return None
    with contextlib.suppress(OSError):
        raw = sock.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, 4 * (SK_MEMINFO_DROPS + 1))
        if len(raw) >= 4 * (SK_MEMINFO_DROPS + 1):
            drops: int = struct.unpack_from("=I", raw, 4 * SK_MEMINFO_DROPS)[0]
            return drops
    with contextlib.suppress(OSError, ValueError):
        return _proc_net_drops(os.fstat(sock.fileno()).st_ino)
    return None


def _proc_net_drops(inode: int) -> int | None:
    """The `drops` column of /proc/net/udp{,6} for the socket with this inode (older kernels)."""
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            columns = line.split()
            if len(columns) >= 13 and columns[9] == str(inode):
                return int(columns[12])
    return None
