"""Rows per column values of the heavy pairs: a field term's total under column terms without
its rows (ADR 0029).

`log_pair_values` holds, for exactly the pairs the dictionary (`log_pairs`) counts in at least
`HEAVY` rows, how many rows holding the pair have each (decky, service, event_type). A function
of the rows alone, so a rebuild makes the same table as the live writes: a pair's values are
made from its rows when it crosses `HEAVY` (those rows include the batch that crosses) and each
later batch adds its own. A pair under `HEAVY` has no values: its total visits fewer rows.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from psycopg import AsyncCursor

from projections import log_quarters
from projections.observed import add_counts

if TYPE_CHECKING:
    from projections.logs_schema import LogTables

Values = tuple[str, str, str]  # (decky, service, event_type)
KEY = ("pair", "decky", "service", "event_type")


def batch_pair_values(
    pairs: set[str], by_values: dict[Values, Counter[str]]
) -> Counter[tuple[Any, ...]]:
    """The rows per (pair, decky, service, event_type) of a batch for `pairs` only, sorted by
    key, from the batch's rows per pair under each column values."""
    return log_quarters.heavy_counts(pairs, by_values, lambda values: values)


async def add_pair_values(
    cur: AsyncCursor[Any],
    t: LogTables,
    batch: Counter[str],
    counted: list[tuple[Any, ...]],
    by_values: dict[Values, Counter[str]],
) -> None:
    """Keep the heavy pairs' column values after a batch's dictionary upsert, in its
    transaction (`counted`: each batch pair whose new count is at least `HEAVY`, with it)."""
    before, crossing = log_quarters.heavy_split(batch, counted)
    if before:
        values = batch_pair_values(before, by_values)
        await add_counts(cur, t.pair_values, KEY, ("text",) * 4, values)
    if crossing:
        await cur.execute(
            f"INSERT INTO {t.pair_values} (pair, decky, service, event_type, count)"
            " SELECT c.pair, r.decky, r.service, r.event_type, count(*)"
            f" FROM unnest(%s::text[]) AS c(pair) JOIN {t.logs} r ON r.pairs @> ARRAY[c.pair]"
            " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
            (crossing,),
        )


def pair_values_from_rows(t: LogTables) -> tuple[str, list[Any]]:
    """The statement filling the pair values of a bulk-loaded model (its dictionary made
    first)."""
    # Aggregated apart, then sorted, as the quarters (`quarters_from_rows`).
    return (
        "WITH v AS MATERIALIZED (SELECT pair, decky, service, event_type, count(*) AS n"
        f" FROM {t.logs}, unnest(pairs) AS pair"
        f" WHERE pair IN (SELECT pair FROM {t.pairs} WHERE count >= %s) GROUP BY 1, 2, 3, 4)"
        f" INSERT INTO {t.pair_values} (pair, decky, service, event_type, count)"
        " SELECT pair, decky, service, event_type, n FROM v ORDER BY 1, 2, 3, 4",
        [log_quarters.HEAVY],
    )
