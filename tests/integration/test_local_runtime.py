"""Local-runtime behaviours on real loopback sockets: mutation, address checks, limits, hooks."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import replace

import anyio
import pytest
from anyio.abc import SocketStream

from domain.observations.records import InteractionRecord
from infrastructure.runtime.handlers import ServiceContext, ServiceHandler
from infrastructure.runtime.local import LocalRuntime, LocalRuntimeOptions
from infrastructure.runtime.session import Connection
from tests.contract.conftest import make_spec
from tests.fakes import MemorySink

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """The runtime is asyncio code."""
    return "asyncio"


@pytest.fixture
def sink() -> MemorySink:
    """A fresh in-memory record sink."""
    return MemorySink()


@pytest.fixture
async def runtime(sink: MemorySink) -> AsyncIterator[LocalRuntime]:
    """A local runtime with a short idle timeout."""
    local = LocalRuntime(sink, LocalRuntimeOptions(idle_timeout=0.5, max_connections=2))
    yield local
    await local.close()


async def receive_or_eof(stream: SocketStream, timeout: float = 3.0) -> bytes:
    """Next chunk from the stream, or b"" once the peer closed it."""
    with anyio.fail_after(timeout):
        try:
            return await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            return b""


async def trickle(stream: SocketStream, data: bytes, delay: float) -> bool:
    """Send one byte per `delay`; True when the server hangs up before the end."""
    try:
        for byte in data:
            await stream.send(bytes([byte]))
            await anyio.sleep(delay)
    except (anyio.BrokenResourceError, OSError):
        return True
    return False


async def test_mutation_closes_connections_of_removed_services(
    runtime: LocalRuntime, sink: MemorySink
) -> None:
    """Dropping a service closes its open connections; a kept service's stay usable."""
    spec = make_spec("mut-1", "127.77.2.1", ("ssh", "http"))
    report = await runtime.apply(spec)
    ssh = await anyio.connect_tcp(spec.ip, report.ports["ssh"])
    http = await anyio.connect_tcp(spec.ip, report.ports["http"])
    assert (await receive_or_eof(ssh)).startswith(b"SSH-2.0-")
    await runtime.apply(replace(spec, services=("http", "ftp")))
    assert await receive_or_eof(ssh) == b""
    await http.send(b"GET / HTTP/1.1\r\n\r\n")
    assert (await receive_or_eof(http)).startswith(b"HTTP/1.1 200")
    closed = await sink.wait_for_event(spec.name, "ssh", "disconnect")
    assert closed.fields["reason"] == "listener_stopped"
    await ssh.aclose()
    await http.aclose()


@pytest.mark.parametrize("address", ["10.0.0.5", "not-an-ip", "::1"])
async def test_non_loopback_address_fails_the_decky(runtime: LocalRuntime, address: str) -> None:
    """An address outside 127.0.0.0/8 is refused with a failed report, nothing started."""
    spec = make_spec("remote-1", "127.77.2.2", ("ssh",))
    report = await runtime.apply(replace(spec, ip=address))
    assert report.status == "failed"
    assert "needs a 127.0.0.0/8 address" in report.detail
    assert runtime.listeners("remote-1") == {}
    assert await runtime.report("remote-1") == report


async def test_taken_standard_port_falls_back_to_a_free_port(runtime: LocalRuntime) -> None:
    """When the usual port is busy the service still starts, on another port."""
    spec = make_spec("busy-1", "127.77.2.3", ("ftp",))
    with socket.socket() as squatter:
        squatter.bind((spec.ip, 21))
        squatter.listen()
        report = await runtime.apply(spec)
    assert report.status == "running"
    assert report.ports["ftp"] not in (0, 21)
    async with await anyio.connect_tcp(spec.ip, report.ports["ftp"]) as ftp:
        assert (await receive_or_eof(ftp)).startswith(b"220 ")


async def test_standard_ports_can_be_turned_off(sink: MemorySink) -> None:
    """With prefer_standard_ports off every service takes a free port."""
    local = LocalRuntime(sink, LocalRuntimeOptions(prefer_standard_ports=False))
    try:
        report = await local.apply(make_spec("free-1", "127.77.2.4", ("ssh", "http")))
    finally:
        await local.close()
    assert report.ports["ssh"] != 22
    assert report.ports["http"] != 80


async def test_idle_connection_is_closed_after_the_timeout(
    runtime: LocalRuntime, sink: MemorySink
) -> None:
    """A peer that stays silent is disconnected and the record says why."""
    spec = make_spec("idle-1", "127.77.2.5", ("ssh",))
    report = await runtime.apply(spec)
    async with await anyio.connect_tcp(spec.ip, report.ports["ssh"]) as ssh:
        assert (await receive_or_eof(ssh)).startswith(b"SSH-2.0-")
        assert await receive_or_eof(ssh, timeout=2.0) == b""
    closed = await sink.wait_for_event(spec.name, "ssh", "disconnect")
    assert closed.fields["reason"] == "idle_timeout"


async def test_slowloris_request_is_cut_off(runtime: LocalRuntime) -> None:
    """Trickling an HTTP request byte by byte does not keep the connection alive."""
    spec = make_spec("slow-1", "127.77.2.6", ("http",))
    report = await runtime.apply(spec)
    started = anyio.current_time()
    async with await anyio.connect_tcp(spec.ip, report.ports["http"]) as http:
        cut_off = await trickle(http, b"GET / HTTP/1.1\r\nX-Pad: " + b"a" * 100, delay=0.1)
    assert cut_off
    assert anyio.current_time() - started < 3.0


async def test_connections_beyond_the_cap_are_closed(runtime: LocalRuntime) -> None:
    """A listener serves at most max_connections peers at once."""
    spec = make_spec("cap-1", "127.77.2.7", ("ssh",))
    port = (await runtime.apply(spec)).ports["ssh"]
    first = await anyio.connect_tcp(spec.ip, port)
    second = await anyio.connect_tcp(spec.ip, port)
    assert (await receive_or_eof(first)).startswith(b"SSH-2.0-")
    assert (await receive_or_eof(second)).startswith(b"SSH-2.0-")
    async with await anyio.connect_tcp(spec.ip, port) as third:
        assert await receive_or_eof(third) == b""
    await first.aclose()
    await second.aclose()


class ExplodingHandler:
    """A handler with a bug: greets with its config, then raises."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._greeting = ctx.config.get("greeting", "?").encode()

    async def __call__(self, conn: Connection) -> None:
        await conn.send(self._greeting)
        await conn.record("auth", "login attempt", username="root")
        raise RuntimeError("emulator bug")


async def test_registered_handler_is_used_and_its_errors_contained(sink: MemorySink) -> None:
    """A plugged emulator serves its service; if it raises, only that connection closes."""
    handlers: dict[str, type[ServiceHandler]] = {"ssh": ExplodingHandler}
    local = LocalRuntime(sink, handlers=handlers)
    spec = make_spec("hook-1", "127.77.2.8", ("ssh",), {"ssh": {"greeting": "hi"}})
    try:
        port = (await local.apply(spec)).ports["ssh"]
        for _ in range(2):  # the second connection proves the listener survived
            async with await anyio.connect_tcp(spec.ip, port) as stream:
                assert await receive_or_eof(stream) == b"hi"
                assert await receive_or_eof(stream) == b""
    finally:
        await local.close()
    auth = await sink.wait_for_event(spec.name, "ssh", "auth", username="root")
    assert auth.attacker_ip == "127.0.0.1"
    closed = await sink.wait_for_event(spec.name, "ssh", "disconnect")
    assert closed.fields["reason"] == "handler_error"


async def test_received_bytes_are_recorded_escaped(runtime: LocalRuntime, sink: MemorySink) -> None:
    """A `data` record carries an escaped excerpt and the disconnect counts the bytes."""
    spec = make_spec("data-1", "127.77.2.9", ("redis",))
    port = (await runtime.apply(spec)).ports["redis"]
    async with await anyio.connect_tcp(spec.ip, port) as redis:
        await redis.send(b"\x00\x01AUTH hunter2\r\n")
        assert (await receive_or_eof(redis)).startswith(b"-NOAUTH")
    data = await sink.wait_for_event(spec.name, "redis", "data")
    assert data.fields["excerpt"] == "\\x00\\x01AUTH hunter2\\r\\n"
    closed = await sink.wait_for_event(spec.name, "redis", "disconnect")
    assert closed.fields["bytes_in"] == "16"
    assert closed.raw_line.startswith("<134>1 ")


async def test_udp_service_records_datagrams(runtime: LocalRuntime, sink: MemorySink) -> None:
    """A UDP-only service logs each datagram with its source."""
    spec = make_spec("udp-1", "127.77.2.10", ("snmp",))
    port = (await runtime.apply(spec)).ports["snmp"]
    async with await anyio.create_udp_socket(local_host="127.0.0.1") as udp:
        await udp.sendto(b"\x30\x26public", spec.ip, port)
        record = await sink.wait_for_event(spec.name, "snmp", "data", transport="udp")
    assert record.fields["excerpt"] == "0&public"
    assert record.attacker_ip == "127.0.0.1"


class FailingSink:
    """A sink whose store is down."""

    async def submit(self, record: InteractionRecord) -> None:
        raise ConnectionError("store unreachable")


async def test_failing_sink_does_not_break_the_service() -> None:
    """Record submission errors are logged; attackers are still served."""
    local = LocalRuntime(FailingSink())
    spec = make_spec("sinkless-1", "127.77.2.11", ("ssh",))
    try:
        port = (await local.apply(spec)).ports["ssh"]
        async with await anyio.connect_tcp(spec.ip, port) as ssh:
            assert (await receive_or_eof(ssh)).startswith(b"SSH-2.0-")
    finally:
        await local.close()


async def test_close_stops_every_decky(sink: MemorySink) -> None:
    """close() releases all listeners of all deckies."""
    local = LocalRuntime(sink)
    ports = [
        (ip, (await local.apply(make_spec(name, ip, ("http",)))).ports["http"])
        for name, ip in (("close-1", "127.77.2.12"), ("close-2", "127.77.2.13"))
    ]
    await local.close()
    for ip, port in ports:
        with pytest.raises(OSError, match="connection attempts failed"):
            await anyio.connect_tcp(ip, port)
    assert await local.report("close-1") == await local.report("close-2")
    assert (await local.report("close-1")).status == "stopped"
