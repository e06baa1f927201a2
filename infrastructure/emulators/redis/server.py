"""Redis emulator (RESP2, and RESP3 after HELLO 3): AUTH capture, a per-connection fake
keyspace, and the classic attacks answered plausibly.

Settings (`[decky.redis]`): `version` (INFO's redis_version), `password` (then every command but
AUTH/HELLO/QUIT answers `-NOAUTH` until authentication succeeds). Each command is recorded as
`redis_command`, each AUTH (or HELLO … AUTH) as `auth`. SLAVEOF/REPLICAOF say OK but never
connect anywhere; CONFIG SET changes nothing real; MODULE LOAD and EVAL fail plausibly.
"""

from __future__ import annotations

from infrastructure.emulators.deps import EmulatorDeps
from infrastructure.emulators.redis.commands import COMMANDS, OK, Args
from infrastructure.emulators.redis.data import (
    DEFAULT_VERSION,
    DISTRO_VERSIONS,
    InfoText,
    RedisSession,
    default_config,
    os_line,
)
from infrastructure.emulators.redis.resp import (
    RespError,
    bulk,
    bulks,
    command_text,
    error,
    integer,
    mapping,
    read_command,
)
from infrastructure.emulators.streams import LineTooLong, StreamBuffer
from infrastructure.runtime.handlers import HandlerFactory, ServiceContext
from infrastructure.runtime.session import Connection

_NOAUTH_EXEMPT = frozenset({"AUTH", "QUIT", "HELLO"})
_AUTH_UNCONFIGURED = (
    "ERR AUTH <password> called without any password configured for the default user."
    " Are you sure your configuration is correct?"
)
_WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
_HELLO_NOAUTH = (
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the"
    " HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and"
    " select the RESP protocol version at the same time"
)


class RedisHandler:
    """Serves one redis connection."""

    def __init__(self, ctx: ServiceContext) -> None:
        version = ctx.config.get("version") or DISTRO_VERSIONS.get(ctx.distro, DEFAULT_VERSION)
        self._version = version.removeprefix("redis_version:")
        self._password = ctx.config.get("password", "")
        self._info = InfoText(ctx.decky, self._version, os_line(ctx.distro))

    async def __call__(self, conn: Connection) -> None:
        """Answer commands (pipelined ones too) until QUIT or EOF."""
        session = RedisSession(
            conn, authenticated=not self._password, config=default_config(self._password)
        )
        buffer = StreamBuffer(conn)
        while not session.closing:
            try:
                args = await read_command(buffer)
            except (RespError, LineTooLong) as exc:
                await conn.send(error(f"ERR Protocol error: {exc}"))
                return
            if args is None:
                return
            if args:
                await conn.send(await self._execute(session, args))

    async def _execute(self, session: RedisSession, args: Args) -> bytes:
        name = args[0].decode("latin-1").upper()
        text = command_text(args)
        await session.conn.record("redis_command", text, command=text)
        if not session.authenticated and name not in _NOAUTH_EXEMPT:
            return error("NOAUTH Authentication required.")
        if name == "AUTH":
            return await self._auth(session, args[1:])
        if name == "HELLO":
            return await self._hello(session, args[1:])
        if name == "INFO":
            section = args[1].decode("latin-1") if len(args) > 1 else ""
            return bulk(self._info.render(session, section))
        entry = COMMANDS.get(name)
        if entry is None:
            shown = " ".join(f"'{a.decode('latin-1')[:64]}'" for a in args[1:4])
            first = args[0].decode("latin-1")[:64]
            return error(f"ERR unknown command '{first}', with args beginning with: {shown}")
        arity, command = entry
        if len(args) - 1 < arity:
            return error(f"ERR wrong number of arguments for '{name.lower()}' command")
        return command(session, args[1:])

    async def _auth(self, session: RedisSession, args: Args) -> bytes:
        if len(args) not in {1, 2}:
            return error("ERR wrong number of arguments for 'auth' command")
        username = args[0] if len(args) == 2 else b"default"
        return await self._authenticate(session, username, args[-1], legacy=len(args) == 1)

    async def _hello(self, session: RedisSession, args: Args) -> bytes:
        if args and args[0] not in {b"2", b"3"}:
            return error("NOPROTO unsupported protocol version")
        if len(args) >= 4 and args[1].upper() == b"AUTH":
            reply = await self._authenticate(session, args[2], args[3], legacy=False)
            if reply != OK:
                return reply
        elif not session.authenticated:
            return error(_HELLO_NOAUTH)
        if args:
            session.protocol = int(args[0])
        info = [("server", bulk("redis")), ("version", bulk(self._version))]
        info += [("proto", integer(session.protocol)), ("id", integer(7))]
        info += [("mode", bulk("standalone")), ("role", bulk("master")), ("modules", bulks([]))]
        return mapping(info, session.protocol)

    async def _authenticate(
        self, session: RedisSession, raw_user: bytes, raw_password: bytes, *, legacy: bool
    ) -> bytes:
        """Record the attempt; Redis 6+ semantics (without requirepass, `default` is nopass)."""
        username = raw_user.decode("utf-8", "replace")
        password = raw_password.decode("utf-8", "replace")
        unconfigured = legacy and not self._password
        right_password = not self._password or password == self._password
        accepted = not unconfigured and username == "default" and right_password
        result = "success" if accepted else "failure"
        fields = {"username": username, "password": password, "result": result}
        await session.conn.record("auth", f"AUTH {username!r} {result}", **fields)
        if unconfigured:
            return error(_AUTH_UNCONFIGURED)
        session.authenticated = session.authenticated or accepted
        return OK if accepted else error(_WRONGPASS)


def handlers(deps: EmulatorDeps) -> dict[str, HandlerFactory]:
    """The redis handler factory keyed by service name (it needs nothing from `deps`)."""
    return {"redis": RedisHandler}
