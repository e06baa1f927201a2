"""`decnet collector`, the split topology's syslog intake: listeners → journal → batcher → event
store, each save announced on Redis so the projector wakes at once (ADR 0017), the collection's
counters on `/metrics` when `DECNET_METRICS_PORT` is set.

It is built and run as `decnet serve`'s intake child is (`interfaces.intake_bootstrap`,
`interfaces.cli.collecting`; ADR 0024's addendum), not by `bootstrap()`: it imports none of the
API, projection, fleet or emulator stacks, so a restarted collector refuses syslog senders for a
fraction of the time. An import-linter contract keeps it so.
"""

from __future__ import annotations

import structlog

from infrastructure.settings import AppSettings
from interfaces.cli.collecting import collecting
from interfaces.cli.lifecycle import Shutdown, require_shared

log = structlog.get_logger()


async def run_collector(settings: AppSettings) -> int:
    """Collect until SIGINT/SIGTERM."""
    require_shared(settings, "collector")
    shutdown = Shutdown()
    shutdown.install()
    async with collecting(settings):
        log.info("decnet_collecting", port=settings.syslog_port)
        await shutdown.requested.wait()
    return 0
