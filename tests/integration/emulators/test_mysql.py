"""The MySQL emulator against the real `mysql` client and a raw HandshakeResponse41."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import anyio
import pytest
from anyio.abc import SocketStream

from domain.observations.bounty import derive_bounties
from tests.integration.emulators.web_fixtures import CLIENT_TIMEOUT_S, Deployed, deploy

pytestmark = pytest.mark.anyio

# PROTOCOL_41 | SECURE_CONNECTION | CONNECT_WITH_DB | PLUGIN_AUTH | CONNECT_ATTRS | LENENC data
CLIENT_CAPS = 0x200 | 0x8000 | 0x8 | 0x80000 | 0x100000 | 0x200000
ATTRS = {"_client_name": "mysql-connector-python", "_client_version": "8.3.0", "_os": "Linux"}


def lenenc(data: bytes) -> bytes:
    """A length-encoded string (short form: every test value is under 251 bytes)."""
    return bytes([len(data)]) + data


def login_packet(username: str, database: str = "mysql") -> bytes:
    """A HandshakeResponse41 as mysql-connector-python sends it, framed with sequence 1."""
    attrs = b"".join(lenenc(k.encode()) + lenenc(v.encode()) for k, v in ATTRS.items())
    payload = b"".join(
        [
            CLIENT_CAPS.to_bytes(4, "little"),
            (16 * 1024 * 1024).to_bytes(4, "little"),
            bytes([45]) + b"\x00" * 23,
            username.encode() + b"\x00",
            lenenc(os.urandom(20)),  # the scramble: useless without the server's salt
            database.encode() + b"\x00",
            b"mysql_native_password\x00",
            lenenc(attrs),
        ]
    )
    return len(payload).to_bytes(3, "little") + b"\x01" + payload


async def read_packet(stream: SocketStream) -> tuple[int, bytes]:
    """One server packet: (sequence id, payload)."""
    data = b""
    with anyio.fail_after(CLIENT_TIMEOUT_S):
        while len(data) < 4 or len(data) < 4 + int.from_bytes(data[:3], "little"):
            data += await stream.receive()
    return data[3], data[4 : 4 + int.from_bytes(data[:3], "little")]


async def handshake(env: Deployed, packet: bytes) -> tuple[bytes, int, bytes]:
    """Greeting payload, then the sequence id and payload answering `packet`."""
    with anyio.fail_after(CLIENT_TIMEOUT_S):
        stream = await anyio.connect_tcp(env.ip, env.ports["mysql"])
    _, greeting = await read_packet(stream)
    await stream.send(packet)
    sequence, answer = await read_packet(stream)
    await stream.aclose()
    return greeting, sequence, answer


async def test_login_is_recorded_with_client_attributes_and_denied(tmp_path: Path) -> None:
    """The greeting is protocol 10 without SSL; the login gets ERR 1045 and an auth record."""
    async with deploy(tmp_path, "127.82.5.1", ("mysql",)) as env:
        greeting, sequence, answer = await handshake(env, login_packet("root"))
        record = await env.wait_for("mysql", "auth", username="root")
    assert greeting[0] == 10
    assert greeting[1:].startswith(b"8.0.36-0ubuntu0.22.04.1\x00")
    assert greeting.endswith(b"caching_sha2_password\x00")
    lower_caps = greeting.index(b"\x00") + 1 + 4 + 8 + 1  # after version, id, salt, filler
    capabilities = int.from_bytes(greeting[lower_caps : lower_caps + 2], "little")
    assert capabilities & 0x200, "protocol 4.1 must be offered"
    assert not capabilities & 0x800, "SSL must not be offered"
    assert (sequence, answer[:3]) == (2, b"\xff" + (1045).to_bytes(2, "little"))
    assert answer[3:9] == b"#28000"
    assert b"Access denied for user 'root'@'127.0.0.1' (using password: YES)" in answer
    assert record.fields["client_name"] == "mysql-connector-python"
    assert (record.fields["database"], record.fields["auth_plugin"]) == (
        "mysql",
        "mysql_native_password",
    )
    assert "password" not in record.fields
    assert derive_bounties(record) == []


async def test_version_follows_the_distro(tmp_path: Path) -> None:
    """Off Ubuntu, MySQL comes from Oracle's repository: a plain version string."""
    async with deploy(tmp_path, "127.82.5.9", ("mysql",), distro="debian-12") as env:
        greeting, _, _ = await handshake(env, login_packet("root"))
    assert greeting[1:].startswith(b"8.0.36\x00")


async def test_configured_version_is_announced(tmp_path: Path) -> None:
    """`version` from the INI is the greeting's version; 5.x offers mysql_native_password."""
    config = {"mysql": {"version": "5.7.44-log"}}
    async with deploy(tmp_path, "127.82.5.2", ("mysql",), config) as env:
        greeting, _, _ = await handshake(env, login_packet("sa"))
    assert greeting[1:].startswith(b"5.7.44-log\x00")
    assert greeting.endswith(b"mysql_native_password\x00")


async def test_garbage_login_gets_bad_handshake(tmp_path: Path) -> None:
    """A truncated login packet is answered with ERR 1043 and recorded as bad_handshake."""
    async with deploy(tmp_path, "127.82.5.3", ("mysql",)) as env:
        _, sequence, answer = await handshake(env, b"\x03\x00\x00\x01\x85\xa2\x0f")
        await env.wait_for("mysql", "bad_handshake")
    assert (sequence, answer[:3]) == (2, b"\xff" + (1043).to_bytes(2, "little"))


@pytest.mark.skipif(shutil.which("mysql") is None, reason="no `mysql` client installed")
async def test_real_mysql_client_is_denied_and_recorded(tmp_path: Path) -> None:
    """The `mysql` CLI gets ERROR 1045; its username and client name are recorded."""
    async with deploy(tmp_path, "127.82.5.4", ("mysql",)) as env:
        command = ["mysql", "-h", env.ip, "-P", str(env.ports["mysql"]), "-u", "dbadmin"]
        command += ["-pWinter2024", "--connect-timeout=5", "-e", "select 1"]
        with anyio.fail_after(CLIENT_TIMEOUT_S):
            result = await anyio.run_process(command, check=False, stderr=subprocess.PIPE)
        record = await env.wait_for("mysql", "auth", username="dbadmin")
    assert result.returncode != 0
    assert b"ERROR 1045 (28000): Access denied for user 'dbadmin'" in result.stderr
    assert record.fields["client_name"] in {"libmariadb", "libmysql"}
