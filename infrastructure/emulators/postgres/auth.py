"""The authentication exchange after the startup packet: SCRAM-SHA-256 or a cleartext password.

Both always end the way a wrong password does on a real server ("password authentication
failed", SQLSTATE 28P01): the emulator has no database to let anyone into. Every attempt
becomes an `auth` record: with `password` when the client sent it in clear, with the SCRAM
exchange (salt, iterations, AuthMessage, ClientProof) otherwise.
"""

from __future__ import annotations

import base64

from infrastructure.emulators.postgres import scram
from infrastructure.emulators.postgres.session import PgSession
from infrastructure.emulators.postgres.wire import (
    AUTH_CLEARTEXT,
    AUTH_SASL_CONTINUE,
    MessageReader,
    PgError,
    Startup,
    auth_request,
    printable,
    sasl_request,
)
from infrastructure.emulators.shell.login import clip

# The AuthMessage is what offline guessing needs whole; a normal one is ~200 characters.
AUTH_MESSAGE_CAP = 2048
PASSWORD_MESSAGE = ord("p")  # PasswordMessage, SASLInitialResponse and SASLResponse share it


def auth_failed(startup: Startup) -> PgError:
    """The error a failed password or SCRAM login gets."""
    message = f'password authentication failed for user "{startup.user}"'
    return PgError("auth_failed", "28P01", message)


async def scram_exchange(session: PgSession, startup: Startup) -> None:
    """Offer SCRAM-SHA-256, play the exchange up to the client's proof, then fail it."""
    await session.conn.send(sasl_request([scram.MECHANISM]))
    body = await _sasl_message(session)
    if body is None:
        return
    reader = MessageReader(body)
    mechanism = reader.cstring()
    if mechanism != scram.MECHANISM.encode():
        chosen = clip(printable(_text(mechanism)))
        await _record(session, startup, "scram-sha-256", mechanism=chosen)
        message = "client selected an invalid SASL authentication mechanism"
        raise PgError("sasl_mechanism", "08P01", message)
    length = reader.int32()
    data = None if length == -1 else reader.take(length)
    reader.end()
    if data is None:  # no initial response: ask for the client-first-message on its own
        await session.conn.send(auth_request(AUTH_SASL_CONTINUE))
        data = await _sasl_message(session)
        if data is None:
            return
    first = scram.parse_client_first(data)
    salt = scram.user_salt(session.decky, startup.user)
    server_nonce = scram.new_server_nonce()
    server_first = scram.server_first(first, salt, server_nonce)
    await session.conn.send(auth_request(AUTH_SASL_CONTINUE, server_first.encode()))
    final_body = await _sasl_message(session)
    if final_body is None:
        return
    final = scram.parse_client_final(final_body, first.cbind_flag)
    auth_message = f"{first.bare},{server_first},{final.without_proof}"
    await _record(
        session,
        startup,
        "scram-sha-256",
        scram_salt=base64.b64encode(salt).decode(),
        scram_iterations=str(scram.ITERATIONS),
        scram_auth_message=printable(_text(auth_message.encode("latin-1")))[:AUTH_MESSAGE_CAP],
        scram_client_proof=base64.b64encode(final.proof).decode(),
    )
    if final.nonce != first.nonce + server_nonce:
        detail = "Nonce does not match."
        raise PgError("scram_nonce_mismatch", "08P01", "invalid SCRAM response", detail)
    raise auth_failed(startup)


async def cleartext_exchange(session: PgSession, startup: Startup) -> None:
    """Ask for the password in clear (pg_hba `password`), record it, fail the login."""
    await session.conn.send(auth_request(AUTH_CLEARTEXT))
    received = await session.read_message()
    if received is None:
        return
    kind, body = received
    if kind != PASSWORD_MESSAGE:
        message = f"expected password response, got message type {kind}"
        raise PgError("password_type", "08P01", message)
    if body.find(b"\0") != len(body) - 1:
        raise PgError("password_size", "08P01", "invalid password packet size")
    password = clip(printable(_text(body[:-1])))
    await _record(session, startup, "password", password=password)
    if password:  # an empty password makes the server hang up without a word
        raise auth_failed(startup)


async def _sasl_message(session: PgSession) -> bytes | None:
    received = await session.read_message()
    if received is None:
        return None
    kind, body = received
    if kind != PASSWORD_MESSAGE:
        raise PgError("sasl_type", "08P01", f"expected SASL response, got message type {kind}")
    return body


async def _record(session: PgSession, startup: Startup, method: str, **fields: str) -> None:
    username, database = clip(printable(startup.user)), clip(printable(startup.database))
    await session.conn.record(
        "auth",
        f"postgres login {username!r} to {database!r} ({method}): failure",
        username=username,
        database=database,
        auth_method=method,
        result="failure",
        **fields,
    )


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")
