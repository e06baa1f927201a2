"""How much the collector's listeners take on: connection caps, idle timeout, UDP buffer."""

from __future__ import annotations

from dataclasses import dataclass

from infrastructure.settings import AppSettings


@dataclass(frozen=True, slots=True)
class CollectorLimits:
    """Per-listener limits; the defaults are the settings' defaults."""

    tcp_idle_timeout_s: float = 60.0
    tcp_max_clients: int = 512
    tcp_max_per_ip: int = 64
    udp_rcvbuf: int = 8 * 1024 * 1024

    @classmethod
    def of(cls, settings: AppSettings) -> CollectorLimits:
        """The limits a process was configured with (`DECNET_SYSLOG_*`)."""
        return cls(
            tcp_idle_timeout_s=settings.syslog_tcp_idle_timeout_s,
            tcp_max_clients=settings.syslog_tcp_max_clients,
            tcp_max_per_ip=settings.syslog_tcp_max_per_ip,
            udp_rcvbuf=settings.syslog_udp_rcvbuf,
        )
