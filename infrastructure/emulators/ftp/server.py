"""FTP emulator (vsftpd look-alike): login capture, a fake tree, RETR logging, STOR capture.

Settings (`[decky.ftp]`): `banner` (the text after `220 `), `users` (`name:password,…`; a
password `*` accepts any, e.g. `anonymous:*`). Without `users` every login fails after a delay,
as a real server would after a wrong password. Only passive data connections (PASV/EPSV) exist:
PORT/EPRT are refused so an attacker can never make the honeypot connect out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from infrastructure.artifacts.store import ArtifactStore
from infrastructure.emulators.deps import EmulatorDeps
from infrastructure.emulators.ftp.files import FileCommands
from infrastructure.emulators.ftp.fs import FakeDir, lookup, resolve
from infrastructure.emulators.ftp.session import FtpSession
from infrastructure.emulators.streams import (
    LineTooLong,
    StreamBuffer,
    parse_users,
    password_matches,
)
from infrastructure.runtime.handlers import HandlerFactory, ServiceContext
from infrastructure.runtime.session import Connection

DEFAULT_BANNER = "(vsFTPd 3.0.5)"
FAIL_DELAY_S = 1.0  # vsftpd's delay_failed_login: slows brute force, looks real
MAX_LOGIN_FAILURES = 3  # vsftpd's max_login_fails: then the control connection closes
MAX_LINE = 1024
_PRE_LOGIN = frozenset({"USER", "PASS", "QUIT", "FEAT", "SYST", "NOOP", "OPTS"})
_FEATURES = " EPSV\r\n MDTM\r\n PASV\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n UTF8\r\n"
_STATIC = {
    "NOOP": "200 NOOP ok.",
    "SYST": "215 UNIX Type: L8",
    "FEAT": f"211-Features:\r\n{_FEATURES}211 End",
    "OPTS": "200 Always in UTF8 mode.",
    "MODE": "200 Mode set to S.",
    "STRU": "200 Structure set to F.",
    "ALLO": "202 ALLO command ignored.",
    "ABOR": "225 No transfer to ABOR.",
    "REST": "350 Restart position accepted (0).",
    "PORT": "500 Illegal PORT command.",  # no active mode: it would connect out
    "EPRT": "500 Illegal EPRT command.",
    "MKD": "550 Create directory operation failed.",
    "RMD": "550 Remove directory operation failed.",
    "DELE": "550 Delete operation failed.",
    "RNFR": "550 RNFR command failed.",
    "SITE": "500 Unknown SITE command.",
}

Command = Callable[[FtpSession, str], Awaitable[None]]


class FtpHandler:
    """Serves one FTP control connection."""

    def __init__(
        self, ctx: ServiceContext, artifacts: ArtifactStore, fail_delay: float = FAIL_DELAY_S
    ) -> None:
        self._fail_delay = fail_delay
        self._accounts = parse_users(ctx.config)
        banner = ctx.config.get("banner") or DEFAULT_BANNER
        self._greeting = banner if banner.startswith("220") else f"220 {banner}"
        files = FileCommands(ctx, artifacts)
        self._commands: dict[str, Command] = {
            "USER": self._user,
            "PASS": self._pass,
            "QUIT": self._quit,
            "PWD": self._pwd,
            "XPWD": self._pwd,
            "CWD": self._cwd,
            "XCWD": self._cwd,
            "CDUP": lambda session, _: self._cwd(session, ".."),
            "TYPE": self._type,
            "PASV": files.pasv,
            "EPSV": files.epsv,
            "LIST": lambda session, arg: files.listing(session, arg, long_format=True),
            "NLST": lambda session, arg: files.listing(session, arg, long_format=False),
            "RETR": files.retr,
            "SIZE": files.size,
            "MDTM": files.mdtm,
            "STOR": files.stor,
            "APPE": files.stor,
        }

    async def __call__(self, conn: Connection) -> None:
        """Greet, then answer commands until QUIT, EOF or too many failed logins."""
        session = FtpSession(conn)
        buffer = StreamBuffer(conn)
        await session.reply(self._greeting)
        try:
            while not session.closing:
                try:
                    line = await buffer.readline(MAX_LINE)
                except LineTooLong:
                    await session.reply("500 Input line too long.")
                    return
                if line is None:
                    return
                await self._handle(session, line.decode("utf-8", "replace").strip())
        finally:
            await session.close_passive()

    async def _handle(self, session: FtpSession, text: str) -> None:
        if not text:
            return
        verb, _, argument = text.partition(" ")
        verb = verb.upper()
        await session.conn.record("command", text, command=text)
        if session.user is None and verb not in _PRE_LOGIN:
            await session.reply("530 Please login with USER and PASS.")
        elif verb in self._commands:
            await self._commands[verb](session, argument.strip())
        else:
            await session.reply(_STATIC.get(verb, "500 Unknown command."))

    async def _user(self, session: FtpSession, argument: str) -> None:
        if session.user is not None:
            await session.reply("530 Can't change to another user.")
            return
        session.pending_user = argument
        await session.reply("331 Please specify the password.")

    async def _pass(self, session: FtpSession, password: str) -> None:
        username = session.pending_user
        if session.user is not None:
            await session.reply("230 Already logged in.")
            return
        if username is None:
            await session.reply("503 Login with USER first.")
            return
        accepted = password_matches(self._accounts, username, password)
        result = "success" if accepted else "failure"
        msg = f"login {username!r} {result}"
        fields = {"username": username, "password": password, "result": result}
        await session.conn.record("auth", msg, **fields)
        if accepted:
            session.user = username
            await session.reply("230 Login successful.")
            return
        session.pending_user = None
        session.failures += 1
        await asyncio.sleep(self._fail_delay)
        await session.reply("530 Login incorrect.")
        session.closing = session.failures >= MAX_LOGIN_FAILURES

    async def _quit(self, session: FtpSession, _: str) -> None:
        await session.reply("221 Goodbye.")
        session.closing = True

    async def _pwd(self, session: FtpSession, _: str) -> None:
        await session.reply(f'257 "{session.cwd}" is the current directory')

    async def _cwd(self, session: FtpSession, argument: str) -> None:
        path = resolve(session.cwd, argument)
        if isinstance(lookup(session.tree, path), FakeDir):
            session.cwd = path
            await session.reply("250 Directory successfully changed.")
        else:
            await session.reply("550 Failed to change directory.")

    async def _type(self, session: FtpSession, argument: str) -> None:
        modes = {"A": "200 Switching to ASCII mode.", "I": "200 Switching to Binary mode."}
        await session.reply(modes.get(argument[:1].upper(), "500 Unrecognised TYPE command."))


def handlers(deps: EmulatorDeps) -> dict[str, HandlerFactory]:
    """The FTP handler factory keyed by service name."""

    def factory(ctx: ServiceContext) -> FtpHandler:
        return FtpHandler(ctx, deps.artifacts)

    return {"ftp": factory}
