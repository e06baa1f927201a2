"""The worker's lifecycle, hand-over to the sink and health, on a fake packet source."""

from __future__ import annotations

import asyncio
import queue
import time
from collections.abc import Callable

import pytest

from infrastructure.sniffer.capture import NO_RIGHTS, CaptureUnavailableError, PacketSource
from infrastructure.sniffer.worker import SnifferWorker
from tests.fakes import MemorySink
from tests.unit.sniffer.crafted import LINUX_OPTIONS, python_client_hello, tcp_packet

DECKY = "10.0.0.5"
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """The worker hands over with asyncio's call_soon_threadsafe."""
    return "asyncio"


class FakeSource:
    """Packets pushed by the test, read by the capture thread."""

    filter_mode = "fake"

    def __init__(self, fail_on_read: bool = False) -> None:
        self.packets: queue.Queue[bytes] = queue.Queue()
        self.targets: list[frozenset[str]] = []
        self.closed = False
        self._next: bytes | None = None
        self._fail = fail_on_read

    def wait(self, timeout: float) -> bool:
        try:
            self._next = self.packets.get(timeout=timeout)
        except queue.Empty:
            return False
        return True

    def read(self) -> bytes | None:
        if self._fail:
            raise OSError("network is down")
        return self._next

    def set_targets(self, addresses: frozenset[str]) -> None:
        self.targets.append(addresses)

    def close(self) -> None:
        self.closed = True


def _opener(source: PacketSource) -> Callable[[str], PacketSource]:
    return lambda interface: source


def _worker(sink: MemorySink, source: PacketSource, **kwargs: object) -> SnifferWorker:
    options: dict[str, object] = {"decky_ips": lambda: {DECKY}, "refresh_s": 0.05, **kwargs}
    # Options are keyword arguments of mixed types, checked by the worker itself.
    return SnifferWorker(sink, "fake0", opener=_opener(source), **options)  # type: ignore[arg-type]


async def _until(check: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


def _syn(src: str = "198.51.100.7", sport: int = 40000) -> bytes:
    return tcp_packet(src=src, dst=DECKY, sport=sport, options=LINUX_OPTIONS)


async def test_records_reach_the_sink_with_decky_name_and_sniffer_service() -> None:
    """A SYN and a ClientHello become records named after the decky, service `sniffer`."""
    sink, source = MemorySink(), FakeSource()
    worker = _worker(sink, source, decky_name={DECKY: "decky-01"}.get)
    await worker.start()
    source.packets.put(_syn())
    hello = python_client_hello("decoy.example", ["h2"])
    source.packets.put(tcp_packet(src="198.51.100.7", dst=DECKY, flags="PA", payload=hello))
    await _until(lambda: len(sink.records) == 2)
    await worker.stop()
    syn, tls = sink.records
    assert (syn.event_type, tls.event_type) == ("tcp_syn_fingerprint", "tls_client_hello")
    assert {r.decky for r in sink.records} == {"decky-01"}
    assert {r.service for r in sink.records} == {"sniffer"}
    assert {r.attacker_ip for r in sink.records} == {"198.51.100.7"}
    assert syn.raw_line.startswith("<134>1 ")
    assert " decky-01 sniffer - tcp_syn_fingerprint " in syn.raw_line
    assert source.closed
    assert source.targets[0] == {DECKY}


async def test_health_reports_counters_while_capturing() -> None:
    """`ok` with the interface, filter mode and counters; `disabled: stopped` afterwards."""
    sink, source = MemorySink(), FakeSource()
    worker = _worker(sink, source)
    assert worker.health().status == "disabled"
    await worker.start()
    source.packets.put(_syn())
    source.packets.put(_syn(sport=40001))
    await _until(lambda: worker.stats.suppressed == 1)
    health = worker.health()
    assert health.status == "ok"
    assert "fake0 (fake filter)" in health.detail
    assert "1 SYN fingerprints" in health.detail
    assert "1 repeats suppressed" in health.detail
    await worker.stop()
    assert (worker.health().status, worker.health().detail) == ("disabled", "stopped")


async def test_without_rights_it_is_disabled_with_the_reason() -> None:
    """An opener that cannot get a raw socket leaves the worker disabled, never raising."""

    def refuse(interface: str) -> PacketSource:
        raise CaptureUnavailableError(NO_RIGHTS)

    worker = SnifferWorker(MemorySink(), "lo", decky_ips=set, opener=refuse)
    await worker.start()
    assert (worker.health().status, worker.health().detail) == ("disabled", NO_RIGHTS)
    await worker.stop()


async def test_unexpected_opener_error_also_disables() -> None:
    """Even a bug while opening must not take the control plane down."""

    def broken(interface: str) -> PacketSource:
        raise RuntimeError("boom")

    worker = SnifferWorker(MemorySink(), "lo", decky_ips=set, opener=broken)
    await worker.start()
    health = worker.health()
    assert health.status == "disabled"
    assert "RuntimeError: boom" in health.detail


async def test_capture_thread_death_is_failing() -> None:
    """A read error that kills the thread turns health to `failing` with the cause."""
    source = FakeSource(fail_on_read=True)
    worker = _worker(MemorySink(), source)
    await worker.start()
    source.packets.put(_syn())
    await _until(lambda: worker.health().status == "failing")
    assert "network is down" in worker.health().detail
    await worker.stop()
    assert source.closed


async def test_lagging_sink_drops_and_counts_instead_of_blocking_capture() -> None:
    """With one slot in flight, extra observations are dropped and counted, not queued."""
    sink, source = MemorySink(delay=0.5), FakeSource()
    worker = _worker(sink, source, queue_size=1)
    await worker.start()
    for i in range(5):
        source.packets.put(_syn(src=f"203.0.113.{i + 1}"))
    await _until(lambda: worker.stats.syn_fingerprints == 5)
    assert worker.stats.dropped >= 3
    started = time.monotonic()
    await worker.stop()
    assert time.monotonic() - started < 3


async def test_dropped_fingerprint_is_reported_on_its_next_sighting() -> None:
    """A drop forgets the dedup entry, so the source's next SYN is not suppressed."""
    sink, source = MemorySink(delay=0.3), FakeSource()
    worker = _worker(sink, source, queue_size=1)
    await worker.start()
    source.packets.put(_syn(src="203.0.113.1"))
    source.packets.put(_syn(src="203.0.113.2"))  # dropped: the single slot is busy
    await _until(lambda: worker.stats.dropped == 1)
    await _until(lambda: len(sink.records) == 1)
    source.packets.put(_syn(src="203.0.113.2", sport=40001))
    await _until(lambda: len(sink.records) == 2)
    await worker.stop()
    assert [r.attacker_ip for r in sink.records] == ["203.0.113.1", "203.0.113.2"]


async def test_decky_set_is_refreshed_and_a_failing_provider_keeps_the_last() -> None:
    """New deckies reach the source's filter; a provider error keeps the known set."""
    current: dict[str, object] = {"ips": {DECKY}}

    def provider() -> set[str]:
        value = current["ips"]
        if isinstance(value, Exception):
            raise value
        # Not an exception here, so the set of IPs the test stored.
        return value  # type: ignore[return-value]

    sink, source = MemorySink(), FakeSource()
    worker = _worker(sink, source, decky_ips=provider)
    await worker.start()
    current["ips"] = {DECKY, "10.0.0.6", "fe80::1"}
    source.packets.put(b"")  # wake the thread so it applies the new set
    await _until(lambda: bool(source.targets) and source.targets[-1] == {DECKY, "10.0.0.6"})
    current["ips"] = RuntimeError("read model down")
    await asyncio.sleep(0.15)
    source.packets.put(tcp_packet(dst="10.0.0.6", options=LINUX_OPTIONS))
    await _until(lambda: len(sink.records) == 1)
    await worker.stop()
    assert sink.records[0].decky == "10.0.0.6"
