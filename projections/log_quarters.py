"""Rows per UTC quarter hour of the heavy tokens: a one-word histogram without its rows (ADR 0028).

`log_token_quarters` holds, for exactly the tokens the dictionary (`log_tokens`) counts in at
least `HEAVY` rows, how many rows holding the token fall in each quarter hour
(`date_bin('15 minutes', ts, 'epoch')`). A function of the rows alone, so a rebuild makes the
same table as the live writes: a token's quarters are made from its rows when it crosses
`HEAVY` (those rows include the batch that crosses) and each later batch adds its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from psycopg import AsyncCursor

from projections.observed import EPOCH, add_counts, units_since_epoch

if TYPE_CHECKING:
    from projections.logs_schema import LogTables

# Tokens held by fewer rows than this have no quarters (a one-word histogram of one counts its
# rows: under 1,000 of them). At 10M logs 969 of 130,000 tokens are this heavy: their quarters
# are at most ~970 x 672 rows for a week, where every token's would be ~19.5M.
HEAVY = 1_000
P = TypeVar("P")  # a part of a batch its rows are counted by (a quarter, column values)
QUARTER = timedelta(minutes=15)
QUARTER_MINUTES = 15
BIN = "date_bin('15 minutes', {}, 'epoch'::timestamptz)"


def quarter_keys(stamps: Sequence[datetime]) -> list[float] | list[int]:
    """Each timestamp's UTC quarter hour as quarters since the epoch (`quarter_of` turns one
    into its start)."""
    return units_since_epoch(stamps, QUARTER)


def quarter_of(key: float) -> datetime:
    return EPOCH + int(key) * QUARTER


def heavy_split(batch: Counter[str], counted: list[tuple[Any, ...]]) -> tuple[set[str], list[str]]:
    """Of the keys whose new dictionary count (`counted`: key, count) is at least `HEAVY`, the
    ones already that heavy before the batch (`batch`: its own rows per key), and the ones
    crossing `HEAVY` in it, sorted."""
    threshold = HEAVY
    before = {key for key, count in counted if count - batch[key] >= threshold}
    crossing = sorted(key for key, count in counted if count - batch[key] < threshold)
    return before, crossing


def heavy_counts(
    keys: set[str], by_part: dict[P, Counter[str]], label: Callable[[P], tuple[Any, ...]]
) -> Counter[tuple[Any, ...]]:
    """The rows per (key, *label(part)) of a batch for `keys` only, sorted, from the batch's
    rows per key in each part of it (counted with the rows: no Python a row here)."""
    counts = {
        (key, *label(part)): held[key]
        for part, held in by_part.items()
        for key in keys.intersection(held)
    }
    return Counter(dict(sorted(counts.items())))


def batch_quarters(
    tokens: set[str], by_quarter: dict[float, Counter[str]]
) -> Counter[tuple[Any, ...]]:
    """The rows per (token, UTC quarter) of a batch for `tokens` only, sorted by key, from the
    batch's rows per token in each quarter."""
    return heavy_counts(tokens, by_quarter, lambda key: (quarter_of(key),))


async def add_quarters(
    cur: AsyncCursor[Any],
    t: LogTables,
    batch: Counter[str],
    counted: list[tuple[Any, ...]],
    by_quarter: dict[float, Counter[str]],
) -> None:
    """Keep the quarters after a batch's dictionary upsert, in its transaction.

    `counted` holds each batch token whose new dictionary count is at least `HEAVY`, with that
    count. Heavy before the batch: the batch's own rows are added per quarter. Crossing `HEAVY`
    in this batch: made from the rows (the batch's included), keys sorted.
    """
    before, crossing = heavy_split(batch, counted)
    if before:
        quarters = await anyio.to_thread.run_sync(batch_quarters, before, by_quarter)
        await add_counts(cur, t.quarters, ("token", "quarter"), ("text", "timestamptz"), quarters)
    if crossing:
        await cur.execute(
            f"INSERT INTO {t.quarters} (token, quarter, count) SELECT c.token, q.quarter, q.n"
            " FROM unnest(%s::text[]) AS c(token) CROSS JOIN LATERAL"
            f" (SELECT {BIN.format('ts')} AS quarter, count(*) AS n FROM {t.logs}"
            " WHERE tokens @> ARRAY[c.token] GROUP BY 1) q ORDER BY 1, 2",
            (crossing,),
        )


def quarters_from_rows(t: LogTables) -> tuple[str, list[Any]]:
    """The statement filling the quarters of a bulk-loaded model (its dictionary made first)."""
    # Aggregated apart, then sorted: the planner cannot tell how many of the rows' tokens are
    # heavy (most are), and asked for sorted groups it sorts every (token, row) pair instead
    # of the groups (at 1M rows 16.5M pairs on disk, 15-40 s, against 9 s hashed).
    return (
        f"WITH q AS MATERIALIZED (SELECT token, {BIN.format('ts')} AS quarter, count(*) AS n"
        f" FROM {t.logs}, unnest(tokens) AS token"
        f" WHERE token IN (SELECT token FROM {t.tokens} WHERE count >= %s) GROUP BY 1, 2)"
        f" INSERT INTO {t.quarters} (token, quarter, count) SELECT token, quarter, n FROM q"
        " ORDER BY 1, 2",  # a token's quarters on adjacent pages
        [HEAVY],
    )
