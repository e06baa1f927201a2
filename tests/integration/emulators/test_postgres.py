"""The PostgreSQL emulator against real clients (psycopg's libpq, `psql`) and raw probes.

Expected bytes were read off Debian 12's packaged PostgreSQL 15.20 answering the same input.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import shutil
import subprocess
from pathlib import Path

import anyio
import psycopg
import pytest

from domain.observations.bounty import derive_bounties
from tests.integration.emulators.web_fixtures import CLIENT_TIMEOUT_S, Deployed, deploy

pytestmark = pytest.mark.anyio

# nmap's SMBProgNeg probe: to a PostgreSQL server, protocol version 65363.19778.
SMB_PROG_NEG = b"\0\0\0\xa4\xff\x53\x4d\x42\x72\0\0\0\0\x08\x01\x40" + b"\0" * (0xA4 - 16)
SSL_REQUEST = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")


def unsupported_protocol(line: int) -> bytes:
    """The ErrorResponse a 15.x/14.x server sends to SMBProgNeg, with its source line."""
    body = (
        b"SFATAL\0VFATAL\0C0A000\0Munsupported frontend protocol 65363.19778: server supports "
        b"3.0 to 3.0\0Fpostmaster.c\0L" + str(line).encode() + b"\0RProcessStartupPacket\0\0"
    )
    return b"E" + (len(body) + 4).to_bytes(4, "big") + body


def startup(options: dict[str, str], protocol: int = 3 << 16) -> bytes:
    """A StartupMessage with `options`."""
    pairs = b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in options.items())
    body = protocol.to_bytes(4, "big") + pairs + b"\0"
    return (len(body) + 4).to_bytes(4, "big") + body


async def exchange(env: Deployed, *messages: bytes) -> bytes:
    """Send each message, then everything the server says until it closes (or goes quiet)."""
    answer = b""
    with anyio.fail_after(CLIENT_TIMEOUT_S):
        async with await anyio.connect_tcp(env.ip, env.ports["postgres"]) as stream:
            for message in messages:
                await stream.send(message)
            with anyio.move_on_after(1.0):
                try:
                    while True:
                        answer += await stream.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    pass
    return answer


def conninfo(env: Deployed, user: str, password: str) -> str:
    """A libpq connection string for the decky."""
    return (
        f"host={env.ip} port={env.ports['postgres']} user={user} password={password} "
        "dbname=billing application_name=pg_dump connect_timeout=5"
    )


def scram_proof(password: str, salt: bytes, iterations: int, auth_message: str) -> bytes:
    """RFC 5802's ClientProof: what a client holding `password` sends."""
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    signature = hmac.new(stored_key, auth_message.encode(), "sha256").digest()
    return bytes(a ^ b for a, b in zip(client_key, signature, strict=True))


@pytest.mark.parametrize(("distro", "line"), [("debian-12", 2220), ("ubuntu-22.04", 2138)])
async def test_nmap_probe_gets_the_builds_own_error(tmp_path: Path, distro: str, line: int) -> None:
    """SMBProgNeg is refused with the line of the distro's build (nmap reads the version)."""
    async with deploy(tmp_path, "127.82.7.1", ("postgres",), distro=distro) as env:
        answer = await exchange(env, SMB_PROG_NEG)
        record = await env.wait_for("postgres", "bad_startup")
    assert answer == unsupported_protocol(line)
    assert record.fields["reason"].startswith("unsupported frontend protocol 65363.19778")


async def test_ssl_is_declined_then_scram_is_offered(tmp_path: Path) -> None:
    """SSLRequest gets `N`; a StartupMessage then gets AuthenticationSASL for SCRAM-SHA-256."""
    async with deploy(tmp_path, "127.82.7.2", ("postgres",)) as env:
        answer = await exchange(env, SSL_REQUEST)
        answer += await exchange(env, startup({"user": "bob", "database": "shop"}))
        record = await env.wait_for("postgres", "startup", username="bob")
    assert answer == b"N" + b"R\0\0\0\x17\0\0\0\x0aSCRAM-SHA-256\0\0"
    assert record.fields["database"] == "shop"


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        (  # no user: SQLSTATE 28000 at the build's postmaster.c line
            [startup({"database": "x"})],
            b"C28000\0Mno PostgreSQL user name specified in startup packet\0Fpostmaster.c\0L2349",
        ),
        (  # protocol 2 clients get the old one-line error format
            [startup({"user": "bob"}, 2 << 16)],
            b"EFATAL:  unsupported frontend protocol 2.0: server supports 3.0 to 3.0\n\0",
        ),
        (  # a startup packet piggybacked on the SSLRequest could be a MITM injection
            [SSL_REQUEST + startup({"user": "bob"})],
            b"Mreceived unencrypted data after SSL request\0DThis could be either",
        ),
        ([b"\r\n\r\n"], b""),  # a length the server refuses: it hangs up without a word
    ],
)
async def test_bad_startup_packets_get_the_servers_answers(
    tmp_path: Path, messages: list[bytes], expected: bytes
) -> None:
    """Each malformed start gets what PostgreSQL 15.20 answers to it."""
    async with deploy(tmp_path, "127.82.7.3", ("postgres",), distro="debian-12") as env:
        answer = await exchange(env, *messages)
    if expected:
        assert expected in answer
    else:
        assert answer == b""


async def test_psycopg_scram_login_is_recorded_and_refused(tmp_path: Path) -> None:
    """libpq's SCRAM exchange fails like a wrong password; the record lets a guess be checked."""
    async with deploy(tmp_path, "127.82.7.4", ("postgres",)) as env:
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            await psycopg.AsyncConnection.connect(conninfo(env, "postgres", "Winter2024!"))
        attempt = await env.wait_for("postgres", "auth", username="postgres")
        opened = await env.wait_for("postgres", "startup", username="postgres")
    assert (opened.fields["database"], opened.fields["application_name"]) == ("billing", "pg_dump")
    fields = attempt.fields
    assert (fields["auth_method"], fields["result"]) == ("scram-sha-256", "failure")
    assert "password" not in fields
    assert derive_bounties(attempt) == []
    salt, iterations = base64.b64decode(fields["scram_salt"]), int(fields["scram_iterations"])
    proof = base64.b64decode(fields["scram_client_proof"])
    message = fields["scram_auth_message"]
    assert scram_proof("Winter2024!", salt, iterations, message) == proof
    assert scram_proof("winter2024!", salt, iterations, message) != proof


async def test_cleartext_auth_captures_the_password(tmp_path: Path) -> None:
    """With `auth = password` libpq sends the password itself: a credential bounty."""
    config = {"postgres": {"auth": "password"}}
    async with deploy(tmp_path, "127.82.7.5", ("postgres",), config) as env:
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            await psycopg.AsyncConnection.connect(conninfo(env, "dbadmin", "s3cr3t-Pass"))
        attempt = await env.wait_for("postgres", "auth", username="dbadmin")
    assert (attempt.fields["password"], attempt.fields["database"]) == ("s3cr3t-Pass", "billing")
    bounties = derive_bounties(attempt)
    assert [(b.bounty_type, b.payload) for b in bounties] == [
        ("credential", {"username": "dbadmin", "password": "s3cr3t-Pass"})
    ]


async def test_salt_is_stable_per_user(tmp_path: Path) -> None:
    """Two attempts for one user see one salt, as with a stored verifier; another user's differs."""
    async with deploy(tmp_path, "127.82.7.6", ("postgres",)) as env:
        for user in ("app", "app", "root"):
            with pytest.raises(psycopg.OperationalError):
                await psycopg.AsyncConnection.connect(conninfo(env, user, "x"))
        salts = [r.fields["scram_salt"] for r in env.records("postgres", "auth")]
    assert salts[0] == salts[1] != salts[2]


@pytest.mark.skipif(shutil.which("psql") is None, reason="no `psql` client installed")
async def test_real_psql_is_refused_and_recorded(tmp_path: Path) -> None:
    """`psql` prints the server's FATAL; its user, database and program name are recorded."""
    async with deploy(tmp_path, "127.82.7.7", ("postgres",)) as env:
        command = ["psql", "-h", env.ip, "-p", str(env.ports["postgres"]), "-U", "admin"]
        command += ["-d", "prod", "-c", "select 1"]
        environment = {**os.environ, "PGPASSWORD": "letmein", "PGCONNECT_TIMEOUT": "5"}
        with anyio.fail_after(CLIENT_TIMEOUT_S):
            result = await anyio.run_process(
                command, check=False, stderr=subprocess.PIPE, env=environment
            )
        attempt = await env.wait_for("postgres", "auth", username="admin")
        opened = await env.wait_for("postgres", "startup", username="admin")
    assert result.returncode != 0
    assert b'FATAL:  password authentication failed for user "admin"' in result.stderr
    assert attempt.fields["database"] == "prod"
    assert opened.fields["application_name"] == "psql"
