"""Logs read model: log rows, the total counter, dead letters (buckets: `histogram.py`)."""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

import anyio
import msgspec
from psycopg import AsyncConnection, AsyncCursor

from application.ports import LiveLog
from application.reads.rows import LogRow
from domain.observations.batch import InteractionBatch
from domain.observations.records import InteractionRecord
from domain.observations.search import fields_text
from projections import log_quarters
from projections.base import Envelope, LogsCommitted, SchemaBound, drop_tables
from projections.log_pair_values import Values, add_pair_values
from projections.log_pairs import array_literal, pairs_of
from projections.log_tokens import tokens_of
from projections.logs_schema import (
    LogTables,
    create_log_indexes,
    create_logs,
    dictionary_kept,
)
from projections.observed import (
    EPOCH,
    OBSERVED_TOPICS,
    Observed,
    Purge,
    add_counts,
    clean,
    forget_observations,
    hour_of,
    log_id,
    minutes_of,
    units_since_epoch,
    walk,
)
from projections.rows import iso_z, utc

_encode = msgspec.json.Encoder().encode
VALUE_KEY = ("decky", "service", "event_type")
_value_of = attrgetter("timestamp", "decky", "service", "event_type")
HOUR = timedelta(hours=1)
COPY_COLUMNS = (
    "id, ts, decky, service, event_type, attacker_ip, fields_text, search_text, tokens, pairs,"
    " row_json"
)
_COLUMNS = COPY_COLUMNS.split(", ")
FIELDS_AT, TOKENS_AT, PAIRS_AT = (_COLUMNS.index(c) for c in ("fields_text", "tokens", "pairs"))


class LogsProjection(SchemaBound):
    """Appends rows with COPY; the counter is updated once per batch."""

    name = "logs"
    # v4: rows per minute for deep pages; v5: and per hour; v6: rows per column values (and per
    # hour and column values) for the totals of column filters; v7: tokens instead of trigrams;
    # v8: key/value pairs for field terms; v9: rows per quarter hour of heavy tokens; v10: rows
    # per column values of heavy pairs; v11: each row's JSON as `/logs` shows it, instead of its
    # message and raw line (ADR 0030); v12: key text in byte order, `COLLATE "C"` (ADR 0032);
    # v13: an IPv4-mapped attacker address stored before stop 33 reads as its IPv4 address
    version = 13
    topics = OBSERVED_TOPICS
    # ~8,000 records per transaction: big enough to amortise, small enough for live latency.
    batch_events = 8
    read_ahead = True  # the next 8 events are decoded while this batch's COPY runs (ADR 0023)
    indexes_aside = True  # its indexes, on a second connection too (ADR 0023 addendum)

    def __init__(self, schema: str) -> None:
        super().__init__(schema)
        self.tables = LogTables(schema)
        self._dictionary_kept = False
        self._ahead: OrderedDict[tuple[int, int, int], _Prepared] = OrderedDict()
        self._ahead_lock = threading.Lock()

    async def create(self, conn: AsyncConnection[Any]) -> None:
        await create_logs(conn, self.tables)

    async def create_indexes(
        self, conn: AsyncConnection[Any], side: AsyncConnection[Any] | None = None
    ) -> None:
        await create_log_indexes(conn, self.tables, side)

    async def drop(self, conn: AsyncConnection[Any]) -> None:
        await drop_tables(conn, self.tables.all())

    def prepare_ahead(self, batch: Sequence[Envelope]) -> None:
        """The rows and counts of a page read ahead, kept for its `apply` (ADR 0023)."""
        prepared = _prepare(batch, self._dictionary_kept)
        with self._ahead_lock:
            self._ahead[_page_key(batch)] = prepared
            while len(self._ahead) > AHEAD_KEPT:  # pages read but never applied here
                self._ahead.popitem(last=False)

    async def apply(self, conn: AsyncConnection[Any], batch: Sequence[Envelope]) -> LogsCommitted:
        # The dictionaries count exactly the rows holding each token or pair since the last purge;
        # a bulk load leaves them to the index build (ADR 0025, 0027), and skips counting them.
        # The heavy tokens' quarters follow the token counts (ADR 0028).
        kept = self._dictionary_kept or await dictionary_kept(conn, self.tables)
        self._dictionary_kept = kept  # the index, once built, stays with these tables
        with self._ahead_lock:
            prepared = self._ahead.pop(_page_key(batch), None)
        if prepared is None or (kept and not prepared.counted):
            # Built in a worker thread, not on the event loop the API serves from.
            prepared = await anyio.to_thread.run_sync(_prepare, batch, kept)
        inserted: list[tuple[Observed, tuple[Any, ...]]] = []
        purged = False
        async with conn.cursor() as cur:
            await self._dead_letters(cur, batch)
            for part in prepared.parts:
                if isinstance(part, Purge):
                    await self._purge(cur, part.position)
                    inserted, purged = [], True
                else:
                    await self._insert(cur, part, kept)
                    inserted.extend(zip(part.observed, part.rows, strict=True))

        def live_rows() -> tuple[LiveLog, ...]:
            return tuple(LiveLog(_api_row(o, row[FIELDS_AT]), o.record) for o, row in inserted)

        return LogsCommitted(live_rows, purged)

    async def _insert(self, cur: AsyncCursor[Any], run: _Run, kept: bool) -> None:
        async with cur.copy(f"COPY {self.tables.logs} ({COPY_COLUMNS}) FROM STDIN") as copy:
            for row in run.rows:
                await copy.write_row(row)
        tokens, pairs, by_quarter, by_values = run.counts
        if kept:
            heavy = log_quarters.HEAVY
            counted = await add_counts(
                cur, self.tables.tokens, ("token",), ("text",), tokens, returning=heavy
            )
            counted_pairs = await add_counts(
                cur, self.tables.pairs, ("pair",), ("text",), pairs, returning=heavy
            )
            if counted:
                await log_quarters.add_quarters(cur, self.tables, tokens, counted, by_quarter)
            if counted_pairs:
                await add_pair_values(cur, self.tables, pairs, counted_pairs, by_values)
        await cur.execute(
            f"UPDATE {self.tables.counters} SET value = value + %s WHERE name = 'total_logs'",
            (len(run.rows),),
        )
        await add_counts(cur, self.tables.minutes, ("minute",), ("timestamptz",), run.minutes)
        await add_counts(cur, self.tables.hours, ("hour",), ("timestamptz",), run.hours)
        await self._add_value_counts(cur, run.values)

    async def _add_value_counts(self, cur: AsyncCursor[Any], counted: ValueCounts) -> None:
        """The rows per column values and per (hour, column values), in the rows' transaction."""
        values, hour_values, by_dimension = counted
        await add_counts(cur, self.tables.values, VALUE_KEY, ("text",) * 3, values)
        await add_counts(
            cur,
            self.tables.hour_values,
            ("hour", *VALUE_KEY),
            ("timestamptz",) + ("text",) * 3,
            hour_values,
        )
        for dimension, by_hour in zip(VALUE_KEY, by_dimension, strict=True):
            await add_counts(
                cur,
                self.tables.hours_by(dimension),
                ("hour", dimension),
                ("timestamptz", "text"),
                by_hour,
            )

    async def _dead_letters(self, cur: AsyncCursor[Any], batch: Sequence[Envelope]) -> None:
        rows = [
            (
                log_id(e.position, i),
                r.received_at,
                r.reason,
                clean(r.detail),
                clean(r.raw),
                r.source,
            )
            for e in batch
            if isinstance(e.event, InteractionBatch.InteractionsObserved)
            for i, r in enumerate(e.event.rejected)
        ]
        if rows:
            await cur.executemany(
                f"INSERT INTO {self.tables.dead} (id, received_at, reason, detail, raw, source)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                rows,
            )

    async def _purge(self, cur: AsyncCursor[Any], position: int) -> None:
        counters = self.tables.counters
        await forget_observations(
            cur,
            position,
            counted=(counters, "total_logs"),
            purges=(self.tables.purges, "logs"),
            tables=", ".join(self.tables.counted()),
            reset=f"UPDATE {counters} SET value = 0 WHERE name = 'total_logs'",
        )


# The rows per token, per pair, per token in each UTC quarter, per pair under each column values.
TokenCounts = tuple[
    Counter[str], Counter[str], dict[float, Counter[str]], dict[Values, Counter[str]]
]
ValueCounts = tuple[
    Counter[tuple[str, str, str]],
    Counter[tuple[datetime, str, str, str]],
    tuple[Counter[tuple[datetime, str]], ...],
]
AHEAD_KEPT = 4  # pages prepared ahead and kept for their `apply`


@dataclass(frozen=True, slots=True)
class _Run:
    """Records between purges, with everything `_insert` writes for them."""

    observed: list[Observed]
    rows: list[tuple[Any, ...]]
    counts: TokenCounts
    minutes: Counter[datetime]
    hours: Counter[datetime]
    values: ValueCounts


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A page's runs and purges, in store order; `counted`: with token and pair counts."""

    parts: list[_Run | Purge]
    counted: bool


def _page_key(batch: Sequence[Envelope]) -> tuple[int, int, int]:
    """A page by its first and last positions and size: the store's events never change."""
    return batch[0].position, batch[-1].position, len(batch)


def _prepare(batch: Sequence[Envelope], count_tokens: bool) -> _Prepared:
    """The pure Python part of `apply`: runs between purges, their rows and their counts."""
    parts: list[_Run | Purge] = []
    for part in walk(batch):
        if isinstance(part, Purge):
            parts.append(part)
        else:
            rows, counts, minutes, hours = _rows_and_counts(part, count_tokens)
            parts.append(_Run(part, rows, counts, minutes, hours, value_counts(part)))
    return _Prepared(parts, count_tokens)


def _row(o: Observed) -> tuple[Any, ...]:
    """The COPY row of one record (already scrubbed of NUL by `walk`)."""
    r = o.record
    text = fast_fields_text(r.fields)
    searched = search_text(r.raw_line, r.msg, text, r.decky, r.service, r.attacker_ip or "")
    return (
        o.log_id,
        r.timestamp,
        r.decky,
        r.service,
        r.event_type,
        r.attacker_ip,
        text,
        searched,
        tokens_of(searched),
        pairs_of(r.fields),
        _encode(_api_row(o, text)).decode(),
    )


def _copy_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """`_row` with its tokens and pairs as `text[]` input."""
    return (
        *row[:TOKENS_AT],
        _array_literal(row[TOKENS_AT]),
        array_literal(row[PAIRS_AT]),
        *row[PAIRS_AT + 1 :],
    )


def _array_literal(tokens: list[str]) -> str:
    """The `text[]` input of tokens: they hold no separator (no comma, brace, quote or space),
    and are lower-cased, so only a backslash or the word `null` needs quoting."""
    joined = ",".join(tokens)
    if "\\" in joined or "null" in joined:
        return "{" + ",".join(_quoted(t) for t in tokens) + "}"
    return "{" + joined + "}"


def _quoted(token: str) -> str:
    return '"' + token.replace("\\", "\\\\") + '"'


def _api_row(o: Observed, fields: str) -> LogRow:
    """The row as `/logs` and the stream show it."""
    r = o.record
    return LogRow(
        id=o.log_id,
        timestamp=iso_z(utc(r.timestamp)),
        decky=r.decky,
        service=r.service,
        event_type=r.event_type,
        attacker_ip=r.attacker_ip,
        msg=r.msg,
        fields=fields,
        raw_line=r.raw_line,
    )


def fast_fields_text(fields: dict[str, str]) -> str:
    """`search.fields_text`, via msgspec (same bytes, checked by a property test)."""
    try:
        return _encode(fields).decode()
    except (UnicodeEncodeError, msgspec.EncodeError):
        return fields_text(fields)  # lone surrogates: the reference encoder copes


def search_text(raw_line: str, *parts: str) -> str:
    """Lower-cased union of the searchable columns; a part inside earlier ones adds nothing."""
    text = raw_line.lower()
    for part in parts:
        lowered = clean(part).lower()
        if lowered and lowered not in text:
            text = f"{text}\x1f{lowered}"
    return text


def _rows_and_counts(
    observed: list[Observed], count_tokens: bool = True
) -> tuple[
    list[tuple[Any, ...]],
    TokenCounts,
    Counter[datetime],
    Counter[datetime],
]:
    """The COPY rows; the rows holding each token and each pair, each token in each UTC
    quarter hour and each pair under each (decky, service, event_type) (ADR 0028, 0029:
    counted per quarter or values, then summed, so the heavy keys' counts cost no second pass
    over the rows), unless `count_tokens` is false (a bulk load: its dictionaries are made from
    the rows); and the records per minute and per hour (the deep-page index)."""
    rows: list[tuple[Any, ...]] = []
    by_quarter: dict[float, Counter[str]] = {}
    by_values: dict[Values, Counter[str]] = {}
    stamps = [o.record.timestamp for o in observed]
    if count_tokens:
        for o, key in zip(observed, log_quarters.quarter_keys(stamps), strict=True):
            row = _row(o)
            held = by_quarter.get(key)
            if held is None:
                held = by_quarter[key] = Counter()
            held.update(row[TOKENS_AT])
            values = row[2:5]
            paired = by_values.get(values)
            if paired is None:
                paired = by_values[values] = Counter()
            paired.update(row[PAIRS_AT])
            rows.append(_copy_row(row))
    else:
        rows = [_copy_row(_row(o)) for o in observed]
    tokens: Counter[str] = Counter()
    for held in by_quarter.values():
        tokens.update(held)
    pairs: Counter[str] = Counter()
    for paired in by_values.values():
        pairs.update(paired)
    minutes = Counter(minutes_of(stamps))
    hours: Counter[datetime] = Counter()
    for minute, n in minutes.items():
        hours[hour_of(minute)] += n
    return rows, (tokens, pairs, by_quarter, by_values), minutes, hours


def value_counts(observed: list[Observed]) -> ValueCounts:
    """The records per (decky, service, event_type), per (UTC hour, decky, service, event_type)
    and per (UTC hour, value) of each of those columns: exact totals of column filters without
    counting rows (ADR 0026)."""
    # The hour as a number first: a datetime per record costs twice as much as the count.
    values_of = [*map(_value_of, _records(observed))]
    hours = units_since_epoch([v[0] for v in values_of], HOUR)
    cells = Counter((h, d, s, e) for h, (_, d, s, e) in zip(hours, values_of, strict=True))
    values: Counter[tuple[str, str, str]] = Counter()
    hour_values: Counter[tuple[datetime, str, str, str]] = Counter()
    by_dimension: tuple[Counter[tuple[datetime, str]], ...] = (Counter(), Counter(), Counter())
    by_decky, by_service, by_event = by_dimension
    for (number, d, s, e), n in cells.items():
        hour = EPOCH + int(number) * HOUR
        values[(d, s, e)] += n
        hour_values[(hour, d, s, e)] += n
        by_decky[(hour, d)] += n
        by_service[(hour, s)] += n
        by_event[(hour, e)] += n
    return values, hour_values, by_dimension


def _records(observed: list[Observed]) -> Iterator[InteractionRecord]:
    return (o.record for o in observed)
