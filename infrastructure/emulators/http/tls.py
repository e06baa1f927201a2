"""TLS for the https emulator: a cached self-signed certificate per decky, and TLS over a
`Connection` through memory BIOs.

Memory BIOs rather than `loop.start_tls`: a client's ClientHello can already sit in the stream
reader's buffer when the handler starts, and a transport handover would lose those bytes.
"""

from __future__ import annotations

import asyncio
import os
import re
import ssl
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from domain.observations.artifacts import safe_name
from infrastructure.runtime.session import Connection

CERT_DAYS = 3650  # what Debian's ssl-cert "snakeoil" certificate uses
HANDSHAKE_TIMEOUT_S = 10.0
_DNS_NAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9*]([A-Za-z0-9.-]*[A-Za-z0-9])?")
T = TypeVar("T")


def self_signed_pem(common_name: str) -> bytes:
    """A fresh RSA-2048 key and a self-signed certificate for `common_name`, as one PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=CERT_DAYS))
    )
    if _DNS_NAME.fullmatch(common_name):
        san = x509.SubjectAlternativeName([x509.DNSName(common_name)])
        builder = builder.add_extension(san, critical=False)
    cert = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return key_pem + cert.public_bytes(serialization.Encoding.PEM)


def cached_certificate(directory: Path, decky: str, common_name: str) -> Path:
    """The decky's key+certificate PEM for `common_name`, generated on first use and kept."""
    path = directory / safe_name(decky) / f"{safe_name(common_name)}.pem"
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    # The private key must never be world-readable, not even for an instant.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(self_signed_pem(common_name))
    os.replace(tmp, path)
    return path


class TlsContextProvider:
    """Builds the server context once per service instance (off the event loop)."""

    def __init__(
        self, directory: Path, decky: str, common_name: str, cert_file: str = "", key_file: str = ""
    ) -> None:
        self._directory = directory
        self._decky = decky
        self._common_name = common_name
        self._cert_file = cert_file
        self._key_file = key_file
        self._context: ssl.SSLContext | None = None
        self._lock = asyncio.Lock()

    async def context(self) -> ssl.SSLContext:
        """The server-side SSL context; OSError/ssl.SSLError if the configured files are bad."""
        async with self._lock:
            if self._context is None:
                self._context = await asyncio.to_thread(self._build)
            return self._context

    def _build(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if self._cert_file:
            context.load_cert_chain(self._cert_file, self._key_file or None)
        else:
            pem = cached_certificate(self._directory, self._decky, self._common_name)
            context.load_cert_chain(pem)
        context.set_alpn_protocols(["http/1.1"])  # we speak no HTTP/2
        return context


class TlsStream:
    """The server side of TLS over a `Connection`; `recv`/`send` carry plaintext."""

    def __init__(self, conn: Connection, context: ssl.SSLContext) -> None:
        self._conn = conn
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_side=True)

    @property
    def version(self) -> str:
        """The negotiated protocol version (e.g. TLSv1.3)."""
        return self._tls.version() or ""

    async def handshake(self) -> None:
        """Complete the handshake; `ssl.SSLError` for a non-TLS or failing client."""
        async with asyncio.timeout(HANDSHAKE_TIMEOUT_S):
            await self._drive(self._tls.do_handshake)

    async def recv(self, size: int = 4096) -> bytes:
        """Up to `size` plaintext bytes; b"" once the peer closed (cleanly or not)."""
        try:
            return await self._drive(lambda: self._tls.read(size))
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return b""

    async def send(self, data: bytes) -> None:
        """Encrypt and send all of `data`."""
        self._tls.write(data)
        await self._flush()

    async def _drive(self, operation: Callable[[], T]) -> T:
        while True:
            try:
                result = operation()
            except ssl.SSLWantReadError:
                await self._flush()
                data = await self._conn.recv()
                if data:
                    self._incoming.write(data)
                else:
                    self._incoming.write_eof()
                continue
            await self._flush()
            return result

    async def _flush(self) -> None:
        pending = self._outgoing.read()
        if pending:
            await self._conn.send(pending)
