"""The collector's journal and the batcher against a real PostgreSQL event store: outages, crashes,
torn tails and back-pressure lose and duplicate nothing."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import psycopg
import pytest

from application.observations.ingest import IngestCommands
from application.store import EventStoreApp
from domain.observations.batch import JournalSpan, RejectedLine
from domain.observations.records import InteractionRecord
from infrastructure.collector.batcher import Batcher
from infrastructure.collector.journal import Checkpoint, Journal
from infrastructure.collector.servers import SyslogCollector
from infrastructure.collector.sink import CollectorSink
from tests.api.observations_support import free_syslog_port
from tests.integration.observations_fixtures import (
    event_store,
    record,
    rejected,
    stored_batches,
    stored_seqs,
)

__all__ = ["event_store"]  # the fixture, registered for this module by the import

LINE = b'<134>1 2026-04-18T02:00:00Z decky-01 ssh - connect [relay@55555 src_ip="10.0.0.1"] hi'


def frame_ends(journal: Journal, segment: str) -> list[int]:
    """Offsets where each complete frame of `segment` ends."""
    ends, offset = [], 0
    while True:
        chunk = journal.read(segment, offset, 1)
        if not chunk.entries:
            return ends
        offset = chunk.end_offset
        ends.append(offset)


# --- journal -------------------------------------------------------------------------------------


def test_journal_round_trips_records_and_rejected_lines(tmp_path: Path) -> None:
    """Entries read back equal, in order, with byte offsets that resume exactly."""
    journal = Journal(tmp_path)
    entries: list[InteractionRecord | RejectedLine] = [
        record(0),
        rejected(1),
        record(2, attacker_ip=None, fields={"seq": "2", "k": 'ü\\"]'}, msg="ünï"),
        record(3),
    ]
    for entry in entries:
        journal.append(entry)
    segment = journal.current_segment
    whole = journal.read(segment, 0, 10)
    assert whole.entries == entries
    assert (whole.first_offset, whole.end_offset) == (0, journal.size(segment))
    first = journal.read(segment, 0, 2)
    assert first.entries == entries[:2]
    rest = journal.read(segment, first.end_offset, 10)
    assert rest.entries == entries[2:]
    assert rest.end_offset == whole.end_offset
    assert journal.bytes_written == journal.size(segment)


@pytest.mark.parametrize("cut", [1, 5, "header"])
def test_torn_tail_frame_is_left_unread(tmp_path: Path, cut: int | str) -> None:
    """A segment cut inside its last frame (payload or header) reads up to the frame before it."""
    journal = Journal(tmp_path)
    for seq in range(3):
        journal.append(record(seq))
    segment = journal.current_segment
    ends = frame_ends(journal, segment)
    journal.close()
    keep = ends[1] + 2 if cut == "header" else ends[2] - int(cut)
    os.truncate(tmp_path / segment, keep)
    chunk = Journal(tmp_path).read(segment, 0, 10)
    # These segments hold records only, no dead letters.
    assert [int(e.fields["seq"]) for e in chunk.entries] == [0, 1]  # type: ignore[union-attr]
    assert chunk.end_offset == ends[1]


def test_torn_tail_of_a_large_frame_is_left_unread(tmp_path: Path) -> None:
    """A single frame larger than one read, cut short, yields nothing and does not advance."""
    journal = Journal(tmp_path)
    journal.append(record(0, msg="x" * 20_000))
    segment = journal.current_segment
    whole = journal.read(segment, 0, 1)
    assert len(whole.entries) == 1
    journal.close()
    os.truncate(tmp_path / segment, whole.end_offset - 100)
    torn = Journal(tmp_path).read(segment, 0, 1)
    assert (torn.entries, torn.end_offset) == ([], 0)


def test_garbage_tail_after_a_power_loss_is_left_unread(tmp_path: Path) -> None:
    """Zeros where unsynced frames were (a power loss on some file systems) read as a torn tail."""
    journal = Journal(tmp_path)
    for seq in range(3):
        journal.append(record(seq))
    segment = journal.current_segment
    end = journal.bytes_written
    journal.close()
    with open(tmp_path / segment, "ab") as f:
        f.write(bytes(4096))
    chunk = Journal(tmp_path).read(segment, 0, 10)
    # These segments hold records only, no dead letters.
    assert [int(e.fields["seq"]) for e in chunk.entries] == [0, 1, 2]  # type: ignore[union-attr]
    assert chunk.end_offset == end


def test_unreadable_checkpoint_means_replay_from_the_start(tmp_path: Path) -> None:
    """A checkpoint file emptied by a power loss is ignored (the store skips what it holds)."""
    journal = Journal(tmp_path)
    (tmp_path / "checkpoint.json").write_bytes(b"")
    assert journal.load_checkpoint() is None
    (tmp_path / "checkpoint.json").write_bytes(b'{"segment": 3')
    assert journal.load_checkpoint() is None


def test_checkpoint_deletes_only_segments_wholly_before_it(tmp_path: Path) -> None:
    """Saving a checkpoint removes earlier segments, keeps its own and later ones, and persists."""
    journal = Journal(tmp_path, segment_bytes=400)
    for seq in range(12):
        journal.append(record(seq))
    segments = journal.segments()
    assert len(segments) >= 4
    checkpoint = Checkpoint(segments[2], 17)
    journal.save_checkpoint(checkpoint)
    assert journal.segments() == segments[2:]
    assert Journal(tmp_path).load_checkpoint() == checkpoint
    journal.save_checkpoint(Checkpoint(segments[-1], journal.size(segments[-1])))
    assert journal.segments() == segments[-1:]  # the segment being written is never deleted


# --- batcher against the real store --------------------------------------------------------------


class FlakyIngest:
    """IngestCommands behind a switch: while `down`, every append fails like a lost database."""

    def __init__(self, inner: IngestCommands) -> None:
        self.inner = inner
        self.up = threading.Event()
        self.refused = 0

    def append(
        self,
        records: list[InteractionRecord],
        rejected: list[RejectedLine],
        span: JournalSpan | None,
    ) -> int | None:
        if not self.up.is_set():
            self.refused += 1
            raise psycopg.OperationalError("connection refused (simulated outage)")
        return self.inner.append(records, rejected, span)

    def committed_span(self, journal: str, first_offset: int) -> JournalSpan | None:
        return self.inner.committed_span(journal, first_offset)


@contextlib.asynccontextmanager
async def running(batcher: Batcher) -> AsyncIterator[asyncio.Task[None]]:
    """The batcher as a background task, cancelled on exit."""
    task = asyncio.create_task(batcher.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def eventually(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` on the event loop until it holds."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)
    assert condition(), what


@pytest.mark.anyio
async def test_store_outage_spools_in_the_journal_then_delivers_exactly_once(
    tmp_path: Path, event_store: EventStoreApp
) -> None:
    """During an outage records wait in the journal; afterwards each arrives exactly once."""
    journal = Journal(tmp_path)
    ingest = FlakyIngest(IngestCommands(event_store))
    # FlakyIngest stands in for IngestCommands (same methods, no shared base).
    batcher = Batcher(journal, ingest, max_records=10, max_wait_s=0.01)  # type: ignore[arg-type]
    async with running(batcher):
        for seq in range(25):
            journal.append(record(seq))
        batcher.notify()
        await eventually(lambda: ingest.refused >= 3, 10, "appends retried")
        for seq in range(25, 50):
            journal.append(record(seq))
        batcher.notify()
        health = batcher.health()
        assert health.status == "failing"
        assert "OperationalError" in health.detail
        assert journal.load_checkpoint() is None
        assert stored_batches(event_store) == []
        ingest.up.set()
        await eventually(lambda: batcher.stats.records == 50, 15, "all records appended")
        assert batcher.health().status == "ok"
    assert sorted(stored_seqs(event_store)) == list(range(50))
    segment = journal.current_segment
    assert journal.load_checkpoint() == Checkpoint(segment, journal.size(segment))


class SimulatedCrash(Exception):
    """The process died between the store append and the checkpoint write."""


class CrashOnFirstCheckpoint(Journal):
    def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        raise SimulatedCrash


@pytest.mark.anyio
async def test_replay_after_a_crash_before_the_checkpoint_stores_nothing_twice(
    tmp_path: Path, event_store: EventStoreApp
) -> None:
    """A batch appended but not checkpointed is skipped on restart; none stored twice."""
    first = CrashOnFirstCheckpoint(tmp_path)
    for seq in range(35):
        first.append(record(seq) if seq % 7 else rejected(seq))
    crashed = Batcher(first, IngestCommands(event_store), max_records=10, max_wait_s=0.01)
    with pytest.raises(SimulatedCrash):
        await asyncio.wait_for(crashed.run(), 10)
    first.close()
    assert len(stored_batches(event_store)) == 1
    assert first.load_checkpoint() is None

    journal = Journal(tmp_path)  # the restarted process
    batcher = Batcher(journal, IngestCommands(event_store), max_records=10, max_wait_s=0.01)
    expected = [seq for seq in range(35) if seq % 7]
    async with running(batcher):
        await eventually(
            lambda: len(stored_seqs(event_store)) >= len(expected), 15, "journal replayed"
        )
        await eventually(lambda: batcher.idle.is_set(), 5, "batcher idle")
    assert batcher.stats.duplicates_skipped >= 1
    assert sorted(stored_seqs(event_store)) == expected
    dead = [r.raw for e in stored_batches(event_store) for r in e.rejected]
    assert sorted(dead) == sorted(f"junk {seq}" for seq in range(35) if seq % 7 == 0)


@pytest.mark.anyio
@pytest.mark.parametrize("damage", ["truncated", "zeroed"])
async def test_torn_tail_of_an_old_segment_does_not_block_later_segments(
    tmp_path: Path, event_store: EventStoreApp, damage: str
) -> None:
    """A torn or zeroed tail in an old segment does not stop later segments being ingested."""
    old = Journal(tmp_path)
    for seq in range(5):
        old.append(record(seq))
    segment = old.current_segment
    torn_at = frame_ends(old, segment)[-1] - 3
    last_start = frame_ends(old, segment)[-2]
    old.close()
    if damage == "truncated":
        os.truncate(tmp_path / segment, torn_at)
    else:  # the last frame's blocks never reached the disk, but the file size did
        with open(tmp_path / segment, "r+b") as f:
            f.seek(last_start)
            f.write(bytes(torn_at + 3 - last_start))

    journal = Journal(tmp_path)
    batcher = Batcher(journal, IngestCommands(event_store), max_records=10, max_wait_s=0.01)
    async with running(batcher):
        for seq in range(5, 10):
            journal.append(record(seq))
        batcher.notify()
        with contextlib.suppress(TimeoutError):
            await eventually(lambda: len(stored_seqs(event_store)) >= 9, 3, "later segment")
    assert sorted(stored_seqs(event_store)) == [0, 1, 2, 3, 5, 6, 7, 8, 9]


# --- back-pressure ------------------------------------------------------------------------------


class Lag:
    """A controllable `committed_bytes` for a sink: the store holds what `drain()` says."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.committed = 0
        self.sink: CollectorSink | None = None

    def __call__(self) -> int:
        return self.committed

    def drain(self) -> None:
        self.committed = self.journal.bytes_written
        assert self.sink is not None
        self.sink.committed()


def lagging_sink(tmp_path: Path, soft: int, hard: int) -> tuple[CollectorSink, Lag]:
    journal = Journal(tmp_path)
    lag = Lag(journal)
    sink = CollectorSink(journal, lag, wake=lambda: None, soft_lag=soft, hard_lag=hard)
    lag.sink = sink
    return sink, lag


@pytest.mark.anyio
async def test_writers_wait_while_lag_exceeds_the_soft_limit(tmp_path: Path) -> None:
    """`wait_for_capacity` and `submit` block above the soft limit and resume once drained."""
    sink, lag = lagging_sink(tmp_path, soft=300, hard=100_000)
    for _ in range(4):
        assert sink.accept_line(LINE, "tcp")
    assert sink.lag_bytes > 300
    waiting = asyncio.create_task(sink.wait_for_capacity())
    submitting = asyncio.create_task(sink.submit(record(99)))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    assert not submitting.done()
    written = lag.journal.bytes_written
    lag.drain()
    await asyncio.wait_for(asyncio.gather(waiting, submitting), 2)
    assert lag.journal.bytes_written > written  # the emulator's record went in after the wait
    assert sink.stats.accepted == 5


@pytest.mark.anyio
async def test_udp_beyond_the_hard_limit_is_counted_not_journaled(tmp_path: Path) -> None:
    """Past the hard limit a datagram is refused and counted; TCP lines still journal."""
    sink, lag = lagging_sink(tmp_path, soft=100, hard=500)
    while sink.lag_bytes <= 500:
        assert sink.accept_line(LINE, "udp")
    written = lag.journal.bytes_written
    assert sink.accept_line(LINE, "udp") is False
    assert sink.accept_line(LINE, "udp") is False
    assert (sink.stats.udp_overflow, lag.journal.bytes_written) == (2, written)
    assert sink.accept_line(LINE, "tcp")
    lag.drain()
    assert sink.accept_line(LINE, "udp")
    assert sink.stats.udp_overflow == 2


@pytest.mark.anyio
async def test_tcp_reader_stops_reading_while_the_store_lags(tmp_path: Path) -> None:
    """A TCP peer is not read while the store lags; all its lines arrive in order later."""
    sink, lag = lagging_sink(tmp_path, soft=1_000, hard=10_000_000)
    port = free_syslog_port()
    collector = SyslogCollector(sink, "127.0.0.1", port)
    await collector.start()
    total = 5_000
    payload = b"".join(LINE.replace(b"hi", b"n=%d" % i) + b"\n" for i in range(total))

    def send() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            sock.sendall(payload)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        await asyncio.sleep(0.5)
        stalled = sink.stats.accepted
        await asyncio.sleep(0.3)
        assert sink.stats.accepted == stalled < total
        while sink.stats.accepted < total:
            lag.drain()
            await asyncio.sleep(0.01)
    finally:
        sender.join(timeout=20)
        await collector.stop()
    journal = lag.journal
    chunk = journal.read(journal.current_segment, 0, total + 10)
    # The segment holds records only, no dead letters.
    assert [e.msg for e in chunk.entries] == [f"n={i}" for i in range(total)]  # type: ignore[union-attr]
