"""IPv4/TCP header decoding from raw bytes: the capture thread's hot path, so no scapy here."""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass

TCP_PROTO = 6
ETH_HEADER = 14
ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_VLAN = (0x8100, 0x88A8)

FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10
_DF = 0x4000
_OFFSET_MASK = 0x1FFF


@dataclass(frozen=True, slots=True)
class TcpSegment:
    """The header fields the fingerprints need, and the payload."""

    src: str
    dst: str
    sport: int
    dport: int
    ttl: int
    df: bool
    flags: int
    seq: int
    window: int
    options: bytes
    payload: bytes

    @property
    def is_syn(self) -> bool:
        """An opening SYN (not the SYN-ACK answer)."""
        return self.flags & (SYN | ACK) == SYN

    @property
    def closes(self) -> bool:
        """FIN or RST: the flow is over."""
        return bool(self.flags & (FIN | RST))


def ipv4_from_ethernet(frame: bytes) -> bytes | None:
    """The IPv4 packet inside an Ethernet frame (one or two VLAN tags allowed); None otherwise."""
    offset, ethertype = ETH_HEADER, _u16(frame, 12)
    while ethertype in ETHERTYPE_VLAN and offset + 4 <= len(frame):
        ethertype, offset = _u16(frame, offset + 2), offset + 4
    return frame[offset:] if ethertype == ETHERTYPE_IPV4 else None


def ipv4_tcp_destination(packet: bytes) -> str | None:
    """The destination of an IPv4 TCP packet, read without decoding the rest (cheap prefilter)."""
    if len(packet) < 20 or packet[0] >> 4 != 4 or packet[9] != TCP_PROTO:
        return None
    return socket.inet_ntoa(packet[16:20])


def parse_tcp(packet: bytes) -> TcpSegment | None:
    """Decode an IPv4 TCP packet; None for anything else, fragments or truncated headers."""
    if len(packet) < 20 or packet[0] >> 4 != 4 or packet[9] != TCP_PROTO:
        return None
    ihl = (packet[0] & 0x0F) * 4
    total = min(_u16(packet, 2), len(packet))  # Ethernet padding may trail the packet
    frag = _u16(packet, 6)
    # A non-first fragment has no TCP header; a first fragment may have a cut one: skip both.
    if ihl < 20 or total < ihl + 20 or frag & (_OFFSET_MASK | 0x2000):
        return None
    return _tcp(packet[:total], ihl, df=bool(frag & _DF))


def _tcp(packet: bytes, ihl: int, df: bool) -> TcpSegment | None:
    sport, dport, seq, _ack, off_flags, window = struct.unpack_from("!HHIIHH", packet, ihl)
    data_offset = (off_flags >> 12) * 4
    if data_offset < 20 or ihl + data_offset > len(packet):
        return None
    return TcpSegment(
        src=socket.inet_ntoa(packet[12:16]),
        dst=socket.inet_ntoa(packet[16:20]),
        sport=sport,
        dport=dport,
        ttl=packet[8],
        df=df,
        flags=off_flags & 0x1FF,
        seq=seq,
        window=window,
        options=packet[ihl + 20 : ihl + data_offset],
        payload=packet[ihl + data_offset :],
    )


def ipv4_only(addresses: Iterable[str]) -> frozenset[str]:
    """The valid IPv4 addresses among `addresses` (the capture decodes IPv4 only)."""
    return frozenset(a for a in addresses if _is_ipv4(a))


def _is_ipv4(address: str) -> bool:
    try:
        ipaddress.IPv4Address(address)
    except ValueError:
        return False
    return True


def _u16(data: bytes, offset: int) -> int:
    if offset + 2 > len(data):
        return -1
    return int.from_bytes(data[offset : offset + 2], "big")
