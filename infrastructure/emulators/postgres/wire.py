"""PostgreSQL frontend/backend protocol pieces: framing, the startup packet, server messages.

Byte layouts and checks follow the server (postmaster.c ProcessStartupPacket, pqformat.c), so a
client or scanner sees what a real backend sends, including which error each bad input gets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from infrastructure.emulators.postgres.builds import PostgresBuild

PROTOCOL_3_0 = 3 << 16
CANCEL_REQUEST = 80877102
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
MAX_STARTUP_PACKET = 10000  # MAX_STARTUP_PACKET_LENGTH
MAX_AUTH_MESSAGE = 65535  # PG_MAX_AUTH_TOKEN_LENGTH
NAMEDATALEN = 64
AUTH_CLEARTEXT = 3
AUTH_SASL = 10
AUTH_SASL_CONTINUE = 11
# Accepted spellings of the `replication` startup option (parse_bool, plus "database").
_BOOL_WORDS = ("true", "false", "yes", "no", "on", "off")


class PgError(Exception):
    """A FATAL error the server reports at `site` (see builds.SITES) and then disconnects."""

    def __init__(self, site: str, code: str, message: str, detail: str = "", hint: str = ""):
        super().__init__(message)
        self.site = site
        self.code = code
        self.message = message
        self.detail = detail
        self.hint = hint


def message(kind: bytes, body: bytes) -> bytes:
    """A typed backend message: kind byte, int32 length (counting itself), body."""
    return kind + (len(body) + 4).to_bytes(4, "big") + body


def error_response(build: PostgresBuild, error: PgError) -> bytes:
    """The ErrorResponse a protocol-3 client gets, with the build's file/line/function."""
    file, line, routine = build.location(error.site)
    fields = [("S", "FATAL"), ("V", "FATAL"), ("C", error.code), ("M", error.message)]
    fields += [(k, v) for k, v in (("D", error.detail), ("H", error.hint)) if v]
    fields += [("F", file), ("L", str(line)), ("R", routine)]
    body = b"".join(k.encode() + v.encode("utf-8", "surrogateescape") + b"\0" for k, v in fields)
    return message(b"E", body + b"\0")


def old_style_error(text: str) -> bytes:
    """How the server reports an error to a client that asked for protocol 1.x or 2.x."""
    return b"E" + f"FATAL:  {text}\n".encode() + b"\0"


def auth_request(code: int, data: bytes = b"") -> bytes:
    """An Authentication* message (R) with its request code."""
    return message(b"R", code.to_bytes(4, "big") + data)


def sasl_request(mechanisms: Iterable[str]) -> bytes:
    """AuthenticationSASL listing the mechanisms the server offers."""
    return auth_request(AUTH_SASL, b"".join(m.encode() + b"\0" for m in mechanisms) + b"\0")


def negotiate_protocol(unrecognized: Iterable[str]) -> bytes:
    """NegotiateProtocolVersion: the newest minor version supported, unrecognised options."""
    names = list(unrecognized)
    body = PROTOCOL_3_0.to_bytes(4, "big") + len(names).to_bytes(4, "big")
    listed = b"".join(n.encode("utf-8", "surrogateescape") + b"\0" for n in names)
    return message(b"v", body + listed)


def protocol_text(version: int) -> str:
    """`major.minor` of a protocol version number, as the server prints it."""
    return f"{version >> 16}.{version & 0xFFFF}"


@dataclass(frozen=True, slots=True)
class Startup:
    """A parsed StartupMessage: its protocol and options (names decoded losslessly)."""

    protocol: int
    options: dict[str, str] = field(default_factory=dict)
    unrecognized: tuple[str, ...] = ()  # `_pq_.*` protocol options the server does not know

    @property
    def user(self) -> str:
        """The role name, cut to NAMEDATALEN - 1 bytes like the server does."""
        return _truncate(self.options.get("user", ""))

    @property
    def database(self) -> str:
        """The database name; the user name when none was given."""
        return _truncate(self.options.get("database") or self.options.get("user", ""))


def parse_startup(protocol: int, payload: bytes) -> Startup:
    """Parse the option list after the protocol number; `PgError` as the server raises it."""
    options: dict[str, str] = {}
    unrecognized: list[str] = []
    offset = 0
    while offset < len(payload):
        name_end = payload.find(b"\0", offset)
        name_end = len(payload) if name_end < 0 else name_end
        if name_end == offset:
            break  # the terminator
        value_start = name_end + 1
        if value_start >= len(payload):
            break  # a name without value: the layout check below complains
        value_end = payload.find(b"\0", value_start)
        value_end = len(payload) if value_end < 0 else value_end
        name, value = _text(payload[offset:name_end]), _text(payload[value_start:value_end])
        if name == "replication":
            _check_replication(value)
        if name.startswith("_pq_."):
            unrecognized.append(name)
        else:
            options[name] = value
        offset = value_end + 1
    if offset != len(payload) - 1:
        detail = "invalid startup packet layout: expected terminator as last byte"
        raise PgError("bad_layout", "08P01", detail)
    if not options.get("user"):
        raise PgError("no_user", "28000", "no PostgreSQL user name specified in startup packet")
    return Startup(protocol, options, tuple(unrecognized))


def _check_replication(value: str) -> None:
    lowered = value.lower()
    if (
        value == "database"
        or lowered in {"0", "1"}
        or any(
            len(lowered) >= (2 if word.startswith("o") else 1) and word.startswith(lowered)
            for word in _BOOL_WORDS
        )
    ):
        return
    raise PgError(
        "bad_replication",
        "22023",
        f'invalid value for parameter "replication": "{value}"',
        hint='Valid values are: "false", 0, "true", 1, "database".',
    )


def _truncate(name: str) -> str:
    raw = name.encode("utf-8", "surrogateescape")[: NAMEDATALEN - 1]
    return raw.decode("utf-8", "surrogateescape")


def _text(raw: bytes) -> str:
    """Bytes as str without loss (invalid UTF-8 survives as surrogates, re-encodable)."""
    return raw.decode("utf-8", "surrogateescape")


def printable(text: str) -> str:
    """A recordable form of a client string: invalid bytes become U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


class MessageReader:
    """Reads fields off a message body the way pqformat.c does, with its errors."""

    def __init__(self, body: bytes) -> None:
        self._body = body
        self._pos = 0

    def cstring(self) -> bytes:
        """A NUL-terminated string (pq_getmsgrawstring)."""
        end = self._body.find(b"\0", self._pos)
        if end < 0:
            raise PgError("msg_string", "08P01", "invalid string in message")
        value = self._body[self._pos : end]
        self._pos = end + 1
        return value

    def int32(self) -> int:
        """A signed big-endian int32 (pq_getmsgint)."""
        if len(self._body) - self._pos < 4:
            raise PgError("msg_copy", "08P01", "insufficient data left in message")
        value = int.from_bytes(self._body[self._pos : self._pos + 4], "big", signed=True)
        self._pos += 4
        return value

    def take(self, size: int) -> bytes:
        """Exactly `size` bytes (pq_getmsgbytes)."""
        if size < 0 or size > len(self._body) - self._pos:
            raise PgError("msg_bytes", "08P01", "insufficient data left in message")
        value = self._body[self._pos : self._pos + size]
        self._pos += size
        return value

    def end(self) -> None:
        """Insist the whole body was consumed (pq_getmsgend)."""
        if self._pos != len(self._body):
            raise PgError("msg_end", "08P01", "invalid message format")
