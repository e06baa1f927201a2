"""One intake per data dir: a second waits for the journal's lock, then gives up with one line."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from infrastructure.settings import ConfigError
from interfaces.cli import collecting


@contextmanager
def held(data_dir: Path) -> Iterator[int]:
    """The lock as another intake holds it (its own open file: flock conflicts across them)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / collecting.LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        yield fd
    finally:
        os.close(fd)


def test_a_second_intake_gives_up_after_the_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(collecting, "LOCK_WAIT_S", 0.3)
    with held(tmp_path):
        began = time.monotonic()
        with (
            pytest.raises(ConfigError, match="another intake holds"),
            collecting._journal_lock(tmp_path),
        ):
            pytest.fail("took a lock another intake holds")
        assert 0.3 <= time.monotonic() - began < 5


def test_a_second_intake_takes_the_lock_once_it_is_released(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(collecting, "LOCK_WAIT_S", 10.0)
    first = os.open(tmp_path / collecting.LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(first, fcntl.LOCK_EX | fcntl.LOCK_NB)
    threading.Timer(0.3, fcntl.flock, (first, fcntl.LOCK_UN)).start()  # the first intake exits
    try:
        began = time.monotonic()
        with collecting._journal_lock(tmp_path):
            waited = time.monotonic() - began
    finally:
        os.close(first)
    assert 0.25 <= waited < 5


def test_the_lock_is_released_when_the_intake_stops(tmp_path: Path) -> None:
    with collecting._journal_lock(tmp_path):
        pass
    with held(tmp_path):  # would raise BlockingIOError if still held
        pass
