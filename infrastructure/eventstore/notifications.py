"""New events exist: PostgreSQL's own notification, sent by the recorder with every append.

The recorder runs `NOTIFY <channel>` inside each append's transaction, so a listener hears of an
append when it commits, whichever process wrote it. `decnet serve` wakes its projection runner
this way when its intake process appends (no Redis there); split processes use Redis wake-ups.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import psycopg
import structlog
from psycopg.sql import SQL, Identifier

log = structlog.get_logger()
RETRY_S = 0.5


def store_channel(recorder: object) -> str:
    """The channel the PostgreSQL recorder notifies on (the events table's name)."""
    channel = getattr(recorder, "channel_name", None)
    if not isinstance(channel, str):
        raise TypeError(f"{type(recorder).__name__} sends no PostgreSQL notifications")
    return channel


async def follow_notifications(url: str, channel: str, wake: Callable[[], None]) -> None:
    """Call `wake()` for every notification on `channel` until cancelled; reconnect on failure.

    After a reconnect `wake()` is called once: appends may have committed while nobody listened.
    """
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                await conn.execute(SQL("LISTEN {0}").format(Identifier(channel)))
                wake()
                async for _notify in conn.notifies():
                    wake()
        except psycopg.Error as e:  # the runner still polls meanwhile: only latency suffers
            log.warning("store_notifications_lost", channel=channel, error=str(e))
            await asyncio.sleep(RETRY_S)
