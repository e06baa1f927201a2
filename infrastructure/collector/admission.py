"""Who may hold a TCP connection to the collector: a global cap and a per-source-IP cap.

A connection over a cap is reset at once (SO_LINGER 0, then close), before anything is read: the
sender's kernel gets an RST, so its next send or receive fails and a syslog client reconnects or
queues instead of writing into a socket nobody reads. Each refusal is counted; the log gets the
first refusal at once and then at most one line per interval with the count since the last.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from collections import Counter

import structlog

from infrastructure.collector.limits import CollectorLimits
from infrastructure.collector.stats import CollectorStats

log = structlog.get_logger()
LOG_EVERY_S = 10.0
CLIENT_CAP = "client_cap"
IP_CAP = "ip_cap"


class Admission:
    """Counts open connections in total and per source address; decides on each new one."""

    def __init__(self, limits: CollectorLimits, stats: CollectorStats) -> None:
        self._limits = limits
        self._stats = stats
        self._per_ip: Counter[str] = Counter()
        self._last_log: dict[str, float] = {}
        self._unlogged: Counter[str] = Counter()

    def admit(self, ip: str) -> str | None:
        """Take a slot for `ip`, or say which cap refuses it (`client_cap` or `ip_cap`)."""
        if self._stats.tcp_open >= self._limits.tcp_max_clients:
            return CLIENT_CAP
        if self._per_ip[ip] >= self._limits.tcp_max_per_ip:
            return IP_CAP
        self._per_ip[ip] += 1
        self._stats.tcp_open += 1
        self._stats.tcp_connections += 1
        return None

    def release(self, ip: str) -> None:
        """An admitted connection ended."""
        self._per_ip[ip] -= 1
        if self._per_ip[ip] <= 0:
            del self._per_ip[ip]
        self._stats.tcp_open -= 1

    def refuse(self, writer: asyncio.StreamWriter, ip: str, reason: str) -> None:
        """Reset the connection, count it, and log it (rate-limited)."""
        reset(writer)
        if reason == CLIENT_CAP:
            self._stats.tcp_refused_client_cap += 1
        else:
            self._stats.tcp_refused_ip_cap += 1
        self._unlogged[reason] += 1
        now = time.monotonic()
        if now - self._last_log.get(reason, -LOG_EVERY_S) >= LOG_EVERY_S:
            log.warning(
                "collector_tcp_refused",
                reason=reason,
                peer=ip,
                refused_since_last_log=self._unlogged.pop(reason),
                open=self._stats.tcp_open,
                open_from_peer=self._per_ip[ip],
                max_clients=self._limits.tcp_max_clients,
                max_per_ip=self._limits.tcp_max_per_ip,
            )
            self._last_log[reason] = now


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST instead of a FIN: the peer learns at once that nothing will be read."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def peer_ip(writer: asyncio.StreamWriter) -> str:
    """The sender's address (an IPv4-mapped IPv6 address counts as its IPv4 address)."""
    peer = writer.get_extra_info("peername")
    ip = str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"
    return ip.removeprefix("::ffff:")
