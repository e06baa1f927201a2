"""MySQL emulator: a real v10 handshake, the client's login captured, access always denied.

Settings (`[decky.mysql]`): `version` (the server version string). The password travels only
as a salted scramble, so the `auth` record carries the username (plus database, auth plugin
and the client's connection attributes such as `_client_name`), never a password.
"""

from __future__ import annotations

import json
import secrets

from domain.fleet.catalogue import SERVICES
from infrastructure.emulators.deps import EmulatorDeps
from infrastructure.emulators.mysql.wire import (
    LoginRequest,
    MalformedPacket,
    error_packet,
    handshake_v10,
    parse_login,
)
from infrastructure.emulators.streams import StreamBuffer
from infrastructure.runtime.handlers import HandlerFactory, ServiceContext
from infrastructure.runtime.session import Connection

MAX_PACKET = 64 * 1024  # a login packet with generous connection attributes fits easily
ATTRS_JSON_BUDGET = 4096
ER_ACCESS_DENIED = 1045
ER_HANDSHAKE = 1043  # "Bad handshake"
# Ubuntu's own packages tag the version; elsewhere MySQL comes from Oracle's repository.
ORACLE_BUILD = "8.0.36"
DISTRO_VERSIONS = {
    "ubuntu-22.04": SERVICES["mysql"].banner,  # 8.0.36-0ubuntu0.22.04.1
    "ubuntu-20.04": "8.0.36-0ubuntu0.20.04.1",
}


class MysqlHandler:
    """Serves one MySQL connection up to the (always failing) authentication."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._version = ctx.config.get("version") or DISTRO_VERSIONS.get(ctx.distro, ORACLE_BUILD)

    async def __call__(self, conn: Connection) -> None:
        """Greet, read the login packet, record it, deny."""
        # Connection ids grow on a real server; a random mid-range one looks lived-in.
        await conn.send(handshake_v10(self._version, 1000 + secrets.randbelow(90000)))
        buffer = StreamBuffer(conn)
        header = await buffer.read_exactly(4)
        if header is None:
            return
        length, sequence = int.from_bytes(header[:3], "little"), header[3]
        payload = await buffer.read_exactly(length) if length <= MAX_PACKET else None
        if payload is None:
            return
        try:
            login = parse_login(payload)
        except MalformedPacket as exc:
            await conn.record("bad_handshake", f"unparsable login packet: {exc}", reason=str(exc))
            await conn.send(error_packet(sequence + 1, ER_HANDSHAKE, "08S01", "Bad handshake"))
            return
        await self._deny(conn, sequence + 1, login)

    async def _deny(self, conn: Connection, sequence: int, login: LoginRequest) -> None:
        if login.ssl_requested:
            await conn.record("ssl_request", "client asked for TLS, which is not offered")
            await conn.send(error_packet(sequence, ER_HANDSHAKE, "08S01", "Bad handshake"))
            return
        await conn.record("auth", f"login {login.username!r} denied", **_fields(login))
        using = "YES" if login.has_password else "NO"
        message = (
            f"Access denied for user '{login.username}'@'{conn.peer_ip}' (using password: {using})"
        )
        await conn.send(error_packet(sequence, ER_ACCESS_DENIED, "28000", message))


def _fields(login: LoginRequest) -> dict[str, str]:
    fields = {
        "username": login.username,
        "result": "failure",
        "using_password": "yes" if login.has_password else "no",
    }
    optional = {
        "database": login.database,
        "auth_plugin": login.auth_plugin,
        "client_name": login.attributes.get("_client_name", ""),
        "client_version": login.attributes.get("_client_version", ""),
        "client_os": login.attributes.get("_os", ""),
        "program_name": login.attributes.get("program_name", ""),
    }
    fields.update({key: value for key, value in optional.items() if value})
    if login.attributes:
        fields["client_attrs"] = _budgeted_json(login.attributes)
    return fields


def _budgeted_json(attributes: dict[str, str]) -> str:
    """The attributes as a JSON object, dropping entries past the size budget (stays valid)."""
    kept: dict[str, str] = {}
    budget = ATTRS_JSON_BUDGET
    for key, value in attributes.items():
        budget -= len(key) + len(value)
        if budget < 0:
            break
        kept[key] = value
    return json.dumps(kept)


def handlers(deps: EmulatorDeps) -> dict[str, HandlerFactory]:
    """The MySQL handler factory keyed by service name (it needs nothing from `deps`)."""
    return {"mysql": MysqlHandler}
