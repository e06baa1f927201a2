"""The shipper's spool: ordered lines on disk, a durable cursor, a byte bound."""

from __future__ import annotations

from pathlib import Path

import pytest

from infrastructure.shipper.spool import Position, Spool, SpoolFullError


def lines(n: int, first: int = 0) -> list[bytes]:
    return [f"line {i}".encode() for i in range(first, first + n)]


def test_lines_come_back_in_order_until_committed(tmp_path: Path) -> None:
    """Given appended lines, reading returns them in order and again until committed."""
    spool = Spool(tmp_path)
    for line in lines(5):
        spool.append(line)
    batch = spool.read(1024)
    assert batch.lines == lines(5)
    assert spool.read(1024).lines == lines(5)  # not committed: still there
    spool.commit(batch.end)
    assert spool.read(1024).lines == []
    assert spool.pending_bytes == 0


def test_a_reopened_spool_resumes_at_the_cursor(tmp_path: Path) -> None:
    """Given a commit half-way, a new Spool on the directory (a restart) starts after it."""
    spool = Spool(tmp_path, segment_bytes=32)
    for line in lines(10):
        spool.append(line)
    first = spool.read(30)
    spool.commit(first.end)
    reopened = Spool(tmp_path, segment_bytes=32)
    assert reopened.read(10_000).lines == lines(10)[len(first.lines) :]
    assert reopened.pending_bytes == spool.pending_bytes


def test_sent_segments_are_deleted(tmp_path: Path) -> None:
    """Given lines across several segments, committing past a segment removes its file."""
    spool = Spool(tmp_path, segment_bytes=16)
    for line in lines(8):
        spool.append(line)
    assert len(list(tmp_path.glob("*.spool"))) > 2
    spool.commit(spool.read(10_000).end)
    assert len(list(tmp_path.glob("*.spool"))) == 1  # the one being written stays


def test_the_bound_refuses_and_frees_on_commit(tmp_path: Path) -> None:
    """Given a full spool, append raises SpoolFullError until a commit makes room."""
    spool = Spool(tmp_path, max_bytes=30)
    spool.append(b"a" * 14)
    spool.append(b"b" * 14)
    with pytest.raises(SpoolFullError):
        spool.append(b"c")
    batch = spool.read(15)
    assert batch.lines == [b"a" * 14]
    spool.commit(batch.end)
    spool.append(b"c")
    assert spool.read(100).lines == [b"b" * 14, b"c"]


def test_a_line_longer_than_the_read_budget_is_read_whole(tmp_path: Path) -> None:
    """Given a line larger than the requested bytes, read still returns it whole."""
    spool = Spool(tmp_path)
    spool.append(b"x" * 100)
    spool.append(b"y")
    assert spool.read(10).lines == [b"x" * 100]


def test_line_feeds_are_refused(tmp_path: Path) -> None:
    """A line with LF would split into two records: refused."""
    with pytest.raises(ValueError, match="LF"):
        Spool(tmp_path).append(b"a\nb")


def test_commit_never_moves_back(tmp_path: Path) -> None:
    """An older position (a late duplicate commit) leaves the cursor where it is."""
    spool = Spool(tmp_path)
    spool.append(b"one")
    end = spool.read(100).end
    spool.commit(end)
    spool.commit(Position(0, 0))
    assert spool.cursor == end
