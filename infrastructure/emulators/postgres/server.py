"""PostgreSQL emulator: the startup phase and authentication of a real backend; no way in.

Answers SSLRequest with `N` (no TLS here) and GSSENCRequest with `G` as Debian/Ubuntu builds
do, parses the StartupMessage with the server's own checks and errors (file, line and function
of the decky's build: that is how nmap tells the version), then runs the authentication the
INI asks for and fails it. Settings (`[decky.postgres]`): `auth` — `scram-sha-256` (default,
as on PostgreSQL 14+) or `password` (pg_hba's cleartext method: the client sends the password
itself, which is recorded). Records: `startup` (user, database, application, options),
`auth` per attempt, `ssl_request`/`gssenc_request`/`cancel_request`/`bad_startup`.
"""

from __future__ import annotations

from infrastructure.emulators.deps import EmulatorDeps
from infrastructure.emulators.postgres.auth import (
    auth_failed,
    cleartext_exchange,
    scram_exchange,
)
from infrastructure.emulators.postgres.builds import build_for
from infrastructure.emulators.postgres.session import BadLength, PgSession, options_json
from infrastructure.emulators.postgres.wire import (
    CANCEL_REQUEST,
    GSSENC_REQUEST,
    PROTOCOL_3_0,
    SSL_REQUEST,
    PgError,
    Startup,
    negotiate_protocol,
    old_style_error,
    parse_startup,
    printable,
    protocol_text,
)
from infrastructure.emulators.shell.login import clip
from infrastructure.emulators.streams import StreamBuffer
from infrastructure.runtime.handlers import HandlerFactory, ServiceContext
from infrastructure.runtime.session import Connection

AUTH_METHODS = ("scram-sha-256", "password")
_UNENCRYPTED_DETAIL = (
    "This could be either a client-software bug or evidence of an attempted man-in-the-middle "
    "attack."
)


class PostgresHandler:
    """Serves one PostgreSQL connection up to the (always failing) authentication."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._decky = ctx.decky
        self._build = build_for(ctx.distro)
        method = ctx.config.get("auth", "").strip().lower()
        self._method = method if method in AUTH_METHODS else AUTH_METHODS[0]

    async def __call__(self, conn: Connection) -> None:
        """Negotiate, read the startup packet, authenticate, fail."""
        session = PgSession(conn, StreamBuffer(conn), self._build, self._decky)
        startup: Startup | None = None
        try:
            startup = await self._startup(session)
            if startup is None:
                return
            await _record_startup(conn, startup)
            if self._method == "password":
                await cleartext_exchange(session, startup)
            else:
                await scram_exchange(session, startup)
        except BadLength:
            if startup is not None:  # the server treats it as the client giving up: login fails
                await session.fail(auth_failed(startup))
        except PgError as error:
            await session.fail(error)

    async def _startup(self, session: PgSession) -> Startup | None:
        """Handle SSL/GSS/cancel requests, then parse the StartupMessage (ProcessStartupPacket)."""
        ssl_done = gss_done = False
        while (packet := await session.read_startup()) is not None:
            protocol, payload = packet
            if protocol == CANCEL_REQUEST:
                await session.note("cancel_request", "cancel request")
                return None
            if protocol == SSL_REQUEST and not ssl_done:
                ssl_done = True
                await session.note("ssl_request", "SSL requested; not offered")
                await session.conn.send(b"N")
                if session.buffer.pending:
                    message = "received unencrypted data after SSL request"
                    raise PgError("unencrypted_after_ssl", "08P01", message, _UNENCRYPTED_DETAIL)
                continue
            if protocol == GSSENC_REQUEST and not gss_done:
                # Accepted, as GSSAPI builds do; the client's token then fails to verify (no
                # keytab), which the server only logs before hanging up.
                await session.note("gssenc_request", "GSSAPI encryption requested")
                await session.conn.send(b"G")
                await session.read_gss_token()
                return None
            return await _parse(session, protocol, payload)
        return None


async def _parse(session: PgSession, protocol: int, payload: bytes) -> Startup | None:
    """Check the protocol version and options; negotiate down a newer minor version."""
    major = protocol >> 16
    if major != PROTOCOL_3_0 >> 16:
        text = (
            f"unsupported frontend protocol {protocol_text(protocol)}: "
            f"server supports 3.0 to {protocol_text(PROTOCOL_3_0)}"
        )
        await session.note("bad_startup", text, payload[:60])
        if major >= 3:
            raise PgError("unsupported_protocol", "0A000", text)
        await session.conn.send(old_style_error(text))  # all a 1.x/2.x client can read
        return None
    startup = parse_startup(protocol, payload)
    if protocol & 0xFFFF or startup.unrecognized:
        await session.conn.send(negotiate_protocol(startup.unrecognized))
    return startup


async def _record_startup(conn: Connection, startup: Startup) -> None:
    username, database = clip(printable(startup.user)), clip(printable(startup.database))
    extra = {k: v for k, v in startup.options.items() if k not in {"user", "database"}}
    fields = {"username": username, "database": database}
    if startup.options.get("application_name"):
        fields["application_name"] = clip(printable(startup.options["application_name"]))
    if extra:
        fields["options"] = options_json(extra)
    summary = f"postgres startup: user {username!r} database {database!r}"
    await conn.record("startup", summary, **fields)


def handlers(deps: EmulatorDeps) -> dict[str, HandlerFactory]:
    """Registry entry: the PostgreSQL handler factory (it needs nothing from `deps`)."""
    return {"postgres": PostgresHandler}
