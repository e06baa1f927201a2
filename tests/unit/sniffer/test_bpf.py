"""The hand-assembled kernel filter, run on a small classic-BPF interpreter."""

from __future__ import annotations

import pytest

from infrastructure.sniffer.bpf import MAX_ADDRESSES, Instruction, dst_filter
from tests.unit.sniffer.crafted import ethernet, tcp_packet


def run(program: list[Instruction], frame: bytes) -> int:
    """Execute the subset of classic BPF the filter uses; the return value is bytes kept."""
    acc, pc = 0, 0
    sizes = {0x28: 2, 0x30: 1, 0x20: 4}
    while True:
        code, jt, jf, k = program[pc]
        if code in sizes:
            if k + sizes[code] > len(frame):
                return 0  # the kernel rejects the packet on an out-of-bounds load
            acc = int.from_bytes(frame[k : k + sizes[code]], "big")
            pc += 1
        elif code == 0x15:
            pc += 1 + (jt if acc == k else jf)
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")


def _udp_frame(dst: str) -> bytes:
    frame = bytearray(ethernet(tcp_packet(dst=dst)))
    frame[14 + 9] = 17  # protocol UDP
    return bytes(frame)


@pytest.mark.parametrize("count", [1, 3, MAX_ADDRESSES])
def test_passes_only_tcp_to_the_deckies(count: int) -> None:
    """TCP to any listed address passes; other addresses, UDP and non-IPv4 frames do not."""
    deckies = [f"10.0.{i // 200}.{i % 200 + 1}" for i in range(count)]
    program = dst_filter(deckies)
    for ip in (deckies[0], deckies[-1]):
        assert run(program, ethernet(tcp_packet(dst=ip))) > 0
    assert run(program, ethernet(tcp_packet(dst="10.9.9.9"))) == 0
    assert run(program, _udp_frame(deckies[0])) == 0
    arp = b"\x00" * 12 + b"\x08\x06" + b"\x00" * 28
    assert run(program, arp) == 0


def test_no_deckies_drops_everything() -> None:
    """With an empty fleet there is nothing to look at."""
    assert run(dst_filter([]), ethernet(tcp_packet())) == 0


def test_too_many_deckies_falls_back_to_all_tcp() -> None:
    """Past the one-byte jump range the filter keeps IPv4 TCP; Python checks the address."""
    program = dst_filter([f"10.1.{i // 250}.{i % 250 + 1}" for i in range(MAX_ADDRESSES + 1)])
    assert run(program, ethernet(tcp_packet(dst="10.9.9.9"))) > 0
    assert run(program, _udp_frame("10.9.9.9")) == 0
