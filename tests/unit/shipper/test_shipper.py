"""The shipper across collector outages and restarts: every record arrives, once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.observations.records import InteractionRecord
from infrastructure.shipper.shipper import (
    ShipperOptions,
    ShipperTargetError,
    SyslogShipper,
    parse_target,
)
from infrastructure.shipper.spool import Spool
from tests.fakes import SyslogTcpCollector

pytestmark = pytest.mark.anyio
FAST = ShipperOptions(retry_initial=0.02, retry_max=0.1)
T0 = datetime(2026, 12, 5, 7, 0, tzinfo=UTC)


def record(n: int) -> InteractionRecord:
    return InteractionRecord(
        timestamp=T0 + timedelta(milliseconds=n),
        decky="web-01",
        service="http",
        event_type="request",
        attacker_ip="198.51.100.7",
        msg=f"GET /{n}",
        fields={"src_ip": "198.51.100.7", "n": str(n)},
    )


@pytest.fixture
async def collector() -> AsyncIterator[SyslogTcpCollector]:
    collector = SyslogTcpCollector()
    await collector.start()
    yield collector
    await collector.stop()


async def running(shipper: SyslogShipper) -> asyncio.Task[None]:
    task = asyncio.ensure_future(shipper.run())
    await asyncio.sleep(0)
    return task


async def stopped(task: asyncio.Task[None], shipper: SyslogShipper) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await shipper.close()


async def test_records_spooled_while_the_collector_is_away_all_arrive_once(
    collector: SyslogTcpCollector, tmp_path: Path
) -> None:
    """Given a collector gone mid-stream, when it comes back, every record arrives once."""
    shipper = SyslogShipper(collector.target, Spool(tmp_path), FAST)
    task = await running(shipper)
    for n in range(10):
        await shipper.submit(record(n))
    await collector.wait_for_count(10)

    await collector.stop()
    for n in range(10, 200):
        await shipper.submit(record(n))
    await asyncio.sleep(0.3)
    assert shipper.pending_bytes > 0  # held on disk while nobody listens
    assert len(collector.records) == 10

    await collector.start()
    got = await collector.wait_for_count(200)
    await asyncio.sleep(0.2)  # a duplicate would arrive now
    assert [r.fields["n"] for r in collector.records] == [str(n) for n in range(200)]
    assert got[150].msg == "GET /150"
    assert got[150].attacker_ip == "198.51.100.7"
    assert shipper.pending_bytes == 0
    await stopped(task, shipper)


async def test_a_restarted_shipper_sends_what_the_last_one_spooled(
    collector: SyslogTcpCollector, tmp_path: Path
) -> None:
    """Given records spooled by a shipper that stopped unsent, a new one on the spool sends them."""
    await collector.stop()
    first = SyslogShipper(collector.target, Spool(tmp_path), FAST)
    task = await running(first)
    for n in range(25):
        await first.submit(record(n))
    await stopped(task, first)

    await collector.start()
    second = SyslogShipper(collector.target, Spool(tmp_path), FAST)
    task = await running(second)
    await collector.wait_for_count(25)
    assert [r.fields["n"] for r in collector.records] == [str(n) for n in range(25)]
    await stopped(task, second)


async def test_a_full_spool_holds_submit_until_the_collector_drains_it(
    collector: SyslogTcpCollector, tmp_path: Path
) -> None:
    """Given a spool bound of a few records, submit waits (nothing dropped) until sent."""
    await collector.stop()
    shipper = SyslogShipper(collector.target, Spool(tmp_path, max_bytes=600), FAST)
    task = await running(shipper)
    submitting = asyncio.ensure_future(_submit(shipper, range(20)))
    await asyncio.sleep(0.3)
    assert not submitting.done()
    await collector.start()
    async with asyncio.timeout(5):
        await submitting
    await collector.wait_for_count(20)
    assert [r.fields["n"] for r in collector.records] == [str(n) for n in range(20)]
    await stopped(task, shipper)


async def _submit(shipper: SyslogShipper, ns: range) -> None:
    for n in ns:
        await shipper.submit(record(n))


def test_targets_must_be_tcp_host_port() -> None:
    """Only `tcp://HOST:PORT` is a target (UDP would lose records silently)."""
    assert parse_target("tcp://10.0.0.2:5514") == ("10.0.0.2", 5514)
    assert parse_target("tcp://[fd00::2]:514") == ("fd00::2", 514)
    for bad in ("udp://10.0.0.2:514", "10.0.0.2:514", "tcp://host", "tcp://host:notaport", ""):
        with pytest.raises(ShipperTargetError):
            parse_target(bad)


async def test_a_batch_without_the_collectors_fin_is_sent_again(tmp_path: Path) -> None:
    """Given a collector that reads but never acknowledges (no FIN), the batch goes again."""
    received: list[bytes] = []
    held: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.read())  # everything up to the shipper's FIN
        if len(received) == 1:
            held.append(writer)  # the first connection: no FIN back, ever
            return
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    options = ShipperOptions(ack_timeout=0.3, retry_initial=0.02, retry_max=0.1)
    shipper = SyslogShipper(f"tcp://127.0.0.1:{port}", Spool(tmp_path), options)
    task = await running(shipper)
    await shipper.submit(record(1))
    async with asyncio.timeout(5):
        while shipper.pending_bytes:
            await asyncio.sleep(0.01)
    assert len(received) == 2
    assert received[0] == received[1]  # the same batch, whole, on the second connection
    assert b"GET /1" in received[1]
    await stopped(task, shipper)
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()
