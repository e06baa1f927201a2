"""SMTP emulator (Postfix look-alike): AUTH capture and an apparent open relay that keeps mail.

Settings (`[decky.smtp]`): `banner` (the text after `220 `), `users` (`name:password,…` that
AUTH accepts; none by default, so every AUTH fails after a delay). Mail is accepted without
AUTH, like a misconfigured relay: each message (up to `MESSAGE_CAP`) is stored as an artifact
under service `smtp` with a `file_captured` record. STARTTLS is refused.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio.to_thread

from infrastructure.artifacts.store import ArtifactStore
from infrastructure.artifacts.writer import QuotaExceeded
from infrastructure.emulators.deps import EmulatorDeps
from infrastructure.emulators.smtp.auth import AuthAborted, read_credentials
from infrastructure.emulators.smtp.message import MESSAGE_CAP, address_of, read_message
from infrastructure.emulators.streams import (
    LineTooLong,
    StreamBuffer,
    parse_users,
    password_matches,
)
from infrastructure.runtime.handlers import HandlerFactory, ServiceContext
from infrastructure.runtime.session import Connection

MAX_LINE = 4096
MAX_RECIPIENTS = 100
FAIL_DELAY_S = 1.0  # Postfix's smtpd_error_sleep_time: slows brute force
# Postfix's EHLO list without STARTTLS (TLS is refused anyway).
_EXTENSIONS = ["PIPELINING", "SIZE 10240000", "VRFY", "ETRN", "AUTH PLAIN LOGIN"]
_EXTENSIONS += ["AUTH=PLAIN LOGIN", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8"]
_STATIC = {
    "NOOP": "250 2.0.0 Ok",
    "STARTTLS": "454 4.7.0 TLS not available due to local problem",
    "EXPN": "502 5.5.2 Error: command not recognized",
}


@dataclass(slots=True)
class _Session:
    conn: Connection
    buffer: StreamBuffer
    helo: str | None = None
    user: str | None = None
    mail_from: str | None = None
    recipients: list[str] = field(default_factory=list)
    closing: bool = False

    async def reply(self, line: str) -> None:
        await self.conn.send(f"{line}\r\n".encode())

    def reset(self) -> None:
        self.mail_from = None
        self.recipients = []


Command = Callable[[_Session, str], Awaitable[None]]


def _postfix_banner(distro: str) -> str:
    """The rest of the distro's default `smtpd_banner` ($myhostname ESMTP $mail_name (...))."""
    family = distro.split("-", 1)[0]
    tags = {"ubuntu": " (Ubuntu)", "debian": " (Debian/GNU)"}
    return f"ESMTP Postfix{tags.get(family, '')}"


class SmtpHandler:
    """Serves one SMTP connection."""

    def __init__(
        self, ctx: ServiceContext, artifacts: ArtifactStore, fail_delay: float = FAIL_DELAY_S
    ) -> None:
        self._ctx = ctx
        self._artifacts = artifacts
        self._fail_delay = fail_delay
        self._accounts = parse_users(ctx.config)
        banner = ctx.config.get("banner") or f"{ctx.hostname} {_postfix_banner(ctx.distro)}"
        self._greeting = banner if banner.startswith("220") else f"220 {banner}"
        self._commands: dict[str, Command] = {
            "EHLO": self._ehlo,
            "HELO": self._helo,
            "AUTH": self._auth,
            "MAIL": self._mail,
            "RCPT": self._rcpt,
            "DATA": self._data,
            "RSET": self._rset,
            "VRFY": lambda s, arg: s.reply(f"252 2.0.0 {arg}"),
            "QUIT": self._quit,
        }

    async def __call__(self, conn: Connection) -> None:
        """Greet, then answer commands until QUIT or EOF."""
        session = _Session(conn, StreamBuffer(conn))
        await session.reply(self._greeting)
        try:
            while not session.closing:
                line = await session.buffer.readline(MAX_LINE)
                if line is None:
                    return
                await self._handle(session, line.decode("utf-8", "replace").strip())
        except LineTooLong:  # a command, AUTH answer or message line without end
            await session.reply("500 5.5.0 Error: line too long")

    async def _handle(self, session: _Session, text: str) -> None:
        if not text:
            await session.reply("500 5.5.2 Error: bad syntax")
            return
        verb, _, argument = text.partition(" ")
        verb = verb.upper()
        await session.conn.record("command", text, command=text)
        if verb in self._commands:
            await self._commands[verb](session, argument.strip())
        else:
            await session.reply(_STATIC.get(verb, "502 5.5.2 Error: command not recognized"))

    async def _ehlo(self, session: _Session, argument: str) -> None:
        if not argument:
            await session.reply("501 Syntax: EHLO hostname")
            return
        session.helo = argument
        session.reset()
        lines = [self._ctx.hostname, *_EXTENSIONS]
        body = "\r\n".join(f"250-{line}" for line in lines[:-1])
        await session.reply(f"{body}\r\n250 {lines[-1]}")

    async def _helo(self, session: _Session, argument: str) -> None:
        if not argument:
            await session.reply("501 Syntax: HELO hostname")
            return
        session.helo = argument
        session.reset()
        await session.reply(f"250 {self._ctx.hostname}")

    async def _auth(self, session: _Session, argument: str) -> None:
        mechanism, _, initial = argument.partition(" ")
        mechanism = mechanism.upper()
        if session.helo is None or session.user is not None:
            error = "send HELO/EHLO first" if session.helo is None else "already authenticated"
            await session.reply(f"503 5.5.1 Error: {error}")
            return
        if mechanism not in {"PLAIN", "LOGIN"}:
            await session.reply("535 5.7.8 Error: authentication failed: Invalid mechanism")
            return
        try:
            creds = await read_credentials(
                mechanism, initial.strip(), session.buffer, session.reply
            )
        except AuthAborted as aborted:
            if str(aborted):
                await session.reply(str(aborted))
            session.closing = not str(aborted)  # an empty reply means the peer hung up
            return
        accepted = password_matches(self._accounts, creds.username, creds.password)
        result = "success" if accepted else "failure"
        fields = {"username": creds.username, "password": creds.password, "result": result}
        msg = f"AUTH {mechanism} {creds.username!r} {result}"
        await session.conn.record("auth", msg, mechanism=mechanism, **fields)
        if accepted:
            session.user = creds.username
            await session.reply("235 2.7.0 Authentication successful")
            return
        await asyncio.sleep(self._fail_delay)
        await session.reply("535 5.7.8 Error: authentication failed: authentication failure")

    async def _mail(self, session: _Session, argument: str) -> None:
        if session.helo is None:
            await session.reply("503 5.5.1 Error: send HELO/EHLO first")
        elif session.mail_from is not None:
            await session.reply("503 5.5.1 Error: nested MAIL command")
        elif not argument.upper().startswith("FROM:"):
            await session.reply("501 5.5.4 Syntax: MAIL FROM:<address>")
        else:
            session.mail_from = address_of(argument[5:])
            await session.reply("250 2.1.0 Ok")

    async def _rcpt(self, session: _Session, argument: str) -> None:
        if session.mail_from is None:
            await session.reply("503 5.5.1 Error: need MAIL command")
        elif not argument.upper().startswith("TO:"):
            await session.reply("501 5.5.4 Syntax: RCPT TO:<address>")
        elif len(session.recipients) >= MAX_RECIPIENTS:
            await session.reply("452 4.5.3 Error: too many recipients")
        else:
            session.recipients.append(address_of(argument[3:]))
            await session.reply("250 2.1.5 Ok")

    async def _data(self, session: _Session, _: str) -> None:
        if not session.recipients:
            await session.reply("503 5.5.1 Error: need RCPT command")
            return
        await session.reply("354 End data with <CR><LF>.<CR><LF>")
        message, size = await read_message(session.buffer, MAX_LINE * 16)
        if message is None:
            session.closing = True
            return
        await self._store(session, message, size)
        session.reset()

    async def _store(self, session: _Session, message: bytes, size: int) -> None:
        queue_id = secrets.token_hex(5).upper()
        envelope = {"mail_from": session.mail_from or "", "rcpt_to": ",".join(session.recipients)}
        if size > MESSAGE_CAP:
            await session.conn.record("message_rejected", "message over cap", size=str(size))
            await session.reply("552 5.3.4 Error: message file too big")
            return
        try:
            captured = await anyio.to_thread.run_sync(
                self._artifacts.save, self._ctx.decky, self._ctx.service, f"{queue_id}.eml", message
            )
        except QuotaExceeded:
            await session.reply("452 4.3.1 Insufficient system storage")
            return
        msg = f"message {queue_id} from {envelope['mail_from']!r} ({size} bytes)"
        await session.conn.record("file_captured", msg, **captured.fields(), **envelope)
        await session.reply(f"250 2.0.0 Ok: queued as {queue_id}")

    async def _rset(self, session: _Session, _: str) -> None:
        session.reset()
        await session.reply("250 2.0.0 Ok")

    async def _quit(self, session: _Session, _: str) -> None:
        await session.reply("221 2.0.0 Bye")
        session.closing = True


def handlers(deps: EmulatorDeps) -> dict[str, HandlerFactory]:
    """The SMTP handler factory keyed by service name."""

    def factory(ctx: ServiceContext) -> SmtpHandler:
        return SmtpHandler(ctx, deps.artifacts)

    return {"smtp": factory}
