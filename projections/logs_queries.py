"""Reads on the logs and histogram read models: pages, the histogram, the SSE backlog."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import msgspec
import psycopg
from psycopg_pool import AsyncConnectionPool

from application.reads.ports import LogFilter
from application.reads.rows import DeadLetter, HistogramBucket, LogRow
from projections.log_quarters import QUARTER, QUARTER_MINUTES
from projections.logs_schema import HistogramTables, LogTables
from projections.logs_search import (
    Dictionary,
    counted,
    dictionary_from,
    dictionary_lookup,
    filtered,
    quarters_histogram,
    where,
)
from projections.logs_totals import bounds, counted_total
from projections.observed import ceil_to, floor_to, minute_of
from projections.rows import (
    bucket_text_sql,
    iso_z,
    iso_z_sql,
    json_text_of,
    rows_of,
    tuples_of,
)
from projections.schema import LIVE, Namespace

# A row as the pages read it: the keys they order by, and the row's JSON as `/logs` shows it,
# stored when the record was projected (ADR 0030).
LOG_COLUMNS = "id, ts, row_json"
# The same three columns from a logs model older than v11 (served while its upgrade rebuilds):
# the row's JSON built here, `LogRow`'s keys in its order, the timestamp as `iso_z` writes it
# (whole seconds without a fraction, else six digits).
LEGACY_LOG_COLUMNS = (
    f"id, ts, json_build_object('id', id, 'timestamp', {iso_z_sql('ts')},"
    " 'decky', decky, 'service', service, 'event_type', event_type, 'attacker_ip', attacker_ip,"
    " 'msg', msg, 'fields', fields_text, 'raw_line', raw_line)::text AS row_json"
)
# A page of `LOG_COLUMNS` rows `r` as one JSON array, newest first: the stored texts joined.
JSON_ROWS = (
    "coalesce('[' || string_agg(r.row_json, ',' ORDER BY r.ts DESC, r.id DESC) || ']', '[]')"
)
_decode_row = msgspec.json.Decoder(LogRow).decode
_PageT = TypeVar("_PageT")


def log_rows(rows: list[tuple[Any, ...]]) -> list[LogRow]:
    """`LogRow`s from the `LOG_COLUMNS` tuples of a statement."""
    return [_decode_row(r[2]) for r in rows]


async def read_log_rows(
    pool: AsyncConnectionPool[Any],
    statement: Callable[[str], str],
    params: Any,
    prepare: bool | None = None,
) -> list[LogRow]:
    """The `LogRow`s of `statement(columns)`, whichever version the logs model is."""

    async def read(columns: str) -> list[LogRow]:
        async with pool.connection() as conn:
            cur = tuples_of(conn)
            await cur.execute(statement(columns), params, prepare=prepare)
            return log_rows(await cur.fetchall())

    return await with_columns(read)


async def with_columns(read: Callable[[str], Awaitable[_PageT]]) -> _PageT:
    """`read(LOG_COLUMNS)`; `read(LEGACY_LOG_COLUMNS)` on a logs model older than v11."""
    try:
        return await read(LOG_COLUMNS)
    except psycopg.errors.UndefinedColumn:
        return await read(LEGACY_LOG_COLUMNS)


BUCKET_COLUMNS = frozenset({"decky", "service", "event_type"})
# From this offset on, a page of every log starts from the rows per minute instead of walking
# the rows before it (a shallow page walks fewer rows than the minutes' running sum costs).
DEEP_OFFSET = 2_000


# Runs a page's statement: a prefix (a WITH clause or ""), the total's query, the rows' query.
_Run = Callable[[str, str, str, Any, bool | None], Awaitable[tuple[int, _PageT]]]
# A histogram's statement (sql, params, prepare) to its answer: buckets, or their JSON.
Answer = Callable[[str, list[Any], bool | None], Awaitable[Any]]


class _PagedDeadLetter(msgspec.Struct, frozen=True):
    """A dead letter (all None past the last page) with the total of its snapshot."""

    total: int
    id: int | None = None
    received_at: str = ""
    reason: str = ""
    detail: str = ""
    raw: str = ""
    source: str = ""


class LogQueries:
    """`LogReader` over the logs and histogram models of one namespace."""

    def __init__(self, pool: AsyncConnectionPool[Any], ns: Namespace = LIVE) -> None:
        self._pool = pool
        self._logs = LogTables(ns.schema("logs"))
        self._buckets = HistogramTables(ns.schema("histogram"))

    async def page(self, f: LogFilter, limit: int, offset: int) -> tuple[int, list[LogRow]]:
        """Newest first (timestamp desc, id desc), with the total matching.

        One statement, so the page and its total come from the same snapshot.
        """
        return await with_columns(
            lambda columns: self._page(f, limit, offset, self._paged, columns)
        )

    async def page_json(self, f: LogFilter, limit: int, offset: int) -> tuple[int, bytes]:
        """`page`'s total and rows, the rows as one JSON array (UTF-8) built by PostgreSQL:
        the same keys in `LogRow`'s order, the same values (ADR 0022)."""
        return await with_columns(
            lambda columns: self._page(f, limit, offset, self._paged_json, columns)
        )

    async def _page(
        self, f: LogFilter, limit: int, offset: int, run: _Run[_PageT], columns: str
    ) -> tuple[int, _PageT]:
        logs = self._logs.logs
        dictionary = await self._dictionary(f)
        rows, params = filtered(f, dictionary, logs)
        if f.is_empty and offset >= DEEP_OFFSET:
            try:
                return await self._deep_page(limit, offset, run, columns)
            except psycopg.errors.UndefinedTable:
                pass  # a model of an older version, served while its rebuild runs: walk
        if f.is_empty:
            total_sql: str = f"SELECT value FROM {self._logs.counters} WHERE name = 'total_logs'"
            total_params: list[Any] = []
        else:
            total_sql, total_params = counted(f, self._logs, dictionary)
        rows_sql = f"SELECT {columns}{rows} ORDER BY ts DESC, id DESC LIMIT %s OFFSET %s"
        rows_params = [*params, limit, offset]
        prepare = planned_once(f)
        from_counts = counted_total(self._logs, f)
        if from_counts is not None:
            try:
                return await run(
                    "", from_counts[0], rows_sql, [*from_counts[1], *rows_params], prepare
                )
            except psycopg.errors.UndefinedTable:
                pass  # a model of an older version, served while its rebuild runs: count rows
        return await run("", total_sql, rows_sql, [*total_params, *rows_params], prepare)

    async def _paged(
        self, prefix: str, total_sql: str, rows_sql: str, params: Any, prepare: bool | None
    ) -> tuple[int, list[LogRow]]:
        """The total (one row of `total_sql`) then the rows of `rows_sql` (`LOG_COLUMNS`), as
        tuples with the total last (all None but the total past the last page), as `LogRow`s."""
        query = (
            f"{prefix}SELECT p.*, t.total FROM ({total_sql}) AS t(total)"
            f" LEFT JOIN LATERAL ({rows_sql}) AS p ON true"
        )
        async with self._pool.connection() as conn:
            cur = tuples_of(conn)
            await cur.execute(query, params, prepare=prepare)
            rows = await cur.fetchall()
        total = int(rows[0][-1]) if rows else 0
        return total, log_rows([r for r in rows if r[0] is not None])

    async def _paged_json(
        self, prefix: str, total_sql: str, rows_sql: str, params: Any, prepare: bool | None
    ) -> tuple[int, bytes]:
        """The same statement as `_paged`'s, but the rows' stored JSON joined by PostgreSQL into
        one array (`JSON_ROWS`), returned as its UTF-8 text."""
        query = (
            f"{prefix}SELECT t.total, p.data FROM ({total_sql}) AS t(total)"
            f" CROSS JOIN LATERAL (SELECT {JSON_ROWS} AS data FROM ({rows_sql}) AS r) AS p"
        )
        async with self._pool.connection() as conn:
            cur = json_text_of(conn)
            await cur.execute(query, params, prepare=prepare)
            row = await cur.fetchone()
        if row is None:
            return 0, b"[]"
        return int(row[0]), row[1]

    async def _deep_page(
        self, limit: int, offset: int, run: _Run[_PageT], columns: str
    ) -> tuple[int, _PageT]:
        """A deep page of every log, without walking the rows before it (ADR 0021).

        The rows per hour and per minute (committed with the rows) give the oldest minute `m`
        such that the rows at or after `m` are no more than `offset`: first the oldest hour whose
        running count (newest first) is still within the offset, then the minutes of the hour
        just older than it. The page is the rows before `m` at the remaining offset (under one
        minute of rows). Same order, same rows, one statement so one snapshot.
        """
        t = self._logs
        with_skip = (
            "WITH h AS (SELECT hour, upto FROM (SELECT hour, sum(count) OVER"
            f" (ORDER BY hour DESC) AS upto FROM {t.hours}) s WHERE upto <= %(offset)s"
            " ORDER BY hour LIMIT 1),"
            " base AS (SELECT coalesce((SELECT hour FROM h), 'infinity') AS below,"
            " coalesce((SELECT upto FROM h), 0) AS skipped),"
            f" next AS (SELECT max(hour) AS hour FROM {t.hours}"
            " WHERE hour < (SELECT below FROM base)),"
            " m AS (SELECT minute, upto FROM (SELECT minute, (SELECT skipped FROM base)"
            f" + sum(count) OVER (ORDER BY minute DESC) AS upto FROM {t.minutes}"
            " WHERE minute >= (SELECT hour FROM next)"
            " AND minute < (SELECT hour FROM next) + interval '1 hour') s"
            " WHERE upto <= %(offset)s ORDER BY minute LIMIT 1),"
            " skip AS (SELECT minute AS at, upto FROM m UNION ALL SELECT below, skipped FROM base"
            " WHERE NOT EXISTS (SELECT 1 FROM m))"
        )
        total = f"SELECT value FROM {t.counters} WHERE name = 'total_logs'"
        rows = (
            # The walk's bound and OFFSET come from the statement itself, so the planner guesses
            # them: `ts < at` alone is a third of the rows and the OFFSET a tenth of those, and at
            # 10,000,000 rows that cost passed `jit_above_cost` (JIT compilation took ~50 ms of
            # a 1 ms query). A lower bound that is also a parameter makes it a range (0.5% of
            # the rows): the estimate stays under the JIT threshold up to ~100,000,000 rows.
            f"SELECT {columns} FROM {t.logs} WHERE ts < (SELECT at FROM skip)"
            " AND ts > (SELECT '-infinity'::timestamptz)"
            " ORDER BY ts DESC, id DESC LIMIT %(limit)s"
            " OFFSET %(offset)s - (SELECT upto FROM skip)"
        )
        params = {"offset": offset, "limit": limit}
        return await run(with_skip + " ", total, rows, params, None)

    async def after(self, last_id: int, f: LogFilter, limit: int) -> list[LogRow]:
        """Rows with id > last_id, oldest first (the SSE backlog)."""
        dictionary = await self._dictionary(f)
        rows, params = filtered(f, dictionary, self._logs.logs, "id > %s")
        return await read_log_rows(
            self._pool,
            lambda columns: f"SELECT {columns}{rows} ORDER BY id LIMIT %s",
            [*params, last_id, limit],
            planned_once(f),
        )

    async def max_id(self) -> int:
        """The newest log id (0 when there are none): where a live-only stream starts."""
        return await self._scalar(f"SELECT coalesce(max(id), 0) FROM {self._logs.logs}")

    async def histogram(self, f: LogFilter, interval_minutes: int) -> list[HistogramBucket]:
        """Counts per bucket aligned to multiples of the interval since the epoch, ascending."""

        async def buckets(query: str, params: list[Any], prepare: bool | None) -> Any:
            async with self._pool.connection() as conn:
                cur = rows_of(conn, HistogramBucket)
                await cur.execute(query, params, prepare=prepare)
                return await cur.fetchall()

        result: list[HistogramBucket] = await self._histogram(f, interval_minutes, buckets)
        return result

    async def histogram_json(self, f: LogFilter, interval_minutes: int) -> bytes:
        """`histogram` as one JSON array (UTF-8) with `HistogramBucket`'s keys in order, made
        by PostgreSQL: no Python per bucket (a week in quarters is 672 of them; ADR 0031)."""

        def encoder(head: str) -> Answer:
            async def encoded(query: str, params: list[Any], prepare: bool | None) -> Any:
                async with self._pool.connection() as conn:
                    cur = json_text_of(conn)
                    await cur.execute(f"{head} FROM ({query}) h", params, prepare=prepare)
                    row = await cur.fetchone()
                return b"[" + (row[0] if row else b"") + b"]"

            return encoded

        result: bytes = await self._histogram(
            f, interval_minutes, encoder(_JSON_BUCKETS), encoder(_JSON_LABELLED)
        )
        return result

    async def _histogram(
        self, f: LogFilter, interval_minutes: int, answer: Answer, labelled: Answer | None = None
    ) -> Any:
        """The buckets' statement (columns `bucket`, `count`, ascending), answered by `answer`;
        by `labelled` (columns `bucket`, `count`, `label`: the bucket's text) when the quarter
        totals alone are the buckets."""
        split = _bucket_split(f)
        alone: str | None = None  # the quarter totals' labelled statement, when they answer alone
        if split is not None:
            source, params, alone = self._from_buckets(f, *split, interval_minutes)
            if alone is not None and labelled is not None and interval_minutes == QUARTER_MINUTES:
                try:
                    return await labelled(alone, params, planned_once(f))
                except (psycopg.errors.UndefinedColumn, psycopg.errors.UndefinedTable):
                    pass  # a histogram model before the labels, served while it rebuilds
        else:
            dictionary = await self._dictionary(f)
            quarters = quarters_histogram(f, interval_minutes, self._logs, dictionary)
            if quarters is not None:
                try:
                    return await answer(*quarters, planned_once(f))
                except psycopg.errors.UndefinedTable:
                    pass  # a model of an older version, served while its rebuild runs: rows
            rows, params = filtered(f, dictionary, self._logs.logs)
            source = f"SELECT ts AS t, 1 AS n{rows}"
        try:
            query = _binned(source, interval_minutes, alone is not None)
            return await answer(query, params, planned_once(f))
        except psycopg.errors.UndefinedTable:
            if split is None:
                raise
        # A histogram model older than its quarter totals, served while its rebuild runs.
        source, params, _ = self._from_buckets(f, *split, None)
        return await answer(_binned(source, interval_minutes), params, planned_once(f))

    async def purged_logs(self, position: int) -> int | None:
        """How many logs the purge at `position` removed (None until projected)."""
        async with self._pool.connection() as conn:
            row = await (
                await conn.execute(
                    f"SELECT logs FROM {self._logs.purges} WHERE position = %s", (position,)
                )
            ).fetchone()
        return int(row[0]) if row else None

    async def dead_letters(self, limit: int, offset: int) -> tuple[int, list[DeadLetter]]:
        """Lines the collector could not parse, newest first (id desc), with the total kept."""
        dead = self._logs.dead
        query = (
            f"SELECT t.total, p.* FROM (SELECT count(*) FROM {dead}) AS t(total) LEFT JOIN LATERAL"
            f" (SELECT id, received_at, reason, detail, raw, source FROM {dead}"
            " ORDER BY id DESC LIMIT %s OFFSET %s) AS p ON true"
        )
        async with self._pool.connection() as conn:
            cur = rows_of(conn, _PagedDeadLetter)
            await cur.execute(query, [limit, offset])
            rows = await cur.fetchall()
        total = rows[0].total if rows else 0
        letters = [
            DeadLetter(r.id, r.received_at, r.reason, r.detail, r.raw, r.source)
            for r in rows
            if r.id is not None
        ]
        return total, letters

    async def _dictionary(self, f: LogFilter) -> Dictionary:
        """Which of the filter's dictionary patterns are usable (ADR 0025) and which match no
        token, and whether the model has pairs (ADR 0027).

        Another statement than the query's: the dictionary only grows, and either way the
        query is exact; only its speed depends on the answer — but for a word no token held at
        the look-up, which answers as of then (a row written since is in the next request's).
        """
        if f.query.only_columns:
            return Dictionary(self._logs.tokens)
        try:
            async with self._pool.connection() as conn:
                row = await (await conn.execute(*dictionary_lookup(f, self._logs))).fetchone()
        except psycopg.errors.UndefinedTable:
            return Dictionary(self._logs.tokens, absent=True)  # an older model, while it rebuilds
        assert row is not None  # an aggregate without GROUP BY: one row
        return dictionary_from(self._logs, row)

    async def _scalar(self, sql: str) -> int:
        async with self._pool.connection() as conn:
            row = await (await conn.execute(sql)).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def _from_buckets(
        self,
        f: LogFilter,
        first: datetime | None,
        last: datetime | None,
        interval_minutes: int | None,
    ) -> tuple[str, list[Any], str | None]:
        """Whole minutes in [first, last) from the buckets; the partial minutes at either end of
        the range from the rows (under a minute of rows each).

        Unfiltered and in buckets of whole quarter hours, the range's whole quarters come from
        the quarter totals and the minutes at either end of them from the minute totals (not
        with `interval_minutes` None: a model older than the quarter totals). When the quarter
        totals alone answer, the third value reads them with their labels (the same params).
        """
        columns, params = where(LogFilter(f.query), self._logs.tokens)
        joiner = " AND " if columns else " WHERE "
        table = self._bucket_table(f)
        quarters = None
        whole_quarters = interval_minutes is not None and interval_minutes % QUARTER_MINUTES == 0
        if table == self._buckets.totals and whole_quarters:
            quarters = _quarter_split(first, last)
        if quarters is None:
            spans = [(table, "minute", first, last)]
        else:
            q_first, q_last = quarters
            spans = [(self._buckets.quarter_totals, "quarter", q_first, q_last)]
            if first is not None and q_first is not None and first < q_first:
                spans.append((table, "minute", first, q_first))
            if last is not None and q_last is not None and q_last < last:
                spans.append((table, "minute", q_last, last))
        parts, all_params, labelled = [], [], None
        for source, column, low, high in spans:
            conditions, bound_params = bounds(column, low, high, inclusive=False)
            bounded = joiner + " AND ".join(conditions) if conditions else ""
            parts.append(f"SELECT {column} AS t, count AS n FROM {source}{columns}{bounded}")
            all_params += [*params, *bound_params]
            if source == self._buckets.quarter_totals:
                labelled = (
                    f"SELECT quarter AS bucket, count, label FROM {source}{columns}{bounded}"
                    " ORDER BY 1"
                )
        rows = f"SELECT ts AS t, 1 AS n FROM {self._logs.logs}{columns}{joiner}"
        if f.start is not None and first is not None and f.start < first:
            parts.append(f"{rows}ts >= %s AND ts < %s")
            all_params += [*params, f.start, first]
        if f.end is not None and last is not None:
            parts.append(f"{rows}ts >= %s AND ts <= %s")
            all_params += [*params, last, f.end]
        return " UNION ALL ".join(parts), all_params, labelled if len(parts) == 1 else None

    def _bucket_table(self, f: LogFilter) -> str:
        """Totals without column terms, one column's table, else the cross product."""
        columns = {c for c, _ in f.query.columns}
        if not columns:
            return self._buckets.totals
        if len(columns) == 1:
            return self._buckets.by_dimension(columns.pop())
        return self._buckets.cross


def planned_once(f: LogFilter) -> bool | None:
    """Whether a statement of this filter may be prepared: never when it has terms or a range.

    psycopg prepares a statement from its sixth run on a connection, and from its eleventh
    PostgreSQL may keep one generic plan for every value. A filter's best plan depends on its
    values (a common pair with a column term walks the time index; a rare one, its GIN posting
    list): `username:root service:ssh` took 84 ms generic against 1.3 ms planned for its values
    at 1M rows. Planning costs under a millisecond; the unfiltered pages stay prepared.
    """
    return None if f.is_empty else False


def _bucket_split(f: LogFilter) -> tuple[datetime | None, datetime | None] | None:
    """Where per-minute buckets answer a histogram exactly: column terms only, and the range's
    whole minutes [first, last) — None when they cannot (free text, fields, or under a minute)."""
    columns = {c for c, _ in f.query.columns}
    if not (f.query.only_columns and columns <= BUCKET_COLUMNS):
        return None
    last = None if f.end is None else minute_of(f.end)
    first = None
    if f.start is not None:
        floor = minute_of(f.start)
        if floor != f.start:
            if floor.replace(tzinfo=None) >= _LAST_MINUTE:
                return None  # a start in the last minute there is: no whole minute after it
            floor += timedelta(minutes=1)
        first = floor
    if first is not None and last is not None and first >= last:
        return None
    return first, last


_LAST_MINUTE = datetime.max.replace(second=0, microsecond=0)


def _quarter_split(
    first: datetime | None, last: datetime | None
) -> tuple[datetime | None, datetime | None] | None:
    """The whole UTC quarter hours [first quarter, last quarter) of the minutes [first, last),
    None when there is none (the minutes answer alone).

    A naive bound is a time in the session's zone, UTC, as PostgreSQL compares it.
    """
    try:
        q_first = None if first is None else ceil_to(first, QUARTER)
        q_last = None if last is None else floor_to(last, QUARTER)
    except OverflowError:  # the quarter past year 9999's last
        return None
    if q_first is not None and q_last is not None and q_first >= q_last:
        return None
    return q_first, q_last


def _binned(source: str, interval_minutes: int, quarters_only: bool = False) -> str:
    """The buckets of `source`'s counts (`t`, `n`), ascending.

    Quarter totals alone (`quarters_only`), in quarters, are the buckets: a week is 672 rows to
    read in order, with no grouping.
    """
    if quarters_only and interval_minutes == QUARTER_MINUTES:
        return f"SELECT t AS bucket, n AS count FROM ({source}) s ORDER BY 1"
    # `date_bin` in integer microseconds: the same floor as `extract(epoch)`'s numeric
    # division, ~1.3 µs a row cheaper (most of a free-text histogram's time).
    return (
        f"SELECT date_bin('{interval_minutes * 60} seconds', t, 'epoch'::timestamptz) AS bucket,"
        f" sum(n)::bigint AS count FROM ({source}) s GROUP BY 1 ORDER BY 1"
    )


# Each bucket as `HistogramBucket` encodes it (`iso_z` of a whole-second UTC time, 1 BC as year
# 0000: `bucket_text_sql`), joined in the order the buckets' statement sorts them (nothing above
# it, no join or grouping, reorders them; an ORDER BY inside the aggregate sorted them again:
# 0.1 ms a week).
def _json_buckets(text: str) -> str:
    return (
        f"""SELECT coalesce(string_agg('{{"bucket":"' || {text} || '","count":' || count"""
        """ || '}', ','), '')"""
    )


_JSON_BUCKETS = _json_buckets(bucket_text_sql("bucket"))
# Quarter totals carry their bucket's text, written once when the quarter's row is made: the
# default histogram (a week, 672 quarters) formats no timestamp per request.
_JSON_LABELLED = _json_buckets("label")


__all__ = ["LOG_COLUMNS", "LogQueries", "iso_z", "read_log_rows"]
