"""SMTP AUTH PLAIN / LOGIN exchanges (RFC 4954): just enough to recover what the client sent."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from infrastructure.emulators.streams import StreamBuffer

MAX_AUTH_LINE = 2048
_FIRST_PROMPT = "334 VXNlcm5hbWU6"  # base64("Username:")
_SECOND_PROMPT = "334 UGFzc3dvcmQ6"  # base64("Password:")

Reply = Callable[[str], Awaitable[None]]


class AuthAborted(Exception):
    """The client cancelled (`*`), sent undecodable data, or hung up; the text is the reply."""


@dataclass(frozen=True, slots=True)
class SaslCredentials:
    """What one AUTH exchange carried."""

    username: str
    password: str
    mechanism: str


async def read_credentials(
    mechanism: str, initial: str, buffer: StreamBuffer, reply: Reply
) -> SaslCredentials:
    """Run the exchange for PLAIN or LOGIN; `AuthAborted` carries the reply on failure."""
    if mechanism == "PLAIN":
        response = initial or await _prompt(buffer, reply, "334 ")
        parts = _decode(response).split("\x00")
        if len(parts) != 3:
            raise AuthAborted("535 5.7.8 Error: authentication failed: Invalid authentication data")
        return SaslCredentials(parts[1], parts[2], mechanism)
    username = _decode(initial or await _prompt(buffer, reply, _FIRST_PROMPT))
    password = _decode(await _prompt(buffer, reply, _SECOND_PROMPT))
    return SaslCredentials(username, password, mechanism)


async def _prompt(buffer: StreamBuffer, reply: Reply, prompt: str) -> str:
    await reply(prompt)
    line = await buffer.readline(MAX_AUTH_LINE)
    if line is None:
        raise AuthAborted("")
    text = line.decode("latin-1").strip()
    if text == "*":
        raise AuthAborted("501 5.7.0 Authentication aborted")
    return text


def _decode(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError) as exc:
        raise AuthAborted("501 5.5.2 Cannot decode response") from exc
