"""Packets in, fingerprint observations out: the capture thread's logic, free of I/O."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

from infrastructure.sniffer.dedup import RecentPackets, SeenWindow
from infrastructure.sniffer.flows import HelloAssembler
from infrastructure.sniffer.ja3 import ja3_hash, ja3_string
from infrastructure.sniffer.ja4 import ja4
from infrastructure.sniffer.packets import TcpSegment, ipv4_tcp_destination, parse_tcp
from infrastructure.sniffer.tcp_fingerprint import fingerprint_syn, syn_fields
from infrastructure.sniffer.tls_hello import ClientHello, offered_version, version_name

TCP_SYN_EVENT = "tcp_syn_fingerprint"
TLS_HELLO_EVENT = "tls_client_hello"
_TEXT_CAP = 255  # SNI and ALPN come from the attacker; keep records small


@dataclass(frozen=True, slots=True)
class Observation:
    """One fingerprint worth a record; `dedup_key` lets the worker forget it if it is dropped."""

    event_type: str
    src_ip: str
    dst_ip: str
    observed_at: float
    fields: dict[str, str]
    msg: str
    dedup_key: Hashable


@dataclass(slots=True)
class SnifferStats:
    """Counters the capture thread writes and `/health` reads."""

    frames: int = 0
    packets: int = 0
    duplicates: int = 0
    syn_fingerprints: int = 0
    tls_hellos: int = 0
    suppressed: int = 0
    dropped: int = 0
    submit_errors: int = 0


class PacketAnalyzer:
    """Turns IPv4 packets to decky addresses into deduplicated observations."""

    def __init__(self, dedup: SeenWindow, clock: Callable[[], float], stats: SnifferStats) -> None:
        self.dedup = dedup
        self._clock = clock
        self._stats = stats
        self._recent = RecentPackets()
        self._hellos = HelloAssembler()

    def analyze(self, packet: bytes, targets: frozenset[str]) -> list[Observation]:
        """Observations from one packet (usually none)."""
        destination = ipv4_tcp_destination(packet)
        if destination is None or destination not in targets:
            return []
        self._stats.packets += 1
        if self._recent.duplicate(packet):
            self._stats.duplicates += 1
            return []
        segment = parse_tcp(packet)
        if segment is None:
            return []
        now = self._clock()
        found = [self._syn(segment, now) if segment.is_syn else None]
        hello = self._hellos.feed(segment, now)
        if hello is not None:
            found.append(self._hello(segment, hello, now))
        return [obs for obs in found if obs is not None]

    def _syn(self, seg: TcpSegment, now: float) -> Observation | None:
        fp = fingerprint_syn(seg)
        key = (seg.src, TCP_SYN_EVENT, fp.key)
        if not self._first(key, now):
            return None
        self._stats.syn_fingerprints += 1
        fields = syn_fields(seg, fp)
        msg = (
            f"TCP SYN {seg.src}:{seg.sport} -> {seg.dst}:{seg.dport} "
            f"ttl={fp.ttl} os={fields['os_guess']} sig={fields['signature']}"
        )
        return Observation(TCP_SYN_EVENT, seg.src, seg.dst, now, fields, msg, key)

    def _hello(self, seg: TcpSegment, hello: ClientHello, now: float) -> Observation | None:
        fields = hello_fields(seg, hello)
        key = (seg.src, TLS_HELLO_EVENT, fields["ja3"], fields["ja4"], fields.get("sni"))
        if not self._first(key, now):
            return None
        self._stats.tls_hellos += 1
        msg = (
            f"TLS ClientHello {seg.src}:{seg.sport} -> {seg.dst}:{seg.dport} "
            f"ja3={fields['ja3_hash']} ja4={fields['ja4']} sni={fields.get('sni', '-')}"
        )
        return Observation(TLS_HELLO_EVENT, seg.src, seg.dst, now, fields, msg, key)

    def _first(self, key: Hashable, now: float) -> bool:
        if self.dedup.first_sighting(key, now):
            return True
        self._stats.suppressed += 1
        return False


def hello_fields(seg: TcpSegment, hello: ClientHello) -> dict[str, str]:
    """The `tls_client_hello` record fields; sni and alpn only when the client sent them."""
    ja3 = ja3_string(hello)
    fields = {
        "src_ip": seg.src,
        "src_port": str(seg.sport),
        "dst_ip": seg.dst,
        "dst_port": str(seg.dport),
        "ja3": ja3,
        "ja3_hash": ja3_hash(ja3),
        "ja4": ja4(hello),
        "tls_version": version_name(offered_version(hello)),
        "sni": (hello.sni or "")[:_TEXT_CAP],
        "alpn": ",".join(p.decode("ascii", "backslashreplace") for p in hello.alpn)[:_TEXT_CAP],
    }
    return {key: value for key, value in fields.items() if value}
