"""`decnet serve`'s intake child: syslog listeners → journal → batcher → event store.

Started by `interfaces.intake.IntakeProcess` (never by hand): `python -m interfaces.cli.intake`
with the parent's environment plus `DECNET_DATABASE_URL` of the database the parent opened. It
writes one JSON `IntakeReport` line on stdout once it listens, then one per line the parent
writes on its stdin (so a `/health` read sees every count made before it asked); it stops on
SIGTERM/SIGINT and when its stdin closes (the parent is gone, even if killed).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import anyio.to_thread
import structlog

from infrastructure.collector.report import ENCODER, IntakeReport
from infrastructure.settings import AppSettings, ConfigError
from interfaces.cli.lifecycle import LOOP, Shutdown, run_with_settings
from interfaces.intake_bootstrap import bootstrap_intake
from interfaces.observations import Collection

log = structlog.get_logger()
LOCK_WAIT_S = 30.0
LOCK_FILE = "intake.lock"


def main() -> int:
    """Run the intake until stopped; 2 on a configuration error."""
    return run_with_settings(
        "decnet intake", lambda settings: int(anyio.run(run_intake, settings, backend_options=LOOP))
    )


async def run_intake(settings: AppSettings) -> int:
    """Own the data dir's journal, collect until stopped, then close the journal."""
    shutdown = Shutdown()
    shutdown.install()
    with await anyio.to_thread.run_sync(_journal_lock, settings.data_dir):
        async with (
            bootstrap_intake(settings) as services,
            anyio.create_task_group() as tg,
        ):
            await services.core.start_workers(tg)
            _report(services.collection)
            tg.start_soon(_answer_parent, services.collection, tg.cancel_scope)
            await shutdown.requested.wait()
            tg.cancel_scope.cancel()
    log.info("decnet_intake_stopped")
    return 0


@contextlib.contextmanager
def _journal_lock(data_dir: Path) -> Iterator[None]:
    """One intake per data dir: a child of a killed server may still be closing the journal."""
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
                        f"another intake holds {data_dir / LOCK_FILE}: is a server running?"
                    ) from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)  # releases the lock


def _report(collection: Collection) -> None:
    """The counters and health now, as one line on stdout (the parent's pipe)."""
    listeners = collection.listeners
    assert listeners is not None  # the collector role listens
    report = IntakeReport.of(collection.sink, listeners.health(), collection.batcher.health())
    with contextlib.suppress(BrokenPipeError):  # the parent is gone: stdin's end stops us
        sys.stdout.buffer.write(ENCODER.encode(report) + b"\n")
        sys.stdout.buffer.flush()


async def _answer_parent(collection: Collection, scope: anyio.CancelScope) -> None:
    """A report per line on stdin; end of file means the parent exited or was killed."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    try:
        while await reader.readline():
            _report(collection)
    finally:
        transport.close()
    log.warning("decnet_intake_parent_gone")
    scope.cancel()


if __name__ == "__main__":
    sys.exit(main())
