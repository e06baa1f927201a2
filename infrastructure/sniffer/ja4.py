"""JA4 (FoxIO): `t13d1516h2_<cipher hash>_<extension hash>` per FoxIO's technical details.

Only TLS over TCP is seen here, so the protocol letter is always `t`.
"""

from __future__ import annotations

import hashlib

from infrastructure.sniffer.tls_hello import (
    EXT_ALPN,
    EXT_SERVER_NAME,
    ClientHello,
    offered_version,
    without_grease,
)

_VERSIONS = {
    0x0304: "13",
    0x0303: "12",
    0x0302: "11",
    0x0301: "10",
    0x0300: "s3",
    0x0002: "s2",
    0xFEFF: "d1",
    0xFEFD: "d2",
    0xFEFC: "d3",
}
EMPTY_HASH = "000000000000"


def ja4(hello: ClientHello) -> str:
    """The JA4 fingerprint of a ClientHello seen over TCP."""
    ciphers = without_grease(hello.ciphers)
    extensions = without_grease(hello.extensions)
    sni = "d" if EXT_SERVER_NAME in extensions else "i"
    head = f"t{_version(hello)}{sni}{_count(ciphers)}{_count(extensions)}{alpn_chars(hello.alpn)}"
    return f"{head}_{_cipher_hash(ciphers)}_{_extension_hash(hello, extensions)}"


def alpn_chars(protocols: tuple[bytes, ...]) -> str:
    """First and last character of the first ALPN value; hex digits when not alphanumeric."""
    if not protocols or not protocols[0]:
        return "00"
    first = protocols[0]
    if _alnum(first[0]) and _alnum(first[-1]):
        return chr(first[0]) + chr(first[-1])
    text = first.hex()
    return text[0] + text[-1]


def _version(hello: ClientHello) -> str:
    return _VERSIONS.get(offered_version(hello), "00")


def _count(values: list[int]) -> str:
    return f"{min(len(values), 99):02d}"


def _cipher_hash(ciphers: list[int]) -> str:
    return _hash12(_hex_list(sorted(ciphers))) if ciphers else EMPTY_HASH


def _extension_hash(hello: ClientHello, extensions: list[int]) -> str:
    # SNI and ALPN are already in part a; leaving them out keeps part c stable per client.
    kept = sorted(e for e in extensions if e not in (EXT_SERVER_NAME, EXT_ALPN))
    if not kept:
        return EMPTY_HASH
    text = _hex_list(kept)
    algorithms = without_grease(hello.signature_algorithms)
    if algorithms:
        text += "_" + _hex_list(algorithms)  # in wire order, not sorted
    return _hash12(text)


def _hex_list(values: list[int]) -> str:
    return ",".join(f"{v:04x}" for v in values)


def _hash12(text: str) -> str:
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:12]


def _alnum(byte: int) -> bool:
    return 0x30 <= byte <= 0x39 or 0x41 <= byte <= 0x5A or 0x61 <= byte <= 0x7A
