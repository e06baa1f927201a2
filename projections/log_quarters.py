"""Rows per UTC quarter hour of the heavy tokens: a one-word histogram without its rows (ADR 0028).

`log_token_quarters` holds, for exactly the tokens the dictionary (`log_tokens`) counts in at
least `HEAVY` rows, how many rows holding the token fall in each quarter hour
(`date_bin('15 minutes', ts, 'epoch')`). A function of the rows alone, so a rebuild makes the
same table as the live writes: a token's quarters are made from its rows when it crosses
`HEAVY` (those rows include the batch that crosses) and each later batch adds its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import anyio
from psycopg import AsyncCursor

from projections.observed import add_counts

if TYPE_CHECKING:
    from projections.logs_schema import LogTables

# Tokens held by fewer rows than this have no quarters (a one-word histogram of one counts its
# rows: under 1,000 of them). At 10M logs 969 of 130,000 tokens are this heavy: their quarters
# are at most ~970 x 672 rows for a week, where every token's would be ~19.5M.
HEAVY = 1_000
QUARTER = timedelta(minutes=15)
QUARTER_MINUTES = 15
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BIN = "date_bin('15 minutes', {}, 'epoch'::timestamptz)"
# `ts.timestamp() // 900` is exact while a double's step stays under 1 µs (±2^33 s of 1970).
_FLOAT_EXACT_QUARTERS = 2**33 // 900


def quarter_keys(stamps: Sequence[datetime]) -> list[float] | list[int]:
    """Each timestamp's UTC quarter hour as quarters since the epoch (`quarter_of` turns one
    into its start)."""
    keys = [ts.timestamp() // 900 for ts in stamps]
    if keys and not -_FLOAT_EXACT_QUARTERS < min(keys) <= max(keys) < _FLOAT_EXACT_QUARTERS:
        return [(ts - EPOCH) // QUARTER for ts in stamps]
    return keys


def quarter_of(key: float) -> datetime:
    return EPOCH + int(key) * QUARTER


def batch_quarters(
    tokens: set[str], by_quarter: dict[float, Counter[str]]
) -> Counter[tuple[str, datetime]]:
    """The rows per (token, UTC quarter) of a batch for `tokens` only, sorted by key, from the
    batch's rows per token in each quarter (counted with the rows: no Python a row here)."""
    counts = {
        (token, quarter_of(key)): held[token]
        for key, held in by_quarter.items()
        for token in tokens.intersection(held)
    }
    return Counter(dict(sorted(counts.items())))


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
    threshold = HEAVY
    before = {token for token, count in counted if count - batch[token] >= threshold}
    crossing = sorted(token for token, count in counted if count - batch[token] < threshold)
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
    return (
        f"INSERT INTO {t.quarters} (token, quarter, count)"
        f" SELECT token, {BIN.format('ts')}, count(*) FROM {t.logs}, unnest(tokens) AS token"
        f" WHERE token IN (SELECT token FROM {t.tokens} WHERE count >= %s) GROUP BY 1, 2"
        " ORDER BY 1, 2",  # a token's quarters on adjacent pages
        [HEAVY],
    )
