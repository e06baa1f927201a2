"""Group commit of the journal: nothing counts as accepted before the fdatasync that covers it."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from domain.observations.records import InteractionRecord
from infrastructure.collector.journal import FsyncPolicy, Journal
from infrastructure.collector.servers import UNSYNCED_WINDOW, SyslogCollector
from infrastructure.collector.sink import CollectorSink
from tests.api.observations_support import free_syslog_port

LINE = b'<134>1 2026-04-18T02:00:00Z decky-01 ssh - connect [relay@55555 src_ip="10.0.0.1"] hi'


def record(seq: int) -> InteractionRecord:
    """A small record identified by its `seq` field."""
    return InteractionRecord(
        timestamp=datetime(2026, 4, 18, 2, 0, tzinfo=UTC),
        decky="decky-01",
        service="ssh",
        event_type="connect",
        attacker_ip="10.0.0.1",
        msg=f"message {seq}",
        fields={"seq": str(seq)},
    )


class GatedDisk:
    """A fake fdatasync that blocks until opened and records the files and sizes it synced."""

    def __init__(self, fail: OSError | None = None) -> None:
        self.gate = threading.Event()
        self.fail = fail
        self.calls = 0
        self.synced: dict[str, int] = {}  # file name -> its size when synced

    def open(self) -> None:
        self.gate.set()

    def __call__(self, fd: int) -> None:
        assert self.gate.wait(10), "the test never opened the gate"
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
        self.synced[name] = os.fstat(fd).st_size


def sink_on(
    tmp_path: Path, disk: GatedDisk, fsync: FsyncPolicy = "batch", segment_bytes: int = 1 << 20
) -> tuple[CollectorSink, Journal]:
    journal = Journal(tmp_path, segment_bytes=segment_bytes, fsync=fsync, datasync=disk)
    return CollectorSink(journal, lambda: journal.bytes_written, wake=lambda: None), journal


@pytest.mark.anyio
async def test_submit_returns_only_after_the_sync_that_covers_the_record(tmp_path: Path) -> None:
    """An emulator's `submit` waits for the fdatasync; then the journal is synced to its end."""
    disk = GatedDisk()
    sink, journal = sink_on(tmp_path, disk)
    submitting = asyncio.create_task(sink.submit(record(1)))
    await asyncio.sleep(0.2)
    assert not submitting.done()
    assert journal.synced_bytes == 0 < journal.bytes_written
    assert sink.stats.accepted == 0  # journaled is not yet accepted
    disk.open()
    await asyncio.wait_for(submitting, 5)
    assert sink.stats.accepted == 1
    assert journal.synced_bytes == journal.bytes_written
    assert disk.synced == {journal.current_segment: journal.bytes_written}


@pytest.mark.anyio
async def test_concurrent_writers_share_group_commits(tmp_path: Path) -> None:
    """200 writers arriving while one sync runs are all covered by the next one or two."""
    disk = GatedDisk()
    sink, journal = sink_on(tmp_path, disk)
    first = asyncio.create_task(sink.submit(record(0)))
    await asyncio.sleep(0.05)  # the first sync is now blocked in its thread
    rest = [asyncio.create_task(sink.submit(record(seq))) for seq in range(1, 201)]
    await asyncio.sleep(0.05)
    disk.open()
    await asyncio.wait_for(asyncio.gather(first, *rest), 5)
    assert 2 <= sink.stats.journal_syncs <= 3
    assert journal.synced_bytes == journal.bytes_written


@pytest.mark.anyio
async def test_off_policy_never_syncs_and_never_waits(tmp_path: Path) -> None:
    """With `off`, submit returns at once and fdatasync is never called."""
    disk = GatedDisk()  # never opened: a call would block the test
    sink, journal = sink_on(tmp_path, disk, fsync="off")
    await asyncio.wait_for(sink.submit(record(1)), 1)
    assert sink.accept_line(LINE, "udp")
    await asyncio.sleep(0.05)
    journal.close()
    assert (disk.calls, sink.stats.journal_syncs) == (0, 0)


@pytest.mark.anyio
async def test_udp_appends_are_synced_without_anybody_waiting(tmp_path: Path) -> None:
    """Datagrams cannot wait, but a group commit still follows them to disk."""
    disk = GatedDisk()
    disk.open()
    sink, journal = sink_on(tmp_path, disk)
    for _ in range(10):
        assert sink.accept_line(LINE, "udp")
    for _ in range(100):
        if journal.synced_bytes == journal.bytes_written:
            break
        await asyncio.sleep(0.01)
    assert journal.synced_bytes == journal.bytes_written > 0


@pytest.mark.anyio
async def test_rotated_segments_are_synced_before_they_are_closed(tmp_path: Path) -> None:
    """Appends spanning several segments in one turn: every segment is synced in full."""
    disk = GatedDisk()
    disk.open()
    sink, journal = sink_on(tmp_path, disk, segment_bytes=400)
    for _ in range(12):
        assert sink.accept_line(LINE, "tcp")
    await asyncio.wait_for(sink.durable(), 5)
    segments = journal.segments()
    assert len(segments) >= 3
    assert disk.synced == {name: journal.size(name) for name in segments}


@pytest.mark.anyio
async def test_a_failed_fdatasync_fails_the_writer_and_the_health(tmp_path: Path) -> None:
    """fdatasync errors are not retried into a false success: writers and /health see them."""
    disk = GatedDisk(fail=OSError(5, "Input/output error"))
    disk.open()
    sink, _ = sink_on(tmp_path, disk)
    with pytest.raises(Exception, match="fdatasync failed"):
        await asyncio.wait_for(sink.submit(record(1)), 5)
    with pytest.raises(Exception, match="fdatasync failed"):
        await asyncio.wait_for(sink.submit(record(2)), 5)
    assert sink.stats.journal_sync_failures == 1
    assert "fdatasync failed" in sink.group_commit.error


@pytest.mark.anyio
async def test_tcp_sender_is_closed_only_after_its_lines_are_synced(tmp_path: Path) -> None:
    """A sender that half-closes and waits for the server's FIN gets it only after the sync."""
    disk = GatedDisk()
    sink, journal = sink_on(tmp_path, disk)
    port = free_syslog_port()
    collector = SyslogCollector(sink, "127.0.0.1", port)
    await collector.start()
    replies: list[bytes] = []

    def send() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(LINE + b"\n" + LINE + b"\n")
            sock.shutdown(socket.SHUT_WR)
            replies.append(sock.recv(1))  # b"" once the server closes its side

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        await asyncio.sleep(0.5)
        assert journal.bytes_written > 0
        assert (replies, sink.stats.accepted) == ([], 0)  # journaled, not on disk: no FIN yet
        disk.open()
        await asyncio.to_thread(sender.join, 5)
        assert (replies, sink.stats.accepted) == ([b""], 2)
        assert journal.synced_bytes == journal.bytes_written
    finally:
        disk.open()
        await collector.stop()
        journal.close()


@pytest.mark.anyio
async def test_tcp_reader_reads_ahead_of_a_slow_disk_only_up_to_the_window(tmp_path: Path) -> None:
    """While a sync hangs the reader goes on reading (so one slow fdatasync does not stall it),
    but it stops once UNSYNCED_WINDOW bytes of journal are not on disk; then all are accepted."""
    disk = GatedDisk()
    sink, journal = sink_on(tmp_path, disk, segment_bytes=64 << 20)
    port = free_syslog_port()
    collector = SyslogCollector(sink, "127.0.0.1", port)
    await collector.start()
    total = 60_000
    payload = b"".join(LINE.replace(b"hi", b"n=%d" % i) + b"\n" for i in range(total))

    def send() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            assert sock.recv(1) == b""

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        seen = [-1]
        while seen[-1] != journal.bytes_written:  # until the reader stopped
            seen.append(journal.bytes_written)
            await asyncio.sleep(0.3)
        assert UNSYNCED_WINDOW <= journal.bytes_written <= UNSYNCED_WINDOW + (256 << 10)
        assert sink.stats.accepted == 0
        disk.open()
        await asyncio.to_thread(sender.join, 30)
        assert sink.stats.accepted == total
    finally:
        disk.open()
        await collector.stop()
        journal.close()
