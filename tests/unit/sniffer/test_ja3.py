"""JA3 strings and MD5s, checked against the published algorithm applied to scapy's decoding."""

from __future__ import annotations

import hashlib

import pytest

from infrastructure.sniffer.ja3 import ja3_hash, ja3_string
from infrastructure.sniffer.tls_hello import ClientHello, hello_body, is_grease, parse_client_hello
from tests.unit.sniffer.crafted import (
    GREASE,
    alpn,
    client_hello,
    python_client_hello,
    sni,
    u16_list_ext,
    vec,
)
from tests.unit.sniffer.reference import reference_ja3, reference_ja3_md5


def _hello(record: bytes) -> ClientHello:
    body = hello_body(record)
    assert body is not None
    return parse_client_hello(body)


@pytest.mark.parametrize(
    ("server_name", "protocols"),
    [("decoy.example", ["h2", "http/1.1"]), (None, [])],
)
def test_python_ssl_hello_matches_reference(server_name: str | None, protocols: list[str]) -> None:
    """Python's own ClientHello gives the reference JA3 string and MD5."""
    record = python_client_hello(server_name, protocols)
    ja3 = ja3_string(_hello(record))
    assert ja3 == reference_ja3(record)
    assert ja3_hash(ja3) == reference_ja3_md5(record)


def test_grease_values_are_left_out_everywhere() -> None:
    """GREASE ciphers, extensions and groups (RFC 8701) do not appear in the string."""
    record = client_hello(
        [GREASE, 0x1301, 0xC02B],
        [
            (GREASE, b""),
            sni("decoy.example"),
            u16_list_ext(0x000A, 0x3A3A, 0x001D, 0x0017),
            (0x000B, vec(b"\x00\x01", 1)),
            alpn(b"h2"),
            (0xFAFA, b"\x00"),
        ],
    )
    ja3 = ja3_string(_hello(record))
    assert ja3 == "771,4865-49195,0-10-11-16,29-23,0-1"
    assert ja3 == reference_ja3(record)
    assert ja3_hash(ja3) == hashlib.md5(ja3.encode(), usedforsecurity=False).hexdigest()


def test_grease_detection_matches_rfc_8701() -> None:
    """Exactly the sixteen 0x?a?a values with equal bytes are GREASE."""
    grease = [v for v in range(0x10000) if is_grease(v)]
    assert grease == [0x0A0A + 0x1010 * i for i in range(16)]


def test_empty_fields_keep_their_commas() -> None:
    """A hello with no extensions still has five comma-separated fields."""
    assert ja3_string(_hello(client_hello([0x002F], None, version=0x0301))) == "769,47,,,"
