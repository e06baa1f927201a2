"""Packets and ClientHellos built for the sniffer tests (scapy for headers, bytes for TLS)."""

from __future__ import annotations

import contextlib
import ssl
from typing import Any

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

GREASE = 0x1A1A
LINUX_OPTIONS: list[tuple[str | int, Any]] = [
    ("MSS", 1460),
    ("SAckOK", b""),
    ("Timestamp", (12345, 0)),
    ("NOP", None),
    ("WScale", 7),
]
WINDOWS_OPTIONS: list[tuple[str | int, Any]] = [
    ("MSS", 1460),
    ("NOP", None),
    ("WScale", 8),
    ("NOP", None),
    ("NOP", None),
    ("SAckOK", b""),
]


def tcp_packet(
    src: str = "198.51.100.7",
    dst: str = "10.0.0.5",
    *,
    ttl: int = 64,
    flags: str = "S",
    window: int = 64240,
    options: list[tuple[str | int, Any]] | None = None,
    sport: int = 40000,
    dport: int = 443,
    seq: int = 1000,
    payload: bytes = b"",
) -> bytes:
    """The IPv4 bytes of one TCP segment, DF set as modern stacks do."""
    tcp = TCP(sport=sport, dport=dport, flags=flags, seq=seq, window=window, options=options or [])
    return bytes(IP(src=src, dst=dst, ttl=ttl, flags="DF") / tcp / payload)


def ethernet(packet: bytes) -> bytes:
    """The packet in an Ethernet frame, as AF_PACKET delivers it on `lo` or a NIC."""
    return bytes(Ether(src="00:00:00:00:00:00", dst="00:00:00:00:00:00", type=0x0800)) + packet


def u16(value: int) -> bytes:
    return value.to_bytes(2, "big")


def vec(data: bytes, width: int) -> bytes:
    return len(data).to_bytes(width, "big") + data


def ext(ext_type: int, body: bytes) -> tuple[int, bytes]:
    return ext_type, body


def sni(name: str) -> tuple[int, bytes]:
    return ext(0x0000, vec(b"\x00" + vec(name.encode(), 2), 2))


def alpn(*protocols: bytes) -> tuple[int, bytes]:
    return ext(0x0010, vec(b"".join(vec(p, 1) for p in protocols), 2))


def u16_list_ext(ext_type: int, *values: int, width: int = 2) -> tuple[int, bytes]:
    return ext(ext_type, vec(b"".join(u16(v) for v in values), width))


def client_hello(
    ciphers: list[int],
    extensions: list[tuple[int, bytes]] | None,
    version: int = 0x0303,
) -> bytes:
    """A ClientHello in one handshake record; `extensions=None` omits the block entirely."""
    body = u16(version) + bytes(32) + vec(bytes(32), 1)
    body += vec(b"".join(u16(c) for c in ciphers), 2) + vec(b"\x00", 1)
    if extensions is not None:
        body += vec(b"".join(u16(t) + vec(data, 2) for t, data in extensions), 2)
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + vec(handshake, 2)


def python_client_hello(server_hostname: str | None, alpn_protocols: list[str]) -> bytes:
    """The ClientHello record Python's `ssl` (OpenSSL) sends, captured from a memory BIO."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn_protocols:
        ctx.set_alpn_protocols(alpn_protocols)
    outgoing = ssl.MemoryBIO()
    tls = ctx.wrap_bio(ssl.MemoryBIO(), outgoing, server_hostname=server_hostname)
    with contextlib.suppress(ssl.SSLWantReadError):  # it waits for the server: expected
        tls.do_handshake()
    return outgoing.read()
