"""Independent references: the ClientHello decoded by scapy's TLS dissector, then the published
JA3 (Salesforce) and JA4 (FoxIO) definitions applied to it, for comparison with ours."""

from __future__ import annotations

import hashlib
from typing import Any

from scapy.layers.tls.record import TLS


def _grease(value: int) -> bool:
    return value in {0x0A0A + 0x1010 * i for i in range(16)}


def scapy_hello(record: bytes) -> Any:
    """scapy's TLSClientHello for a ClientHello record."""
    # scapy ships no type hints.
    return TLS(record).msg[0]  # type: ignore[no-untyped-call]


def _ext(hello: Any, name: str) -> Any:
    return next((e for e in hello.ext or [] if type(e).__name__ == name), None)


def reference_ja3(record: bytes) -> str:
    """JA3 = SSLVersion,Cipher,SSLExtension,EllipticCurve,EllipticCurvePointFormat."""
    hello = scapy_hello(record)
    groups = _ext(hello, "TLS_Ext_SupportedGroups")
    formats = _ext(hello, "TLS_Ext_SupportedPointFormat")
    parts = [
        [hello.version],
        [c for c in hello.ciphers if not _grease(c)],
        [e.type for e in hello.ext or [] if not _grease(e.type)],
        [g for g in (groups.groups if groups else []) if not _grease(g)],
        list(formats.ecpl) if formats else [],
    ]
    return ",".join("-".join(str(v) for v in part) for part in parts)


def reference_ja3_md5(record: bytes) -> str:
    return hashlib.md5(reference_ja3(record).encode(), usedforsecurity=False).hexdigest()


def reference_ja4(record: bytes) -> str:
    """JA4 per FoxIO's technical details, from scapy's decoding."""
    hello = scapy_hello(record)
    ciphers = [c for c in hello.ciphers if not _grease(c)]
    exts = [e.type for e in hello.ext or [] if not _grease(e.type)]
    versions = _ext(hello, "TLS_Ext_SupportedVersion_CH")
    offered = [v for v in (versions.versions if versions else []) if not _grease(v)]
    version = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10"}.get(
        max(offered) if offered else hello.version, "00"
    )
    alpn_ext = _ext(hello, "TLS_Ext_ALPN")
    first = bytes(alpn_ext.protocols[0].protocol) if alpn_ext else b""
    alpn = (chr(first[0]) + chr(first[-1])) if first else "00"
    sigs = _ext(hello, "TLS_Ext_SignatureAlgorithms")
    algs = [a for a in (sigs.sig_algs if sigs else []) if not _grease(a)]
    head = f"t{version}{'d' if 0 in exts else 'i'}{len(ciphers):02d}{len(exts):02d}{alpn}"
    b = _sha12(",".join(f"{c:04x}" for c in sorted(ciphers)))
    c_text = ",".join(f"{e:04x}" for e in sorted(e for e in exts if e not in (0, 16)))
    if algs:
        c_text += "_" + ",".join(f"{a:04x}" for a in algs)
    return f"{head}_{b}_{_sha12(c_text)}"


def _sha12(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]
