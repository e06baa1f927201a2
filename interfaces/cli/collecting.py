"""What `decnet collector` and `decnet serve`'s intake child run alike: the data dir's journal,
owned by one process at a time, and the intake of `bootstrap_intake` with its workers."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import anyio.to_thread
from anyio.abc import TaskGroup

from infrastructure.settings import AppSettings, ConfigError
from interfaces.intake_bootstrap import IntakeServices, bootstrap_intake
from interfaces.store_core import stop_store_waits

LOCK_WAIT_S = 30.0
LOCK_FILE = "intake.lock"


@contextlib.asynccontextmanager
async def collecting(settings: AppSettings) -> AsyncIterator[tuple[IntakeServices, TaskGroup]]:
    """Own the data dir's journal and run the intake (listening once this yields) until the
    block ends or the task group is cancelled; then stop it and release the journal."""
    with await anyio.to_thread.run_sync(_journal_lock, settings.data_dir):
        async with bootstrap_intake(settings) as services, anyio.create_task_group() as tg:
            await services.core.start_workers(tg)
            yield services, tg
            tg.cancel_scope.cancel()
            await stop_store_waits(services.core.store)


@contextlib.contextmanager
def _journal_lock(data_dir: Path) -> Iterator[None]:
    """One intake per data dir: a process stopped or killed just before may still be closing the
    journal, and two appending to it would corrupt it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + LOCK_WAIT_S
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ConfigError(
                        f"another intake holds {data_dir / LOCK_FILE}: is a server or a"
                        " collector running on this data dir?"
                    ) from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)  # releases the lock
