"""Uploads written from worker threads: once abandoned or settled, an upload changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from infrastructure.artifacts.store import ArtifactStore
from infrastructure.artifacts.writer import QuotaExceeded
from infrastructure.emulators.ssh.upload import Upload


def test_an_abandoned_upload_refuses_late_writes_and_leaves_nothing(tmp_path: Path) -> None:
    """A write still in flight at teardown stores no file, not even a temporary one."""
    store = ArtifactStore(tmp_path, max_per_decky=8)
    upload = Upload(store, "shell-01", "ssh", "/tmp/x")
    upload.abort()
    with pytest.raises(ValueError, match="abandoned"):
        upload.write(0, b"ABCD")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    assert store.save("shell-01", "ssh", "/tmp/y", b"12345678").size == 8


def test_aborting_a_finished_upload_keeps_its_bytes_counted(tmp_path: Path) -> None:
    """An abort racing a close after the file was stored gives back nothing of the decky's cap."""
    store = ArtifactStore(tmp_path, max_per_decky=10)
    writer = store.open_upload("shell-01", "ftp", "/pub/a")
    writer.write(b"12345678")
    captured = writer.finish()
    writer.abort()
    assert captured.path.read_bytes() == b"12345678"
    with pytest.raises(QuotaExceeded):
        store.save("shell-01", "ftp", "/pub/b", b"12345")
