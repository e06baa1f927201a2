"""Exact totals of column filters from the counts the logs model commits with its rows (ADR 0026).

A filter on decky / service / event_type alone, with or without a time range, is summed from
the counts: whole UTC hours (and, without column terms, whole minutes) from the count tables,
only the partial ones at the two ends of the range from the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from application.reads.ports import LogFilter
from projections.logs_schema import DIMENSIONS, LogTables
from projections.observed import ceil_to, floor_to

COUNTED_COLUMNS = frozenset(DIMENSIONS)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class _Level:
    """A count table answering whole units of time: its time key and counted column."""

    source: str
    key: str
    unit: timedelta
    counted: str


def counted_total(t: LogTables, f: LogFilter) -> tuple[str, list[Any]] | None:
    """The SQL (one SELECT of scalar subqueries) of the exact total of `f`, or None when counts
    cannot answer it (words, field terms, attacker_ip, or no filter: the total counter does)."""
    columns = {c for c, _ in f.query.columns}
    if f.is_empty or not (f.query.only_columns and columns <= COUNTED_COLUMNS):
        return None
    conds = [f"{c} = %s" for c, _ in f.query.columns]
    values: list[Any] = [v for _, v in f.query.columns]
    if f.start is None and f.end is None:
        return _sum_of(t.values, conds, values, "count")
    parts: list[tuple[str, list[Any]]] = []
    segments = [_Segment(f.start, f.end, True)]
    for level in _levels(t, columns):
        rest: list[_Segment] = []
        for segment in segments:
            whole, remainder = segment.split(level.unit)
            if whole is not None:
                within, bound_values = bounds(level.key, *whole, inclusive=False)
                parts.append(
                    _sum_of(
                        level.source, [*conds, *within], [*values, *bound_values], level.counted
                    )
                )
            rest.extend(remainder)
        segments = rest
    for segment in segments:
        within, bound_values = bounds("ts", segment.lo, segment.hi, segment.inclusive)
        parts.append(_sum_of(t.logs, [*conds, *within], [*values, *bound_values], None))
    return (
        "SELECT " + " + ".join(f"({sql})" for sql, _ in parts),
        [v for _, params in parts for v in params],
    )


def _levels(t: LogTables, columns: set[str]) -> list[_Level]:
    """Where whole units come from: one column's per-hour table (one row an hour); for several,
    the matching value combinations (the small per-values table) joined to their hours; without
    column terms the rows per hour, then per minute."""
    if len(columns) == 1:
        return [_Level(t.hours_by(next(iter(columns))), "hour", HOUR, "count")]
    if columns:
        joined = f"{t.values} v JOIN {t.hour_values} h USING (decky, service, event_type)"
        return [_Level(joined, "hour", HOUR, "h.count")]
    return [_Level(t.hours, "hour", HOUR, "count"), _Level(t.minutes, "minute", MINUTE, "count")]


@dataclass(frozen=True, slots=True)
class _Segment:
    """A time range [lo, hi] (or [lo, hi) when not `inclusive`); None is unbounded."""

    lo: datetime | None
    hi: datetime | None
    inclusive: bool

    def split(
        self, unit: timedelta
    ) -> tuple[tuple[datetime | None, datetime | None] | None, list[_Segment]]:
        """The whole UTC units inside, as [first, last) (None when there is none), and the
        partial ranges left at either end."""
        try:
            first = None if self.lo is None else ceil_to(self.lo, unit)
        except OverflowError:  # a start in the last unit there is: nothing whole after it
            return None, [self]
        last = None if self.hi is None else floor_to(self.hi, unit)
        if first is not None and last is not None and first >= last:
            return None, [self]
        rest = []
        if self.lo is not None and first is not None and self.lo < first:
            rest.append(_Segment(self.lo, first, False))
        if self.hi is not None and last is not None and (self.inclusive or last < self.hi):
            rest.append(_Segment(last, self.hi, self.inclusive))
        return (first, last), rest


def bounds(
    column: str, lo: datetime | None, hi: datetime | None, inclusive: bool
) -> tuple[list[str], list[Any]]:
    """`column`'s conditions from `lo` (inclusive) to `hi` (`inclusive` or not), and their
    values; none for a missing end."""
    conds, values = [], []
    if lo is not None:
        conds.append(f"{column} >= %s")
        values.append(lo)
    if hi is not None:
        conds.append(f"{column} {'<=' if inclusive else '<'} %s")
        values.append(hi)
    return conds, values


def _sum_of(
    table: str, conds: list[str], values: list[Any], column: str | None
) -> tuple[str, list[Any]]:
    """The sum of `column` (the rows counted when None) over the rows meeting `conds`."""
    total = f"coalesce(sum({column}), 0)::bigint" if column else "count(*)"
    where_sql = " WHERE " + " AND ".join(conds) if conds else ""
    return f"SELECT {total} FROM {table}{where_sql}", values
