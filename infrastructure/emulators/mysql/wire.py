"""MySQL client/server protocol pieces: the v10 handshake, HandshakeResponse41, ERR packets."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field

CLIENT_CONNECT_WITH_DB = 0x8
CLIENT_PROTOCOL_41 = 0x200
CLIENT_SSL = 0x800
CLIENT_SECURE_CONNECTION = 0x8000
CLIENT_PLUGIN_AUTH = 0x80000
CLIENT_CONNECT_ATTRS = 0x100000
CLIENT_PLUGIN_AUTH_LENENC = 0x200000
# Everything a MySQL 5.7/8.0 server offers up to DEPRECATE_EOF, minus COMPRESS (0x20) and
# SSL: without SSL advertised, clients send their credentials packet in the clear to us.
SERVER_CAPABILITIES = 0x01FFFFFF & ~(0x20 | CLIENT_SSL)
_SALT_CHARS = (string.ascii_letters + string.digits + "!#$%&()*+,-./:;<=>?@[]^_{|}~").encode()


class MalformedPacket(Exception):
    """The client's bytes do not form the packet the protocol expects at this point."""


def packet(sequence: int, payload: bytes) -> bytes:
    """Frame a payload: 3-byte little-endian length, sequence id."""
    return len(payload).to_bytes(3, "little") + bytes([sequence & 0xFF]) + payload


def handshake_v10(version: str, connection_id: int) -> bytes:
    """The server greeting; 8.x offers caching_sha2_password like the real server does."""
    salt = bytes(secrets.choice(_SALT_CHARS) for _ in range(20))
    plugin = "caching_sha2_password" if version.startswith("8") else "mysql_native_password"
    charset = 0xFF if version.startswith("8") else 0x21  # utf8mb4_0900_ai_ci / utf8_general_ci
    caps = SERVER_CAPABILITIES
    payload = b"".join(
        [
            b"\x0a",
            version.encode() + b"\x00",
            connection_id.to_bytes(4, "little"),
            salt[:8] + b"\x00",
            (caps & 0xFFFF).to_bytes(2, "little"),
            bytes([charset]),
            (0x0002).to_bytes(2, "little"),  # SERVER_STATUS_AUTOCOMMIT
            (caps >> 16).to_bytes(2, "little"),
            bytes([21]),
            b"\x00" * 10,
            salt[8:] + b"\x00",
            plugin.encode() + b"\x00",
        ]
    )
    return packet(0, payload)


def error_packet(sequence: int, code: int, sql_state: str, message: str) -> bytes:
    """An ERR packet (protocol 4.1 form, with SQL state)."""
    payload = b"\xff" + code.to_bytes(2, "little") + b"#" + sql_state.encode() + message.encode()
    return packet(sequence, payload)


@dataclass(frozen=True, slots=True)
class LoginRequest:
    """What a HandshakeResponse carries that is worth recording (the scramble is not)."""

    username: str
    database: str = ""
    auth_plugin: str = ""
    has_password: bool = False
    attributes: dict[str, str] = field(default_factory=dict)
    ssl_requested: bool = False


class _Reader:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def take(self, size: int) -> bytes:
        if self._pos + size > len(self._data):
            raise MalformedPacket("truncated packet")
        chunk = self._data[self._pos : self._pos + size]
        self._pos += size
        return chunk

    def int_le(self, size: int) -> int:
        return int.from_bytes(self.take(size), "little")

    def lenenc_int(self) -> int:
        first = self.int_le(1)
        widths = {0xFC: 2, 0xFD: 3, 0xFE: 8}
        return self.int_le(widths[first]) if first in widths else first

    def lenenc_bytes(self) -> bytes:
        return self.take(self.lenenc_int())

    def null_terminated(self) -> bytes:
        end = self._data.find(b"\x00", self._pos)
        if end < 0:
            end = len(self._data)  # some clients omit the final NUL
        chunk = self._data[self._pos : end]
        self._pos = end + 1
        return chunk

    @property
    def remaining(self) -> int:
        return max(0, len(self._data) - self._pos)


def parse_login(payload: bytes) -> LoginRequest:
    """Parse HandshakeResponse41 (or the 3.20 form); `MalformedPacket` on garbage."""
    reader = _Reader(payload)
    caps = reader.int_le(2)
    if not caps & CLIENT_PROTOCOL_41:
        reader.take(3)  # max packet size of the pre-4.1 form
        return LoginRequest(_text(reader.null_terminated()))
    caps |= reader.int_le(2) << 16
    reader.take(4 + 1 + 23)  # max packet, charset, filler
    if caps & CLIENT_SSL and reader.remaining == 0:
        return LoginRequest("", ssl_requested=True)
    username = _text(reader.null_terminated())
    if caps & CLIENT_PLUGIN_AUTH_LENENC:
        auth = reader.lenenc_bytes()
    elif caps & CLIENT_SECURE_CONNECTION:
        auth = reader.take(reader.int_le(1))
    else:
        auth = reader.null_terminated()
    database = _text(reader.null_terminated()) if caps & CLIENT_CONNECT_WITH_DB else ""
    plugin = _text(reader.null_terminated()) if caps & CLIENT_PLUGIN_AUTH else ""
    attributes = _attributes(reader) if caps & CLIENT_CONNECT_ATTRS and reader.remaining else {}
    return LoginRequest(username, database, plugin, bool(auth), attributes)


def _attributes(reader: _Reader) -> dict[str, str]:
    block = _Reader(reader.lenenc_bytes())
    attributes: dict[str, str] = {}
    while block.remaining:
        key = _text(block.lenenc_bytes())
        attributes[key] = _text(block.lenenc_bytes())
    return attributes


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")
