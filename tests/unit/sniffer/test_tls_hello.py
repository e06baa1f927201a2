"""ClientHello decoding from the bytes a client sends first."""

from __future__ import annotations

import pytest

from infrastructure.sniffer.tls_hello import (
    NotClientHelloError,
    hello_body,
    offered_version,
    parse_client_hello,
)
from tests.unit.sniffer.crafted import (
    alpn,
    client_hello,
    python_client_hello,
    sni,
    u16_list_ext,
    vec,
)
from tests.unit.sniffer.reference import scapy_hello

RECORD = python_client_hello("decoy.example", ["h2", "http/1.1"])


def test_python_ssl_hello_decodes_like_scapy_does() -> None:
    """Ciphers, extension order, SNI and ALPN agree with scapy's independent TLS dissector."""
    body = hello_body(RECORD)
    assert body is not None
    hello = parse_client_hello(body)
    reference = scapy_hello(RECORD)
    assert hello.version == reference.version
    assert list(hello.ciphers) == list(reference.ciphers)
    assert list(hello.extensions) == [e.type for e in reference.ext]
    assert hello.sni == "decoy.example"
    assert hello.alpn == (b"h2", b"http/1.1")
    assert offered_version(hello) == 0x0304


def test_incomplete_stream_asks_for_more() -> None:
    """Every proper prefix of a valid record is 'not yet', never an error."""
    for cut in range(len(RECORD)):
        assert hello_body(RECORD[:cut]) is None


def test_hello_split_across_two_records_is_reassembled() -> None:
    """A ClientHello fragmented over two handshake records decodes as the whole."""
    handshake = RECORD[5:]
    split = b"".join(b"\x16\x03\x01" + vec(part, 2) for part in (handshake[:100], handshake[100:]))
    assert hello_body(split) == hello_body(RECORD)


@pytest.mark.parametrize(
    "stream",
    [
        b"SSH-2.0-OpenSSH_9.6\r\n",
        b"GET / HTTP/1.1\r\n",
        b"\x17\x03\x03\x00\x10",  # application data
        b"\x16\x03\x03\x00\x30\x02",  # a ServerHello
        b"\x16\x03\x01\x00\x00",  # empty record
    ],
)
def test_other_protocols_are_rejected_early(stream: bytes) -> None:
    """Plaintext protocols and other TLS messages are told apart from the first bytes."""
    with pytest.raises(NotClientHelloError):
        hello_body(stream)


def test_truncated_or_corrupt_bodies_raise_not_client_hello() -> None:
    """A body cut anywhere decodes or raises NotClientHello, never another error."""
    body = hello_body(RECORD)
    assert body is not None
    for cut in range(0, len(body), 7):
        try:
            parse_client_hello(body[:cut])
        except NotClientHelloError:
            continue


def test_hello_without_extensions_is_valid() -> None:
    """Pre-TLS-1.2 clients may send no extension block at all."""
    body = hello_body(client_hello([0x002F, 0x0035], None, version=0x0301))
    assert body is not None
    hello = parse_client_hello(body)
    assert (hello.ciphers, hello.extensions, hello.sni) == ((0x002F, 0x0035), (), None)


def test_extension_contents_are_decoded() -> None:
    """Groups, point formats, signature algorithms and supported versions are read in order."""
    record = client_hello(
        [0x1301],
        [
            sni("a.example"),
            alpn(b"h2"),
            u16_list_ext(0x000A, 0x001D, 0x0017),
            (0x000B, vec(b"\x00", 1)),
            u16_list_ext(0x000D, 0x0403, 0x0804),
            u16_list_ext(0x002B, 0x0304, 0x0303, width=1),
        ],
    )
    body = hello_body(record)
    assert body is not None
    hello = parse_client_hello(body)
    assert hello.groups == (0x001D, 0x0017)
    assert hello.point_formats == (0,)
    assert hello.signature_algorithms == (0x0403, 0x0804)
    assert hello.supported_versions == (0x0304, 0x0303)


def test_malformed_extension_bodies_still_fingerprint() -> None:
    """A broken extension body empties that value; the type list and the rest survive."""
    record = client_hello(
        [0x1301],
        [(0x0000, b"\x00\x09\x00"), (0x000A, b"\x00"), (0x0010, b"\x00\x04\x02h2\x05"), sni("x")],
    )
    body = hello_body(record)
    assert body is not None
    hello = parse_client_hello(body)
    assert hello.extensions == (0x0000, 0x000A, 0x0010, 0x0000)
    assert (hello.sni, hello.groups, hello.alpn) == (None, (), (b"h2",))
