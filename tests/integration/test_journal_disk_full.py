"""The journal on a full disk: a refused write keeps no part of its frame, and appends resume
once space returns (a small tmpfs mounted for the test; root only)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from domain.observations.batch import RejectedLine
from domain.observations.records import InteractionRecord
from infrastructure.collector.journal import Journal, JournalFull
from tests.api.collector_support import small_disk
from tests.integration.observations_fixtures import record

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


def read_all(journal: Journal) -> list[InteractionRecord | RejectedLine]:
    entries: list[InteractionRecord | RejectedLine] = []
    for segment in journal.segments():
        offset = 0
        while chunk := journal.read(segment, offset, 1000):
            if not chunk.entries:
                assert offset == journal.size(segment), f"unreadable bytes in {segment}"
                break
            entries.extend(chunk.entries)
            offset = chunk.end_offset
    return entries


def test_refused_writes_leave_no_torn_frame_and_appends_resume(tmp_path: Path) -> None:
    """Appends until the disk refuses: every kept frame reads back whole, none of the refused
    one is kept, and after freeing space the next append follows on readably."""
    with small_disk(tmp_path / "disk", "256k") as disk:
        filler = disk / "filler"
        filler.write_bytes(b"\0" * 128 * 1024)
        journal = Journal(disk / "journal", fsync="off")
        big = "x" * 3000  # frames that rarely fit the last free bytes exactly
        kept: list[InteractionRecord] = []
        with pytest.raises(JournalFull):  # noqa: PT012 - the loop runs until the disk refuses
            for seq in range(1000):
                entry = record(seq, msg=big)
                journal.append(entry)
                kept.append(entry)
        with pytest.raises(JournalFull):
            journal.append(record(5000))
        assert read_all(journal) == kept
        filler.unlink()
        journal.append(record(5001))
        journal.close()
        assert read_all(journal) == [*kept, record(5001)]
