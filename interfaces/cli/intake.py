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
import sys

import anyio
import structlog

from infrastructure.collector.report import ENCODER, IntakeReport
from infrastructure.settings import AppSettings
from interfaces.cli.collecting import collecting
from interfaces.cli.lifecycle import LOOP, Shutdown, run_with_settings
from interfaces.observations import Collection

log = structlog.get_logger()


def main() -> int:
    """Run the intake until stopped; 2 on a configuration error."""
    return run_with_settings(
        "decnet intake", lambda settings: int(anyio.run(run_intake, settings, backend_options=LOOP))
    )


async def run_intake(settings: AppSettings) -> int:
    """Collect until stopped, answering the parent's requests for reports."""
    shutdown = Shutdown()
    shutdown.install()
    async with collecting(settings) as (services, tg):
        _report(services.collection)
        tg.start_soon(_answer_parent, services.collection, tg.cancel_scope, shutdown)
        await shutdown.requested.wait()
    log.info("decnet_intake_stopped")
    return 0


def _report(collection: Collection) -> None:
    """The counters and health now, as one line on stdout (the parent's pipe)."""
    listeners = collection.listeners
    assert listeners is not None  # the collector role listens
    report = IntakeReport.of(collection.sink, listeners.health(), collection.batcher.health())
    with contextlib.suppress(BrokenPipeError):  # the parent is gone: stdin's end stops us
        sys.stdout.buffer.write(ENCODER.encode(report) + b"\n")
        sys.stdout.buffer.flush()


async def _answer_parent(
    collection: Collection, scope: anyio.CancelScope, shutdown: Shutdown
) -> None:
    """A report per line on stdin; end of file means the parent exited or was killed (or is
    stopping us: it signals first, then closes the pipe, so that is no news)."""
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
    if not shutdown.requested.is_set():
        log.warning("decnet_intake_parent_gone")
    scope.cancel()


if __name__ == "__main__":
    sys.exit(main())
