"""New events exist: PostgreSQL's own notification, sent by the recorder with every append.

The recorder runs `NOTIFY <channel>` inside each append's transaction, so a listener hears of an
append when it commits, whichever process wrote it. `decnet serve` wakes its projection runner
this way when its intake process appends (no Redis there); split processes use Redis wake-ups.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import psycopg
import structlog
from psycopg.sql import SQL, Identifier

log = structlog.get_logger()
RETRY_S = 0.5
MAX_RETRY_S = 5.0


def store_channel(recorder: object) -> str:
    """The channel the PostgreSQL recorder notifies on (the events table's name)."""
    channel = getattr(recorder, "channel_name", None)
    if not isinstance(channel, str):
        raise TypeError(f"{type(recorder).__name__} sends no PostgreSQL notifications")
    return channel


async def follow_notifications(url: str, channel: str, wake: Callable[[], None]) -> None:
    """Call `wake()` for every notification on `channel` until cancelled; reconnect on failure.

    After a reconnect `wake()` is called once: appends may have committed while nobody listened.
    Reconnections back off from `RETRY_S` to `MAX_RETRY_S`; an outage is logged once when it
    begins (`store_notifications_lost`) and once when it ends (`store_notifications_resumed`).
    """
    delay = RETRY_S
    lost_at: float | None = None
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                await conn.execute(SQL("LISTEN {0}").format(Identifier(channel)))
                if lost_at is not None:
                    down_s = round(time.monotonic() - lost_at, 1)
                    log.info("store_notifications_resumed", channel=channel, down_s=down_s)
                lost_at, delay = None, RETRY_S
                wake()
                async for _notify in conn.notifies():
                    wake()
        except psycopg.Error as e:  # the runner still polls meanwhile: only latency suffers
            if lost_at is None:
                lost_at = time.monotonic()
                log.warning("store_notifications_lost", channel=channel, error=str(e))
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_S)
