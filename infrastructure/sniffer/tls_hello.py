"""TLS ClientHello decoding from the first bytes a client sends (RFC 8446 §4.1.2)."""

from __future__ import annotations

from dataclasses import dataclass

HANDSHAKE_RECORD = 0x16
CLIENT_HELLO = 0x01
EXT_SERVER_NAME = 0x0000
EXT_SUPPORTED_GROUPS = 0x000A
EXT_EC_POINT_FORMATS = 0x000B
EXT_SIGNATURE_ALGORITHMS = 0x000D
EXT_ALPN = 0x0010
EXT_SUPPORTED_VERSIONS = 0x002B
MAX_RECORD = 2**14 + 2048  # RFC 8446 allows a little expansion over 2^14
MAX_HELLO = 2**16  # no real ClientHello comes close; bounds what one flow may buffer
_VERSION_NAMES = {
    0x0304: "TLSv1.3",
    0x0303: "TLSv1.2",
    0x0302: "TLSv1.1",
    0x0301: "TLSv1.0",
    0x0300: "SSLv3",
}


class NotClientHelloError(ValueError):
    """The bytes are not (or stop being) a TLS ClientHello."""


@dataclass(frozen=True, slots=True)
class ClientHello:
    """The parts of a ClientHello that fingerprints use, in wire order, GREASE included."""

    version: int
    ciphers: tuple[int, ...]
    extensions: tuple[int, ...]
    sni: str | None = None
    alpn: tuple[bytes, ...] = ()
    groups: tuple[int, ...] = ()
    point_formats: tuple[int, ...] = ()
    signature_algorithms: tuple[int, ...] = ()
    supported_versions: tuple[int, ...] = ()


def is_grease(value: int) -> bool:
    """RFC 8701 GREASE values: 0x0a0a, 0x1a1a, ... 0xfafa."""
    return value & 0x0F0F == 0x0A0A and value >> 8 == value & 0xFF


def without_grease(values: tuple[int, ...]) -> list[int]:
    """The values minus GREASE, order kept."""
    return [v for v in values if not is_grease(v)]


def offered_version(hello: ClientHello) -> int:
    """The highest version the client offers: supported_versions when sent (TLS 1.3 clients)."""
    offered = without_grease(hello.supported_versions)
    return max(offered) if offered else hello.version


def version_name(version: int) -> str:
    """`TLSv1.3`-style name, or the hex value of an unknown version."""
    return _VERSION_NAMES.get(version, f"0x{version:04x}")


def looks_like_hello_start(payload: bytes) -> bool:
    """A segment that opens a ClientHello: record header, and the message type if present."""
    return len(payload) >= 3 and _plausible_start(payload)


def hello_body(stream: bytes) -> bytes | None:
    """The ClientHello message body once the stream holds all of it; None while incomplete.

    Raises NotClientHello as soon as the stream cannot be one. The message may span several
    handshake records (rare, but legal), so records are unwrapped until it is whole.
    """
    if not _plausible_start(stream):
        raise NotClientHelloError("not a TLS ClientHello record")
    handshake = bytearray()
    pos = 0
    while pos + 5 <= len(stream):
        if stream[pos] != HANDSHAKE_RECORD or stream[pos + 1] != 3:
            raise NotClientHelloError("not a TLS handshake record")
        length = int.from_bytes(stream[pos + 3 : pos + 5], "big")
        if length == 0 or length > MAX_RECORD:
            raise NotClientHelloError(f"record length {length}")
        if pos + 5 + length > len(stream):
            break
        handshake += stream[pos + 5 : pos + 5 + length]
        pos += 5 + length
        if handshake[0] != CLIENT_HELLO:
            raise NotClientHelloError("first handshake message is not a ClientHello")
        if len(handshake) >= 4:
            size = int.from_bytes(handshake[1:4], "big")
            if size > MAX_HELLO:
                raise NotClientHelloError(f"ClientHello of {size} bytes")
            if len(handshake) >= 4 + size:
                return bytes(handshake[4 : 4 + size])
    return None


def _plausible_start(stream: bytes) -> bool:
    """The bytes seen so far agree with a ClientHello record header (checks what is there)."""
    expected = {0: HANDSHAKE_RECORD, 1: 3, 5: CLIENT_HELLO}
    return all(stream[i] == value for i, value in expected.items() if i < len(stream))


def parse_client_hello(body: bytes) -> ClientHello:
    """Decode a ClientHello message body; raises NotClientHello when malformed."""
    r = _Reader(body)
    version = r.u16()
    r.take(32)  # random
    r.vector(1)  # legacy session id
    ciphers = _u16_list(r.vector(2))
    r.vector(1)  # compression methods
    if r.done():  # extensions are optional before TLS 1.2
        return ClientHello(version, ciphers, ())
    exts = _Reader(r.vector(2))
    types: list[int] = []
    values: dict[int, bytes] = {}
    while not exts.done():
        ext_type, data = exts.u16(), exts.vector(2)
        types.append(ext_type)
        values.setdefault(ext_type, data)
    return _with_extensions(version, ciphers, tuple(types), values)


def _with_extensions(
    version: int, ciphers: tuple[int, ...], types: tuple[int, ...], values: dict[int, bytes]
) -> ClientHello:
    def field(ext: int, width: int) -> bytes:
        # A malformed extension body leaves that value empty: the rest of an odd client's
        # hello is still worth fingerprinting, and JA3/JA4 rest mostly on the type list.
        try:
            return _Reader(values[ext]).vector(width) if ext in values else b""
        except NotClientHelloError:
            return b""

    return ClientHello(
        version=version,
        ciphers=ciphers,
        extensions=types,
        sni=_server_name(field(EXT_SERVER_NAME, 2)),
        alpn=_alpn(field(EXT_ALPN, 2)),
        groups=_u16_list(field(EXT_SUPPORTED_GROUPS, 2), strict=False),
        point_formats=tuple(field(EXT_EC_POINT_FORMATS, 1)),
        signature_algorithms=_u16_list(field(EXT_SIGNATURE_ALGORITHMS, 2), strict=False),
        supported_versions=_u16_list(field(EXT_SUPPORTED_VERSIONS, 1), strict=False),
    )


def _server_name(names: bytes) -> str | None:
    r = _Reader(names)
    try:
        while not r.done():
            name_type, name = r.u8(), r.vector(2)
            if name_type == 0:  # host_name
                return name.decode("ascii", errors="backslashreplace")
    except NotClientHelloError:
        pass
    return None


def _alpn(data: bytes) -> tuple[bytes, ...]:
    r = _Reader(data)
    protocols: list[bytes] = []
    try:
        while not r.done():
            protocols.append(r.vector(1))
    except NotClientHelloError:
        pass  # keep the protocols read before the damage
    return tuple(protocols)


def _u16_list(data: bytes, strict: bool = True) -> tuple[int, ...]:
    if len(data) % 2 and strict:
        raise NotClientHelloError("odd-length list of 16-bit values")
    return tuple(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data) - 1, 2))


class _Reader:
    """A bounds-checked cursor: every overrun is a NotClientHello, never an IndexError."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def done(self) -> bool:
        return self._pos >= len(self._data)

    def take(self, n: int) -> bytes:
        if self._pos + n > len(self._data):
            raise NotClientHelloError("truncated ClientHello")
        chunk = self._data[self._pos : self._pos + n]
        self._pos += n
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def vector(self, length_bytes: int) -> bytes:
        return self.take(int.from_bytes(self.take(length_bytes), "big"))
