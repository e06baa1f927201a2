"""JA3 (Salesforce, 2017): `version,ciphers,extensions,groups,point_formats`, then its MD5."""

from __future__ import annotations

import hashlib

from infrastructure.sniffer.tls_hello import ClientHello, without_grease


def ja3_string(hello: ClientHello) -> str:
    """Decimal values, `-` within a field, `,` between fields; GREASE left out (RFC 8701)."""
    fields = (
        [hello.version],
        without_grease(hello.ciphers),
        without_grease(hello.extensions),
        without_grease(hello.groups),
        list(hello.point_formats),
    )
    return ",".join("-".join(str(v) for v in values) for values in fields)


def ja3_hash(ja3: str) -> str:
    """The MD5 hex digest everyone shares JA3 fingerprints as."""
    # MD5 is the algorithm's definition here, not a security control.
    return hashlib.md5(ja3.encode("ascii"), usedforsecurity=False).hexdigest()
