"""JA4 against FoxIO's published example and rules."""

from __future__ import annotations

import pytest

from infrastructure.sniffer.ja4 import alpn_chars, ja4
from infrastructure.sniffer.tls_hello import ClientHello, hello_body, parse_client_hello
from tests.unit.sniffer.crafted import (
    GREASE,
    alpn,
    client_hello,
    python_client_hello,
    sni,
    u16_list_ext,
    vec,
)
from tests.unit.sniffer.reference import reference_ja4

# FoxIO's technical details (JA4.md), "Example": ciphers and extensions in wire order.
SPEC_CIPHERS = [
    0x1301,
    0x1302,
    0x1303,
    0xC02B,
    0xC02F,
    0xC02C,
    0xC030,
    0xCCA9,
    0xCCA8,
    0xC013,
    0xC014,
    0x009C,
    0x009D,
    0x002F,
    0x0035,
]
SPEC_EXTENSIONS = [
    0x001B,
    0x0000,
    0x0033,
    0x0010,
    0x4469,
    0x0017,
    0x002D,
    0x000D,
    0x0005,
    0x0023,
    0x0012,
    0x002B,
    0xFF01,
    0x000B,
    0x000A,
    0x0015,
]
SPEC_SIGALGS = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]
SPEC_JA4 = "t13d1516h2_8daaf6152771_e5627efa2ab1"


def _spec_record(grease: bool = False, sigalgs: list[int] = SPEC_SIGALGS) -> bytes:
    bodies = {
        0x0000: sni("example.com")[1],
        0x0010: alpn(b"h2", b"http/1.1")[1],
        0x000D: u16_list_ext(0x000D, *([GREASE] if grease else []), *sigalgs)[1],
        0x002B: u16_list_ext(0x002B, *([GREASE] if grease else []), 0x0304, 0x0303, width=1)[1],
        0x000A: u16_list_ext(0x000A, 0x001D, 0x0017)[1],
        0x000B: vec(b"\x00", 1),
    }
    extensions = [(t, bodies.get(t, b"")) for t in SPEC_EXTENSIONS]
    ciphers = list(SPEC_CIPHERS)
    if grease:
        ciphers.insert(0, GREASE)
        extensions.insert(0, (0x2A2A, b""))
        extensions.append((0xDADA, b"\x00"))
    return client_hello(ciphers, extensions)


def _hello(record: bytes) -> ClientHello:
    body = hello_body(record)
    assert body is not None
    return parse_client_hello(body)


def test_spec_example() -> None:
    """The hello behind FoxIO's example gives exactly the published JA4."""
    assert ja4(_hello(_spec_record())) == SPEC_JA4


def test_grease_changes_nothing() -> None:
    """GREASE in ciphers, extensions, versions and signature algorithms is ignored."""
    assert ja4(_hello(_spec_record(grease=True))) == SPEC_JA4


def test_no_signature_algorithms_means_no_underscore() -> None:
    """Empty signature algorithms: part c hashes the extensions alone (spec: 6d807ffa2a79)."""
    assert ja4(_hello(_spec_record(sigalgs=[]))).endswith("_6d807ffa2a79")


def test_python_ssl_hello_matches_reference() -> None:
    """Python's own ClientHello gives the JA4 computed independently from scapy's decoding."""
    record = python_client_hello("decoy.example", ["http/1.1"])
    assert ja4(_hello(record)) == reference_ja4(record)
    assert ja4(_hello(record)).startswith("t13d")


def test_ip_destination_tls12_no_alpn_no_ciphers() -> None:
    """No SNI is `i`, no supported_versions uses the hello version, no ALPN is `00`."""
    expected = "t12i000000_000000000000_000000000000"
    assert ja4(_hello(client_hello([], [], version=0x0303))) == expected


@pytest.mark.parametrize(
    ("protocols", "expected"),
    [
        ((b"h2",), "h2"),
        ((b"http/1.1", b"h2"), "h1"),
        ((b"h",), "hh"),
        ((), "00"),
        ((b"",), "00"),
        ((b"\xab",), "ab"),
        ((b"\xab\xcd",), "ad"),
        ((b"\x30\xab",), "3b"),
        ((b"\x30\x31\xab\xcd",), "3d"),
        ((b"\x30\xab\xcd\x31",), "01"),
    ],
)
def test_alpn_characters(protocols: tuple[bytes, ...], expected: str) -> None:
    """First/last character of the first ALPN value, hex when not alphanumeric (spec examples)."""
    assert alpn_chars(protocols) == expected
