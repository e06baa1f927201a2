"""Opening a scapy capture on an interface, and reading IPv4 packets from it."""

from __future__ import annotations

import errno
import importlib
import select
import socket
from collections.abc import Callable
from typing import Any, Protocol

import structlog

from infrastructure.sniffer import bpf
from infrastructure.sniffer.packets import ipv4_from_ethernet

log = structlog.get_logger()

NO_RIGHTS = "no raw-socket rights (need root or CAP_NET_RAW)"
RCVBUF_BYTES = 4 * 1024 * 1024


class CaptureUnavailableError(Exception):
    """The capture cannot run here; the message is the reason `/health` shows."""


class PacketSource(Protocol):
    """Where the capture thread reads packets; only that thread touches it."""

    filter_mode: str

    def wait(self, timeout: float) -> bool:
        """True when a packet can be read without blocking."""
        ...

    def read(self) -> bytes | None:
        """The next IPv4 packet, or None for a frame that is not one."""
        ...

    def set_targets(self, addresses: frozenset[str]) -> None:
        """Narrow the kernel-side filter to these destinations, where the backend can."""
        ...

    def close(self) -> None:
        """Release the socket."""
        ...


SourceOpener = Callable[[str], PacketSource]


def open_scapy_source(interface: str) -> PacketSource:
    """A live capture on `interface`; raises CaptureUnavailable with the reason otherwise."""
    try:
        # Loading these selects the platform's capture sockets and registers the link
        # layers, so a socket on `lo` or Ethernet knows its frames are Ether.
        for module in ("scapy.arch", "scapy.layers.l2", "scapy.layers.inet"):
            importlib.import_module(module)
        from scapy.config import conf
    except ImportError as e:
        raise CaptureUnavailableError(f"scapy is not installed: {e}") from e
    # With libpcap, filter strings compile; the native Linux socket gets our own BPF instead.
    pcap_filter = "tcp" if conf.use_pcap else None
    try:
        sock = conf.L2listen(iface=interface, filter=pcap_filter)
    except OSError as e:
        if isinstance(e, PermissionError) or e.errno in (errno.EPERM, errno.EACCES):
            raise CaptureUnavailableError(NO_RIGHTS) from e
        raise CaptureUnavailableError(f"scapy cannot open interface {interface}: {e}") from e
    except Exception as e:  # scapy raises ValueError/Scapy_Exception for unknown interfaces
        raise CaptureUnavailableError(f"scapy cannot open interface {interface}: {e}") from e
    return ScapySource(sock, "libpcap 'tcp'" if pcap_filter else "python")


class ScapySource:
    """A scapy listening socket; frames are cut down to IPv4 packets without full dissection."""

    def __init__(self, sock: Any, filter_mode: str) -> None:
        from scapy.layers.inet import IP
        from scapy.layers.l2 import Ether

        self._sock = sock
        self._ll: Any = getattr(sock, "LL", None)
        self._ip_layer = IP
        self._ethernet = isinstance(self._ll, type) and issubclass(self._ll, Ether)
        self.filter_mode = filter_mode
        self._kernel: socket.socket | None = None
        ins = getattr(sock, "ins", None)
        if isinstance(ins, socket.socket) and ins.family == socket.AF_PACKET:
            # scapy's 64 KiB buffer holds one full-size loopback frame; bursts need more room.
            ins.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF_BYTES)
            self._kernel = ins if self._ethernet else None

    def wait(self, timeout: float) -> bool:
        """True when a frame is waiting."""
        ready, _, _ = select.select([self._sock], [], [], timeout)
        return bool(ready)

    def read(self) -> bytes | None:
        """One frame, as the IPv4 packet it carries."""
        _cls, frame, _ts = self._sock.recv_raw()
        if not frame:
            return None
        if self._ethernet:
            return ipv4_from_ethernet(frame)
        if self._ll is self._ip_layer:
            return bytes(frame)
        return self._dissect(frame)

    def set_targets(self, addresses: frozenset[str]) -> None:
        """Install a kernel filter for these destinations (native AF_PACKET sockets only)."""
        if self._kernel is None:
            return
        try:
            bpf.attach(self._kernel, bpf.dst_filter(addresses))
            self.filter_mode = "kernel BPF"
        except OSError as e:  # the Python-side check still applies, so keep capturing
            log.warning("sniffer_bpf_attach_failed", error=str(e))
            self._kernel = None
            self.filter_mode = "python"

    def close(self) -> None:
        """Close the scapy socket."""
        self._sock.close()

    def _dissect(self, frame: bytes) -> bytes | None:
        # Rare link types (cooked, tunnels): let scapy find the IP layer.
        if self._ll is None:
            return None
        ip = self._ll(frame).getlayer(self._ip_layer)
        return bytes(ip) if ip is not None else None
