"""One behaviour suite for every `RecordSink` adapter: the collector's journal-first sink and the
in-memory sink the other suites use.

A new adapter (the emulators' record shipper, say) subclasses `RecordSinkContract` and provides a
`sink` and a `probe` that can see what the adapter took responsibility for and can stall its
downstream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import pytest

from application.ports import RecordSink
from domain.observations.records import InteractionRecord
from infrastructure.collector.journal import Journal
from infrastructure.collector.sink import CollectorSink
from infrastructure.shipper.shipper import ShipperOptions, SyslogShipper
from infrastructure.shipper.spool import Spool
from tests.fakes import MemorySink, SyslogTcpCollector

WAIT_S = 5.0  # long enough for any adapter; a passing test never waits this long
T0 = datetime(2026, 4, 18, 2, 0, tzinfo=UTC)


def record(n: int, **overrides: str) -> InteractionRecord:
    """Record number `n` (in `msg` and the `n` field), from a distinct attacker."""
    attacker = f"192.0.2.{n % 250 + 1}"
    return InteractionRecord(
        timestamp=T0 + timedelta(milliseconds=n),
        decky="files-01",
        service="ssh",
        event_type=overrides.get("event_type", "command"),
        attacker_ip=attacker,
        msg=overrides.get("msg", f"record {n}"),
        # The attacker travels in `src_ip` as every emulator's record carries it: on the wire
        # (RFC 5424) that field is the only place the attacker's address can go.
        fields={"n": str(n), "src_ip": attacker, "src_port": str(40_000 + n)},
    )


def essence(r: InteractionRecord) -> tuple[object, ...]:
    """What every adapter must carry unchanged (`raw_line` is an adapter's own rendering)."""
    return (r.timestamp, r.decky, r.service, r.event_type, r.attacker_ip, r.msg, r.fields)


def numbers(records: list[InteractionRecord]) -> list[int]:
    return [int(r.fields["n"]) for r in records]


class SinkProbe(Protocol):
    """Adapter-specific eyes on what a sink took charge of, and a hand on its downstream."""

    async def delivered(self, count: int) -> list[InteractionRecord]:
        """Every record taken so far, in order, once there are at least `count` (bounded wait)."""
        ...

    def stall(self) -> None:
        """Make the downstream unable to take more (a lagging store, a held sink)."""
        ...

    def resume(self) -> None:
        """Let the downstream take records again."""
        ...


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait up to `WAIT_S` for `condition()` to hold."""
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {WAIT_S}s")
        await asyncio.sleep(0.01)


@pytest.mark.anyio
class RecordSinkContract:
    """The port's promises; subclasses provide `sink`, `probe` and `waits_when_stalled`."""

    waits_when_stalled: bool  # True: back-pressure holds `submit`; False: it buffers durably

    async def test_records_arrive_whole_and_in_order(
        self, sink: RecordSink, probe: SinkProbe
    ) -> None:
        """Submitted records are taken in submission order with every field intact."""
        sent = [record(n) for n in range(50)]
        for item in sent:
            await sink.submit(item)
        assert [essence(r) for r in await probe.delivered(50)] == [essence(r) for r in sent]

    async def test_awkward_values_survive(self, sink: RecordSink, probe: SinkProbe) -> None:
        """Unicode, quotes, brackets, backslashes, newlines and a missing attacker IP survive."""
        awkward = InteractionRecord(
            timestamp=T0,
            decky="files-01",
            service="http",
            event_type="request",
            attacker_ip=None,
            msg='GET /ünï?q="a]b\\c"',
            fields={"path": '/a"b]c\\d', "agent": "curl/8.5 ☃", "empty": ""},
        )
        await sink.submit(awkward)
        assert [essence(r) for r in await probe.delivered(1)] == [essence(awkward)]

    async def test_concurrent_submitters_lose_nothing(
        self, sink: RecordSink, probe: SinkProbe
    ) -> None:
        """Four tasks submitting at once: every record is taken, each task's in its own order."""

        async def submit_range(first: int) -> None:
            for n in range(first, first + 25):
                await sink.submit(record(n))

        async with asyncio.timeout(WAIT_S):
            await asyncio.gather(*(submit_range(first) for first in (0, 100, 200, 300)))
        got = numbers(await probe.delivered(100))
        assert sorted(got) == [n for first in (0, 100, 200, 300) for n in range(first, first + 25)]
        for first in (0, 100, 200, 300):
            assert [n for n in got if first <= n < first + 25] == list(range(first, first + 25))

    async def test_a_stalled_downstream_loses_nothing(
        self, sink: RecordSink, probe: SinkProbe
    ) -> None:
        """While the downstream stalls, submits wait (or buffer); once it resumes, all arrive."""
        await sink.submit(record(0))
        await probe.delivered(1)
        probe.stall()
        submitting = asyncio.ensure_future(self._submit_all(sink, range(1, 21)))
        await asyncio.sleep(0.3)
        assert submitting.done() is not self.waits_when_stalled
        probe.resume()
        async with asyncio.timeout(WAIT_S):
            await submitting
        assert numbers(await probe.delivered(21)) == list(range(21))

    @staticmethod
    async def _submit_all(sink: RecordSink, ns: range) -> None:
        for n in ns:
            await sink.submit(record(n))


# --- the in-memory sink ---------------------------------------------------------------------


class MemoryProbe:
    """Reads the fake's list; stalls it with `hold`."""

    def __init__(self, sink: MemorySink) -> None:
        self._sink = sink

    async def delivered(self, count: int) -> list[InteractionRecord]:
        await until(lambda: len(self._sink.records) >= count, f"{count} records")
        return list(self._sink.records)

    def stall(self) -> None:
        self._sink.hold()

    def resume(self) -> None:
        self._sink.release()


class TestMemorySink(RecordSinkContract):
    """The contract on the tests' in-memory sink."""

    waits_when_stalled = True

    @pytest.fixture
    def sink(self) -> MemorySink:
        return MemorySink()

    @pytest.fixture
    def probe(self, sink: MemorySink) -> MemoryProbe:
        return MemoryProbe(sink)


# --- the collector's sink: journal first, back-pressure from the store's lag -----------------


class StoreLag:
    """`committed_bytes` for the sink: keeps up with the journal unless stalled."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.frozen_at: int | None = None

    def __call__(self) -> int:
        return self.journal.bytes_written if self.frozen_at is None else self.frozen_at


class CollectorProbe:
    """Reads the journal back; stalls by letting the store fall past the soft lag limit."""

    def __init__(self, sink: CollectorSink, journal: Journal, lag: StoreLag) -> None:
        self._sink = sink
        self._journal = journal
        self._lag = lag

    async def delivered(self, count: int) -> list[InteractionRecord]:
        await until(lambda: len(self._records()) >= count, f"{count} journaled records")
        return self._records()

    def stall(self) -> None:
        self._lag.frozen_at = self._journal.bytes_written

    def resume(self) -> None:
        self._lag.frozen_at = None
        self._sink.committed()

    def _records(self) -> list[InteractionRecord]:
        entries = []
        for segment in self._journal.segments():
            entries += self._journal.read(segment, 0, 100_000).entries
        return [e for e in entries if isinstance(e, InteractionRecord)]


class TestCollectorSink(RecordSinkContract):
    """The contract on the collector's sink over a real journal (fdatasync'ed in groups)."""

    waits_when_stalled = True

    @pytest.fixture
    def journal(self, tmp_path: Path) -> Iterator[Journal]:
        journal = Journal(tmp_path / "journal")
        yield journal
        journal.close()

    @pytest.fixture
    def lag(self, journal: Journal) -> StoreLag:
        return StoreLag(journal)

    @pytest.fixture
    def sink(self, journal: Journal, lag: StoreLag) -> CollectorSink:
        return CollectorSink(journal, lag, wake=lambda: None, soft_lag=1)

    @pytest.fixture
    def probe(self, sink: CollectorSink, journal: Journal, lag: StoreLag) -> CollectorProbe:
        return CollectorProbe(sink, journal, lag)


# --- the emulators' shipper: spool first, RFC 5424 over TCP to a collector ------------------


class ShipperProbe:
    """Reads what a real TCP syslog endpoint parsed; stalls by taking that endpoint down."""

    def __init__(self, collector: SyslogTcpCollector) -> None:
        self._collector = collector
        self._tasks: set[asyncio.Task[None]] = set()

    async def delivered(self, count: int) -> list[InteractionRecord]:
        return await self._collector.wait_for_count(count, WAIT_S)

    def stall(self) -> None:
        self._run(self._collector.stop())

    def resume(self) -> None:
        self._run(self._collector.start())

    def _run(self, step: Coroutine[None, None, None]) -> None:
        task = asyncio.ensure_future(step)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class TestSyslogShipper(RecordSinkContract):
    """The contract on the Docker emulators' shipper; a stalled collector fills the spool."""

    waits_when_stalled = False  # records wait in the bounded spool, not in `submit`

    @pytest.fixture
    async def collector(self) -> AsyncIterator[SyslogTcpCollector]:
        collector = SyslogTcpCollector()
        await collector.start()
        yield collector
        await collector.stop()

    @pytest.fixture
    async def sink(
        self, collector: SyslogTcpCollector, tmp_path: Path
    ) -> AsyncIterator[SyslogShipper]:
        options = ShipperOptions(retry_initial=0.02, retry_max=0.1)
        shipper = SyslogShipper(collector.target, Spool(tmp_path / "spool"), options)
        sending = asyncio.ensure_future(shipper.run())
        yield shipper
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
        await shipper.close()

    @pytest.fixture
    def probe(self, collector: SyslogTcpCollector) -> ShipperProbe:
        return ShipperProbe(collector)
