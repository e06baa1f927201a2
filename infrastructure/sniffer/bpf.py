"""A classic BPF program, assembled here, that passes only IPv4 TCP to the decky addresses.

Compiling filter strings needs libpcap, which is often absent (it is on the reference host);
a filter this simple is a dozen instructions, and rebuilding it when the fleet changes keeps
the host's own loopback traffic (database, API, syslog) out of the capture thread.
"""

from __future__ import annotations

import ctypes
import socket
import struct
from collections.abc import Iterable

SO_ATTACH_FILTER = 26
_LD_H_ABS, _LD_B_ABS, _LD_W_ABS = 0x28, 0x30, 0x20
_JEQ_K, _RET_K = 0x15, 0x06
_ACCEPT = 0x40000  # bytes of each packet to keep: all of it
MAX_ADDRESSES = 250  # jump offsets are one byte; beyond this, filter on IPv4 TCP only

Instruction = tuple[int, int, int, int]


def dst_filter(addresses: Iterable[str]) -> list[Instruction]:
    """Ethernet-framed IPv4 TCP whose destination is one of `addresses` (all TCP if too many)."""
    targets = sorted({int.from_bytes(socket.inet_aton(a), "big") for a in addresses})
    if not targets:
        return [(_RET_K, 0, 0, 0)]  # no deckies, nothing to look at
    if len(targets) > MAX_ADDRESSES:
        targets = []
    n = len(targets)
    # Layout: 0 ethertype, 1 test, 2 protocol, 3 test, [4 dst, 5.. one test per address],
    # then `drop`, then `accept`.
    drop = 4 + (n + 1 if n else 0)
    program: list[Instruction] = [
        (_LD_H_ABS, 0, 0, 12),
        (_JEQ_K, 0, drop - 2, 0x0800),
        (_LD_B_ABS, 0, 0, 23),
        (_JEQ_K, 0 if n else 1, drop - 4, 6),
    ]
    if n:
        program.append((_LD_W_ABS, 0, 0, 30))
        program += [(_JEQ_K, n - i, 0, ip) for i, ip in enumerate(targets)]
    return [*program, (_RET_K, 0, 0, 0), (_RET_K, 0, 0, _ACCEPT)]


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


def attach(sock: socket.socket, program: list[Instruction]) -> None:
    """Replace the socket's kernel filter (the kernel copies the program during the call)."""
    code = b"".join(struct.pack("HBBI", *insn) for insn in program)
    buffer = ctypes.create_string_buffer(code, len(code))
    fprog = _SockFprog(len(program), ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, bytes(fprog))
