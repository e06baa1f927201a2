"""SSE sessions share encoded frames and snapshot reads, never older than a client was sent."""

from __future__ import annotations

import anyio
import pytest
from litestar.response import ServerSentEventMessage

from application.reads.ports import LogFilter
from application.reads.rows import LogRow
from domain.observations.search import SearchQuery
from interfaces.http.stream_shared import (
    SHARE_S,
    EncodedFrame,
    Snapshot,
    StreamShared,
    encoded_frame,
)

EVERYTHING = LogFilter(SearchQuery())
ONLY_SSH = LogFilter(SearchQuery(columns=(("service", "ssh"),)))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def row(ident: int) -> LogRow:
    return LogRow(
        ident, "2026-12-05T10:00:00Z", "decky-01", "ssh", "login", "10.0.0.1", "m", "{}", "raw"
    )


class Reads:
    """Counts snapshot reads; each waits for `release` so reads can overlap."""

    def __init__(self) -> None:
        self.count = 0
        self.release = anyio.Event()

    async def __call__(self) -> Snapshot:
        self.count += 1
        await self.release.wait()
        return [ServerSentEventMessage(data=f"read {self.count}")]


def test_the_same_rows_are_encoded_once_as_litestar_would() -> None:
    """Two sessions sending the same rows get one frame; its bytes are Litestar's for it."""
    shared = StreamShared()
    rows = [row(1), row(2)]
    frame = shared.logs_frame(rows)
    assert shared.logs_frame([row(1), row(2)]) is frame
    assert shared.logs_frame([row(2)]) is not frame
    plain = ServerSentEventMessage(data=frame.data, event="message", id=2)
    assert frame.encode() == plain.encode()
    assert b'"type":"logs"' in frame.encode()


@pytest.mark.anyio
async def test_sessions_asking_together_share_one_read() -> None:
    """Ten sessions at the same commit: one read, one answer for all."""
    shared, reads = StreamShared(), Reads()
    answers: list[Snapshot] = []

    async def ask() -> None:
        answers.append(await shared.snapshot(EVERYTHING, 5, reads))

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(ask)
        await anyio.sleep(0.01)
        reads.release.set()
    assert reads.count == 1
    assert all(a is answers[0] for a in answers)


@pytest.mark.anyio
async def test_a_session_past_the_reads_commit_reads_again() -> None:
    """A read begun at commit 5 does not answer a session that was sent commit 6."""
    shared, reads = StreamShared(), Reads()
    reads.release.set()
    await shared.snapshot(EVERYTHING, 5, reads)
    await shared.snapshot(EVERYTHING, 5, reads)
    assert reads.count == 1
    await shared.snapshot(EVERYTHING, 6, reads)
    assert reads.count == 2


@pytest.mark.anyio
async def test_reads_are_per_filter_and_at_most_a_second_old() -> None:
    """Another filter reads on its own; past `SHARE_S` the same filter reads again."""
    clock = Clock()
    shared, reads = StreamShared(clock), Reads()
    reads.release.set()
    await shared.snapshot(EVERYTHING, 5, reads)
    await shared.snapshot(ONLY_SSH, 5, reads)
    assert reads.count == 2
    clock.now += SHARE_S + 0.1
    await shared.snapshot(EVERYTHING, 5, reads)
    assert reads.count == 3


@pytest.mark.anyio
async def test_a_joined_snapshot_sends_the_same_bytes_in_one_message() -> None:
    """Joined, the stats and histogram frames are one message holding both frames' bytes."""
    shared = StreamShared()

    async def read() -> Snapshot:
        return [encoded_frame("stats", {"total_logs": 1}), encoded_frame("histogram", [])]

    frames = await shared.snapshot(EVERYTHING, 1, read)
    (one,) = await shared.snapshot(EVERYTHING, 1, read, join=True)
    assert isinstance(one, EncodedFrame)
    assert one.frames == 2
    assert one.encode() == frames[0].encode() + frames[1].encode()
