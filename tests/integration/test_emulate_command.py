"""`decnet emulate SERVICE` as a process: it serves the emulator and ships records over TCP.

What the Docker runtime runs in each service container, started here on loopback with the
environment the runtime would set (the live Docker suite runs it in real containers).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.api.harness import DECNET_BIN
from tests.fakes import SyslogTcpCollector

pytestmark = pytest.mark.anyio


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def collector() -> AsyncIterator[SyslogTcpCollector]:
    collector = SyslogTcpCollector()
    await collector.start()
    yield collector
    await collector.stop()


def emulate(
    service: str, port: int, target: str, data: Path, **extra: str
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECNET_")}
    env.update(
        DECNET_DECKY="web-07",
        DECNET_HOSTNAME="web-07.corp",
        DECNET_DISTRO="debian",
        DECNET_SERVICE_CONFIG='{"server": "Apache/2.4.62 (Debian)"}',
        DECNET_SYSLOG_TARGET=target,
        DECNET_DATA_DIR=str(data),
        DECNET_EMULATE_HOST="127.0.0.1",
        DECNET_EMULATE_PORT=str(port),
        **extra,
    )
    return subprocess.Popen(
        [str(DECNET_BIN), "emulate", service],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


async def http_get(port: int, path: str) -> bytes:
    for _ in range(200):  # the process needs a moment to bind
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            break
        except ConnectionRefusedError:
            await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"nothing listens on {port}")
    writer.write(f"GET {path} HTTP/1.1\r\nHost: web-07\r\nUser-Agent: probe/1\r\n\r\n".encode())
    await writer.drain()
    body = await reader.read()
    writer.close()
    return body


async def test_emulate_serves_and_ships_records(
    collector: SyslogTcpCollector, tmp_path: Path
) -> None:
    """Given `decnet emulate http`, an HTTP request yields records at the syslog target."""
    port = free_tcp_port()
    proc = emulate("http", port, collector.target, tmp_path)
    try:
        reply = await http_get(port, "/admin/login.php")
        assert reply.startswith(b"HTTP/1.1 ")
        records = await collector.wait_for_count(3, timeout=15)
        request = next(r for r in records if r.event_type == "request")
        assert request.decky == "web-07"
        assert request.service == "http"
        assert request.attacker_ip == "127.0.0.1"
        assert "/admin/login.php" in request.msg + str(request.fields)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0, out.decode()
    assert b"emulator_stopped" in out
    # The spool sits on the artifacts volume, in a directory /artifacts never serves.
    assert (tmp_path / "artifacts" / ".spool" / "web-07" / "http" / "cursor").is_file()


async def test_emulate_refuses_a_bad_target(tmp_path: Path) -> None:
    """Given a UDP target, the command exits 2 with the variable named."""
    proc = emulate("http", free_tcp_port(), "udp://127.0.0.1:514", tmp_path)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert b"DECNET_SYSLOG_TARGET" in out
