"""The server side of SCRAM-SHA-256 (RFC 5802/7677) as PostgreSQL parses it (auth-scram.c).

The emulator never knows a password, so it never verifies a proof: it answers the
client-first-message with a real server-first-message (stable salt per user, 4096 iterations,
fresh nonce), reads the client-final-message and reports the authentication failure. The
salt, iteration count, AuthMessage and ClientProof it records are exactly what is needed to
test password guesses offline.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from dataclasses import dataclass

from infrastructure.emulators.postgres.wire import PgError

MECHANISM = "SCRAM-SHA-256"
ITERATIONS = 4096  # scram_iterations' default
KEY_LENGTH = 32
SALT_LENGTH = 16
_NONCE_BYTES = 18  # SCRAM_RAW_NONCE_LEN
_END = "\0"  # the C string's terminator: what the parser "finds" past the last character


@dataclass(frozen=True, slots=True)
class ClientFirst:
    """What the client-first-message carries."""

    cbind_flag: str
    bare: str  # client-first-message-bare, part of the AuthMessage
    username: str  # ignored by PostgreSQL (the startup packet's user counts)
    nonce: str


@dataclass(frozen=True, slots=True)
class ClientFinal:
    """What the client-final-message carries."""

    without_proof: str  # client-final-message-without-proof, part of the AuthMessage
    nonce: str
    proof: bytes


def new_server_nonce() -> str:
    """The server's share of the nonce: 18 random bytes, base64."""
    return base64.b64encode(secrets.token_bytes(_NONCE_BYTES)).decode()


def user_salt(decky: str, user: str) -> bytes:
    """A salt that stays the same for a user across connections, as a stored verifier's does."""
    material = f"{decky}\0{user}".encode("utf-8", "surrogateescape")
    return hashlib.sha256(material).digest()[:SALT_LENGTH]


def server_first(first: ClientFirst, salt: bytes, server_nonce: str) -> str:
    """The server-first-message: combined nonce, salt, iteration count."""
    return f"r={first.nonce}{server_nonce},s={base64.b64encode(salt).decode()},i={ITERATIONS}"


def parse_client_first(data: bytes) -> ClientFirst:
    """Parse a client-first-message; `PgError` with the server's own wording on bad input."""
    cursor = _Cursor(_checked(data))
    flag = cursor.peek()
    if flag in ("n", "y"):
        cursor.advance()
        if cursor.peek() != ",":
            site = "scram_comma_n" if flag == "n" else "scram_comma_y"
            raise _malformed(site, f'Comma expected, but found character "{_char(cursor.peek())}".')
        cursor.advance()
    elif flag == "p":
        raise _malformed(
            "scram_cbind_data",
            "The client selected SCRAM-SHA-256 without channel binding, but the SCRAM message "
            "includes channel binding data.",
        )
    else:
        raise _malformed("scram_cbind_flag", f'Unexpected channel-binding flag "{_char(flag)}".')
    if cursor.peek() == "a":
        message = "client uses authorization identity, but it is not supported"
        raise PgError("scram_authzid", "0A000", message)
    if cursor.peek() != ",":
        detail = f'Unexpected attribute "{_char(cursor.peek())}" in client-first-message.'
        raise _malformed("scram_unexpected_attr", detail)
    cursor.advance()
    bare = cursor.rest()
    if cursor.peek() == "m":
        raise PgError("scram_extension", "0A000", "client requires an unsupported SCRAM extension")
    username = cursor.attribute("n")
    nonce = cursor.attribute("r")
    if not all(0x21 <= ord(c) <= 0x7E and c != "," for c in nonce):
        raise PgError("scram_nonce_printable", "08P01", "non-printable characters in SCRAM nonce")
    while cursor.peek() != _END:
        cursor.any_attribute()
    return ClientFirst(flag, bare, username, nonce)


def parse_client_final(data: bytes, cbind_flag: str) -> ClientFinal:
    """Parse a client-final-message sent after a client-first with `cbind_flag`."""
    text = _checked(data)
    cursor = _Cursor(text)
    binding = cursor.attribute("c")
    if (binding, cbind_flag) not in {("biws", "n"), ("eSws", "y")}:
        message = "unexpected SCRAM channel-binding attribute in client-final-message"
        raise PgError("scram_final_cbind", "08P01", message)
    nonce = cursor.attribute("r")
    while True:
        proof_start = cursor.pos - 1  # the comma before the attribute
        name, value = cursor.any_attribute()
        if name == "p":
            break
    try:
        proof = base64.b64decode(value, validate=True)
    except binascii.Error:
        proof = b""
    if len(proof) != KEY_LENGTH:
        raise _malformed("scram_final_proof", "Malformed proof in client-final-message.")
    if cursor.peek() != _END:
        raise _malformed("scram_final_garbage", "Garbage found at the end of client-final-message.")
    return ClientFinal(text[:proof_start], nonce, proof)


def _checked(data: bytes) -> str:
    """The message as a string of bytes, after the server's length checks."""
    if not data:
        raise _malformed("scram_empty", "The message is empty.")
    if b"\0" in data:
        raise _malformed("scram_length", "Message length does not match input length.")
    return data.decode("latin-1")


def _malformed(site: str, detail: str) -> PgError:
    return PgError(site, "08P01", "malformed SCRAM message", detail)


def _char(c: str) -> str:
    """How the server quotes a character in its messages (sanitize_char)."""
    return f"'{c}'" if 0x21 <= ord(c) <= 0x7E else f"0x{ord(c):02x}"


class _Cursor:
    """A position in a message, parsed the way auth-scram.c walks its C string."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else _END

    def advance(self) -> None:
        self.pos += 1

    def rest(self) -> str:
        return self.text[self.pos :]

    def attribute(self, name: str) -> str:
        """The value of attribute `name`, which must come next (read_attr_value)."""
        if self.peek() != name:
            detail = f'Expected attribute "{name}" but found "{_char(self.peek())}".'
            raise _malformed("scram_attr", detail)
        self.advance()
        if self.peek() != "=":
            raise _malformed("scram_attr_eq", f'Expected character "=" for attribute "{name}".')
        self.advance()
        return self._value()

    def any_attribute(self) -> tuple[str, str]:
        """The next attribute, whatever its name (read_any_attr)."""
        name = self.peek()
        if name == _END:
            raise _malformed("scram_any_attr", "Attribute expected, but found end of string.")
        if not ("A" <= name <= "Z" or "a" <= name <= "z"):
            detail = f'Attribute expected, but found invalid character "{_char(name)}".'
            raise _malformed("scram_any_attr_char", detail)
        self.advance()
        if self.peek() != "=":
            raise _malformed("scram_any_attr_eq", f'Expected character "=" for attribute "{name}".')
        self.advance()
        return name, self._value()

    def _value(self) -> str:
        end = self.text.find(",", self.pos)
        end = len(self.text) if end < 0 else end
        value = self.text[self.pos : end]
        self.pos = min(end + 1, len(self.text))
        return value
