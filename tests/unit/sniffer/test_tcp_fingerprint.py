"""SYN options and headers become the fingerprint fields the bounty and profile consume."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from domain.attackers.profile import AttackerBehavior
from domain.observations.bounty import derive_bounties
from domain.observations.records import InteractionRecord
from infrastructure.sniffer.packets import TcpSegment, parse_tcp
from infrastructure.sniffer.tcp_fingerprint import (
    TcpOption,
    fingerprint_syn,
    parse_options,
    syn_fields,
)
from tests.unit.sniffer.crafted import LINUX_OPTIONS, WINDOWS_OPTIONS, tcp_packet

MACOS_OPTIONS: list[tuple[str | int, Any]] = [
    ("MSS", 1460),
    ("NOP", None),
    ("WScale", 6),
    ("NOP", None),
    ("NOP", None),
    ("Timestamp", (1, 0)),
    ("SAckOK", b""),
    ("EOL", None),
]


def _segment(packet: bytes) -> TcpSegment:
    segment = parse_tcp(packet)
    assert segment is not None
    return segment


def _fields(**kwargs: Any) -> dict[str, str]:
    segment = _segment(tcp_packet(**kwargs))
    return syn_fields(segment, fingerprint_syn(segment))


def test_linux_syn_gives_every_field() -> None:
    """A Linux SYN seven hops away: options order, flags, TTL arithmetic, OS and signature."""
    fields = _fields(ttl=57, window=64240, options=LINUX_OPTIONS, dport=22)
    assert fields == {
        "src_ip": "198.51.100.7",
        "src_port": "40000",
        "dst_ip": "10.0.0.5",
        "dst_port": "22",
        "ttl": "57",
        "initial_ttl": "64",
        "hop_distance": "7",
        "window": "64240",
        "mss": "1460",
        "wscale": "7",
        "options": "M,S,T,N,W",
        "sack": "1",
        "timestamps": "1",
        "df": "1",
        "os_guess": "linux",
        "signature": "64:64240:1460:M,S,T,N,W",
    }


def test_windows_syn_has_no_timestamps() -> None:
    """Windows 10: TTL 128, `M,N,W,N,N,S`, SACK but no timestamps."""
    fields = _fields(ttl=113, window=64240, options=WINDOWS_OPTIONS)
    assert fields["os_guess"] == "windows"
    assert (fields["initial_ttl"], fields["hop_distance"]) == ("128", "15")
    assert (fields["options"], fields["sack"], fields["timestamps"]) == ("M,N,W,N,N,S", "1", "0")
    assert fields["wscale"] == "8"


def test_macos_syn_keeps_eol_and_stops_there() -> None:
    """macOS pads with EOL; the order ends at the first EOL and matches the macOS signature."""
    fields = _fields(ttl=64, window=65535, options=MACOS_OPTIONS)
    assert fields["options"] == "M,N,W,N,N,T,S,E"
    assert fields["os_guess"] == "macos"


@pytest.mark.parametrize(
    ("ttl", "window", "options", "expected"),
    [
        (44, 1024, [("MSS", 1460)], "unknown"),  # nmap -sS: the tool, not the OS
        (250, 1024, [], "unknown"),  # masscan
        (250, 4128, [("MSS", 536)], "embedded"),  # network gear starts at 255
        (
            64,
            65535,
            [("MSS", 1460), ("NOP", None), ("WScale", 6), ("SAckOK", b""), ("Timestamp", (1, 0))],
            "bsd",
        ),
        (120, 8192, [("MSS", 1460), ("NOP", None), ("NOP", None), ("SAckOK", b"")], "windows"),
        (100, 5000, [("MSS", 1460), ("WScale", 2)], "unknown"),
    ],
)
def test_os_guess_table(ttl: int, window: int, options: list[Any], expected: str) -> None:
    """Initial TTL, window and option order pick the family; no match says `unknown`."""
    assert _fields(ttl=ttl, window=window, options=options)["os_guess"] == expected


def test_options_absent_from_the_syn_are_left_out() -> None:
    """No MSS or window scale option means no `mss`/`wscale` field, not an empty one."""
    fields = _fields(window=1024, options=[])
    assert "mss" not in fields
    assert "wscale" not in fields
    assert fields["options"] == ""
    assert fields["signature"] == "64:1024:?:?"


def test_malformed_options_are_kept_up_to_the_break() -> None:
    """An option whose length runs past the header ends decoding without raising."""
    options = parse_options(b"\x02\x04\x05\xb4\x01\x03\x09\x07")
    assert [o.kind for o in options] == [2, 1, 3]
    assert parse_options(b"\x08") == [TcpOption(8)]  # no room for the length byte


def test_unknown_option_kind_is_shown_by_number() -> None:
    """An option without a p0f letter appears as `?<kind>` so it still shapes the signature."""
    segment = _segment(tcp_packet(options=[("MSS", 1400), (30, b"\x00\x01")]))
    assert fingerprint_syn(segment).options == "M,?30"


def test_fragments_and_truncated_headers_are_not_decoded() -> None:
    """A non-first fragment has no TCP header, a cut header is unreadable: both are skipped."""
    packet = bytearray(tcp_packet(options=LINUX_OPTIONS))
    fragment = bytes(packet[:6]) + b"\x00\x10" + bytes(packet[8:])
    assert parse_tcp(fragment) is None
    assert parse_tcp(bytes(packet[:30])) is None
    assert parse_tcp(b"\x60" + bytes(packet[1:])) is None  # IPv6 version nibble


def test_fields_feed_the_bounty_and_the_attacker_profile() -> None:
    """The domain reads exactly these names: tcp_syn bounty, os_guess, hops, tcp_fingerprint."""
    fields = _fields(ttl=57, window=64240, options=LINUX_OPTIONS)
    record = InteractionRecord(
        datetime(2026, 4, 18, tzinfo=UTC),
        "decky-01",
        "sniffer",
        "tcp_syn_fingerprint",
        "198.51.100.7",
        fields=fields,
    )
    [bounty] = derive_bounties(record)
    assert bounty.payload == {
        "fingerprint_type": "tcp_syn",
        "os_guess": "linux",
        "ttl": 57,
        "window": 64240,
        "mss": 1460,
        "options": "M,S,T,N,W",
    }
    behavior = AttackerBehavior()
    behavior.observe(record)
    summary = behavior.behavior()
    assert (summary["os_guess"], summary["hop_distance"]) == ("linux", 7)
    assert summary["tcp_fingerprint"] == fields["signature"]
