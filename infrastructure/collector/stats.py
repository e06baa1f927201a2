"""The collector's counters, named so that /health shows them and a metrics exporter can too."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class CollectorStats:
    """What the collector took in, refused and lost (exposed on /health and /metrics)."""

    accepted: int = 0
    rejected: int = 0
    journaled_by_transport: Counter[str] = field(default_factory=Counter)  # udp, tcp, emulator
    rejected_by_transport: Counter[str] = field(default_factory=Counter)
    udp_overflow: int = 0
    udp_kernel_drops: int = 0  # datagrams the kernel dropped: the receive buffer was full
    udp_rcvbuf_bytes: int = 0  # the receive buffer the kernel granted (Linux doubles the request)
    tcp_connections: int = 0  # admitted since start
    tcp_open: int = 0
    tcp_refused_client_cap: int = 0
    tcp_refused_ip_cap: int = 0
    tcp_idle_closed: int = 0
    journal_syncs: int = 0
    journal_sync_seconds: float = 0.0
    journal_sync_failures: int = 0
    journal_write_failures: int = 0  # journal writes the disk refused (full): retried or dropped
    udp_disk_full: int = 0  # UDP lines dropped because the journal's disk was full
