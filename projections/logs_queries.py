"""Reads on the logs read model: pages, the histogram, the SSE backlog."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool

from domain.observations.search import SearchQuery, fields_text
from projections.logs_schema import (
    BY_DIMENSION,
    COUNTERS,
    HISTOGRAM,
    LOGS,
    PURGES,
    SEARCH_TEXT,
    TOTALS,
)
from projections.observed import iso_z

LOG_COLUMNS = "id, ts, decky, service, event_type, attacker_ip, msg, fields_text, raw_line"
BUCKET_COLUMNS = frozenset({"decky", "service", "event_type"})


@dataclass(frozen=True, slots=True)
class LogFilter:
    """A parsed search plus an optional time range (inclusive)."""

    query: SearchQuery
    start: datetime | None = None
    end: datetime | None = None

    @property
    def is_empty(self) -> bool:
        return self.query.is_empty and self.start is None and self.end is None


def log_row(row: tuple[Any, ...]) -> dict[str, Any]:
    """A log row in SPEC's shape (`fields` stays a JSON string)."""
    return {
        "id": row[0],
        "timestamp": iso_z(row[1]),
        "decky": row[2],
        "service": row[3],
        "event_type": row[4],
        "attacker_ip": row[5],
        "msg": row[6],
        "fields": row[7],
        "raw_line": row[8],
    }


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def where(f: LogFilter) -> tuple[str, list[Any]]:
    """SQL conditions for a filter, with the same semantics as `search.matches`."""
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in f.query.columns:
        clauses.append(f"{column} = %s")
        params.append(value)
    for key, value in f.query.fields:
        # In compact JSON, `"key":"value"` can only occur as that exact pair: a key is the only
        # string followed by `:`, a value ends at an unescaped `"`, and quotes inside strings are
        # escaped. The trigram index narrows on the lower-cased pair; the exact text decides.
        pair = fields_text({key: value})[1:-1]
        clauses.append(f"{SEARCH_TEXT} LIKE %s AND fields_text LIKE %s")
        params.extend([f"%{_escape_like(pair.lower())}%", f"%{_escape_like(pair)}%"])
    for word in f.query.words:
        clauses.append(f"{SEARCH_TEXT} LIKE %s")
        params.append(f"%{_escape_like(word)}%")
    if f.start is not None:
        clauses.append("ts >= %s")
        params.append(f.start)
    if f.end is not None:
        clauses.append("ts <= %s")
        params.append(f.end)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


class LogQueries:
    """Everything the logs, histogram, stats and stream routes read."""

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool

    async def page(self, f: LogFilter, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
        """Newest first (timestamp desc, id desc), with the total matching.

        One statement, so the page and its total come from the same snapshot.
        """
        sql, params = where(f)
        if f.is_empty:
            total_sql, total_params = (
                f"SELECT value FROM {COUNTERS} WHERE name = 'total_logs'",
                [],
            )
        else:
            total_sql, total_params = f"SELECT count(*) FROM {LOGS}{sql}", params
        query = (
            f"SELECT t.total, p.* FROM ({total_sql}) AS t(total) LEFT JOIN LATERAL"
            f" (SELECT {LOG_COLUMNS} FROM {LOGS}{sql} ORDER BY ts DESC, id DESC"
            " LIMIT %s OFFSET %s) AS p ON true"
        )
        async with self._pool.connection() as conn:
            rows = await (
                await conn.execute(query, [*total_params, *params, limit, offset])
            ).fetchall()
        total = int(rows[0][0]) if rows else 0
        return total, [log_row(r[1:]) for r in rows if r[1] is not None]

    async def after(self, last_id: int, f: LogFilter, limit: int) -> list[dict[str, Any]]:
        """Rows with id > last_id, oldest first (the SSE backlog)."""
        sql, params = where(f)
        joiner = " AND " if sql else " WHERE "
        async with self._pool.connection() as conn:
            rows = await (
                await conn.execute(
                    f"SELECT {LOG_COLUMNS} FROM {LOGS}{sql}{joiner}id > %s ORDER BY id LIMIT %s",
                    [*params, last_id, limit],
                )
            ).fetchall()
        return [log_row(r) for r in rows]

    async def max_id(self) -> int:
        """The newest log id (0 when there are none): where a live-only stream starts."""
        async with self._pool.connection() as conn:
            row = await (await conn.execute(f"SELECT max(id) FROM {LOGS}")).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    async def total_logs(self) -> int:
        """Logs projected (a counter, not a scan)."""
        async with self._pool.connection() as conn:
            row = await (
                await conn.execute(f"SELECT value FROM {COUNTERS} WHERE name = 'total_logs'")
            ).fetchone()
        return int(row[0]) if row else 0

    async def histogram(self, f: LogFilter, interval_minutes: int) -> list[dict[str, Any]]:
        """Counts per bucket aligned to multiples of the interval since the epoch, ascending."""
        width = interval_minutes * 60
        if _buckets_can_answer(f):
            sql, params = where(f)
            sql = sql.replace("ts >=", "minute >=")
            table = _bucket_table(f)
            source = f"SELECT minute AS t, count AS n FROM {table}{sql}"
        else:
            sql, params = where(f)
            source = f"SELECT ts AS t, 1 AS n FROM {LOGS}{sql}"
        query = (
            f"SELECT to_timestamp(floor(extract(epoch FROM t) / {width}) * {width}) AS bucket,"
            f" sum(n)::bigint FROM ({source}) s GROUP BY 1 ORDER BY 1"
        )
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(query, params)).fetchall()
        return [{"bucket": iso_z(b), "count": int(n)} for b, n in rows]

    async def purged_logs(self, position: int) -> int | None:
        """How many logs the purge at `position` removed (None until projected)."""
        async with self._pool.connection() as conn:
            row = await (
                await conn.execute(f"SELECT logs FROM {PURGES} WHERE position = %s", (position,))
            ).fetchone()
        return int(row[0]) if row else None


def _bucket_table(f: LogFilter) -> str:
    """Totals without column terms, one dimension's table for one column, else the cross product."""
    columns = {c for c, _ in f.query.columns}
    if not columns:
        return TOTALS
    if len(columns) == 1:
        return BY_DIMENSION[columns.pop()]
    return HISTOGRAM


def _buckets_can_answer(f: LogFilter) -> bool:
    """Per-minute buckets give exact counts for column filters and a minute-aligned start."""
    columns = {c for c, _ in f.query.columns}
    aligned = f.start is None or (f.start.second == 0 and f.start.microsecond == 0)
    return f.query.only_columns and columns <= BUCKET_COLUMNS and aligned and f.end is None
