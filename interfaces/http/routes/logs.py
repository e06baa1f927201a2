"""`/logs`, `/logs/histogram`, `/bounty`, `/stats`."""

from __future__ import annotations

from typing import Annotated, Any, cast

import msgspec
from litestar import Request, get

from application.reads.rows import HistogramBucket, Stats
from domain.shared.errors import InvalidError
from interfaces.http.auth import requires_command
from interfaces.http.params import (
    SUBSTRING,
    EndTime,
    Limit,
    Offset,
    SearchParam,
    StartTime,
    given,
    int_param,
    integer,
    log_filter,
    one_of,
    page,
    query,
    substring,
)
from interfaces.http.schemas import (
    BountyPage,
    DeadLetterPage,
    LogPage,
    spliced_page,
)
from interfaces.http.views import ViewParam, readers_for
from projections.attackers_queries import BOUNTY_TYPES

IntervalMinutes = Annotated[
    str | None, query("Bucket width in minutes (default 15)", integer(1, 525_600))
]
BountyType = Annotated[str | None, query("Only this kind of bounty", one_of(*sorted(BOUNTY_TYPES)))]
BountySearch = Annotated[
    str | None,
    query("Case-insensitive substring of the payload, attacker IP, decky or service", SUBSTRING),
]


@get("/logs", tags=["logs"])
async def list_logs(
    request: Request[Any, Any, Any],
    limit: Limit = None,
    offset: Offset = None,
    search: SearchParam = None,
    start_time: StartTime = None,
    end_time: EndTime = None,
    view: ViewParam = None,
) -> LogPage:
    """Log rows, newest first, filtered by the search language and a time range."""
    size, skip = page(limit, offset)
    total, rows = await (await readers_for(request, view)).logs.page_json(
        log_filter(search, start_time, end_time), size, skip
    )
    return spliced_page(LogPage, total, size, skip, rows)


@get("/logs/histogram", tags=["logs"])
async def histogram(
    request: Request[Any, Any, Any],
    search: SearchParam = None,
    start_time: StartTime = None,
    end_time: EndTime = None,
    interval_minutes: IntervalMinutes = None,
    view: ViewParam = None,
) -> list[HistogramBucket]:
    """Counts per time bucket (interval ≥ 1 minute, default 15), ascending."""
    interval = int_param("interval_minutes", interval_minutes, 15, 1, 525_600)
    f = log_filter(search, start_time, end_time)
    buckets = await (await readers_for(request, view)).logs.histogram_json(f, interval)
    return cast(list[HistogramBucket], msgspec.Raw(buckets))  # encoded as they are declared


@get("/logs/dead-letters", guards=[requires_command], tags=["logs"])
async def list_dead_letters(
    request: Request[Any, Any, Any],
    limit: Limit = None,
    offset: Offset = None,
    view: ViewParam = None,
) -> DeadLetterPage:
    """Lines the collector could not parse (admin), newest first: why, the raw line, from where."""
    size, skip = page(limit, offset)
    total, rows = await (await readers_for(request, view)).logs.dead_letters(size, skip)
    return DeadLetterPage(total, size, skip, list(rows))


@get("/bounty", tags=["bounty"])
async def list_bounty(
    request: Request[Any, Any, Any],
    limit: Limit = None,
    offset: Offset = None,
    bounty_type: BountyType = None,
    search: BountySearch = None,
    view: ViewParam = None,
) -> BountyPage:
    """Harvested credentials, fingerprints and artifacts, newest first."""
    size, skip = page(limit, offset)
    kind = given(bounty_type)
    if kind is not None and kind not in BOUNTY_TYPES:
        raise InvalidError(f"bounty_type must be one of {', '.join(sorted(BOUNTY_TYPES))}")
    readers = await readers_for(request, view)
    total, rows = await readers.attackers.bounty_json(kind, substring("search", search), size, skip)
    return spliced_page(BountyPage, total, size, skip, rows)


@get("/stats", tags=["stats"])
async def stats(request: Request[Any, Any, Any], view: ViewParam = None) -> Stats:
    """Totals from the read models: logs, attackers, deckies."""
    return await (await readers_for(request, view)).stats.stats()
