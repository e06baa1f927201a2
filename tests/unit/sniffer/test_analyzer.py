"""Packets to deckies become deduplicated SYN and ClientHello observations."""

from __future__ import annotations

from typing import Any

from infrastructure.sniffer.analyzer import PacketAnalyzer, SnifferStats
from infrastructure.sniffer.dedup import SeenWindow
from infrastructure.sniffer.packets import ipv4_only
from tests.unit.sniffer.crafted import (
    LINUX_OPTIONS,
    WINDOWS_OPTIONS,
    python_client_hello,
    tcp_packet,
)
from tests.unit.sniffer.reference import reference_ja3_md5

DECKY = "10.0.0.5"
TARGETS = frozenset({DECKY})
HELLO = python_client_hello("decoy.example", ["h2"])


class Clock:
    """A settable clock."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _analyzer(window: float = 300) -> tuple[PacketAnalyzer, Clock, SnifferStats]:
    clock, stats = Clock(), SnifferStats()
    return PacketAnalyzer(SeenWindow(window), clock, stats), clock, stats


def _syn(src: str = "198.51.100.7", sport: int = 40000, **kwargs: Any) -> bytes:
    return tcp_packet(src=src, dst=DECKY, sport=sport, options=LINUX_OPTIONS, **kwargs)


def test_loopback_double_copy_gives_one_observation() -> None:
    """The outgoing and incoming copies of one SYN count once, and the copy is counted."""
    analyzer, _, stats = _analyzer()
    packet = _syn()
    found = analyzer.analyze(packet, TARGETS) + analyzer.analyze(packet, TARGETS)
    assert [o.event_type for o in found] == ["tcp_syn_fingerprint"]
    assert (found[0].src_ip, found[0].dst_ip) == ("198.51.100.7", DECKY)
    assert stats.duplicates == 1


def test_only_opening_syns_to_deckies_count() -> None:
    """SYNs to other hosts, SYN-ACKs and plain ACKs yield nothing."""
    analyzer, _, _ = _analyzer()
    assert analyzer.analyze(tcp_packet(dst="10.0.0.99", options=LINUX_OPTIONS), TARGETS) == []
    assert analyzer.analyze(_syn(flags="SA"), TARGETS) == []
    assert analyzer.analyze(_syn(flags="A"), TARGETS) == []


def test_same_source_and_fingerprint_is_reported_once_per_window() -> None:
    """New connections with the same stack are suppressed until the window ends."""
    analyzer, clock, stats = _analyzer(window=300)
    assert len(analyzer.analyze(_syn(sport=40000), TARGETS)) == 1
    clock.now += 60
    assert analyzer.analyze(_syn(sport=40001, dport=22), TARGETS) == []
    assert stats.suppressed == 1
    clock.now += 241
    assert len(analyzer.analyze(_syn(sport=40002), TARGETS)) == 1


def test_other_source_or_other_stack_is_new() -> None:
    """Deduplication is per (source, fingerprint): either changing is a new observation."""
    analyzer, _, _ = _analyzer()
    analyzer.analyze(_syn(), TARGETS)
    assert len(analyzer.analyze(_syn(src="203.0.113.9"), TARGETS)) == 1
    windows = tcp_packet(src="198.51.100.7", dst=DECKY, ttl=120, options=WINDOWS_OPTIONS)
    assert len(analyzer.analyze(windows, TARGETS)) == 1


def _data(payload: bytes, seq: int, src: str = "198.51.100.7") -> bytes:
    return tcp_packet(src=src, dst=DECKY, flags="PA", seq=seq, payload=payload)


def test_hello_split_over_segments_is_reassembled() -> None:
    """A ClientHello in two segments, the first seen twice, gives one tls_client_hello."""
    analyzer, _, _ = _analyzer()
    first, second = _data(HELLO[:100], seq=5000), _data(HELLO[100:], seq=5100)
    assert analyzer.analyze(first, TARGETS) == []
    assert analyzer.analyze(first, TARGETS) == []
    [hello] = analyzer.analyze(second, TARGETS)
    assert hello.event_type == "tls_client_hello"
    assert hello.fields["ja3_hash"] == reference_ja3_md5(HELLO)
    assert (hello.fields["sni"], hello.fields["alpn"]) == ("decoy.example", "h2")
    assert hello.fields["ja4"].startswith("t13d")
    assert hello.fields["tls_version"] == "TLSv1.3"


def test_retransmitted_first_segment_is_ignored() -> None:
    """A retransmission of bytes already held (not byte-identical) does not corrupt the flow."""
    analyzer, _, _ = _analyzer()
    analyzer.analyze(_data(HELLO[:100], seq=5000), TARGETS)
    analyzer.analyze(
        tcp_packet(
            src="198.51.100.7", dst=DECKY, flags="PA", seq=5000, payload=HELLO[:100], window=1234
        ),
        TARGETS,
    )
    assert len(analyzer.analyze(_data(HELLO[100:], seq=5100), TARGETS)) == 1


def test_gap_abandons_the_flow() -> None:
    """A missing segment means no guess: the flow is dropped without an observation."""
    analyzer, _, _ = _analyzer()
    analyzer.analyze(_data(HELLO[:100], seq=5000), TARGETS)
    assert analyzer.analyze(_data(HELLO[150:], seq=5150), TARGETS) == []
    assert analyzer.analyze(_data(HELLO[100:], seq=5100), TARGETS) == []


def test_repeated_hello_is_deduplicated_per_source() -> None:
    """The same client's second handshake is suppressed; another source is reported."""
    analyzer, _, stats = _analyzer()
    assert len(analyzer.analyze(_data(HELLO, seq=1), TARGETS)) == 1
    assert (
        analyzer.analyze(
            tcp_packet(
                src="198.51.100.7", dst=DECKY, flags="PA", seq=1, sport=40001, payload=HELLO
            ),
            TARGETS,
        )
        == []
    )
    assert len(analyzer.analyze(_data(HELLO, seq=1, src="203.0.113.9"), TARGETS)) == 1
    assert stats.tls_hellos == 2


def test_plaintext_protocols_leave_no_state() -> None:
    """An SSH banner is not a ClientHello and opens no flow."""
    analyzer, _, _ = _analyzer()
    assert analyzer.analyze(_data(b"SSH-2.0-libssh_0.9.6\r\n", seq=1), TARGETS) == []
    assert len(analyzer._hellos) == 0


def test_target_list_keeps_ipv4_only() -> None:
    """Resolver output with IPv6 or junk is narrowed to IPv4 addresses."""
    assert ipv4_only(["10.0.0.5", "::1", "decky-01", "", "127.83.0.10"]) == {
        "10.0.0.5",
        "127.83.0.10",
    }
