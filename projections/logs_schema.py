"""Tables and indexes of the logs and histogram read models, in whichever schema holds them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
import structlog
from psycopg import AsyncConnection

from projections.base import create_trigram_index, deferred
from projections.log_pair_values import pair_values_from_rows
from projections.log_quarters import quarters_from_rows

log = structlog.get_logger()

# Key text (columns, tokens, pairs) compares byte by byte: every index and upsert on it is a
# `memcmp`, not the database's locale (`strcoll`: ~1.4x the GIN build of the tokens on a
# `C.UTF-8` database). Nothing is sorted by it for a reader, and the search compares it with
# `=`, `LIKE` and `@>` only, whose answers no deterministic collation changes (ADR 0032).
KEY_TEXT = 'text COLLATE "C"'
KEY = f"{KEY_TEXT} NOT NULL"
KEYS = 'text[] COLLATE "C" NOT NULL'

# One small table per column: a one-column filter sums minutes x values, not the cross product.
DIMENSIONS = ("decky", "service", "event_type")
# `search_text` holds the lower-cased union of every column a bare word is looked for in
# (raw_line, msg, decky, service, attacker_ip, fields_text), each part kept only when the parts
# before it do not already contain it. `tokens` holds its separator-free runs (ADR 0025): a GIN
# index on them, and a trigram index on the model's dictionary of tokens, serve words and field
# lookups; `search_text` itself is only read to recheck a word that spans a separator.
# `pairs` holds one entry per searchable field (`key:value`, ADR 0027): a GIN index on them, and
# the model's dictionary of pairs, serve field terms without reading `fields_text`.
# `row_json` is the row as `/logs` and the stream show it (`LogRow`, encoded by msgspec when the
# record is projected): a page is its rows' stored texts joined, and the message and raw line
# live only there (ADR 0030).
SEARCH_TEXT = "search_text"
ASIDE = "_aside"  # the indexes' names while a bulk load builds them on a second connection


@dataclass(frozen=True, slots=True)
class LogTables:
    """The logs model's tables in one schema."""

    schema: str

    @property
    def logs(self) -> str:
        return f"{self.schema}.logs"

    @property
    def counters(self) -> str:
        return f"{self.schema}.log_counters"

    @property
    def dead(self) -> str:
        return f"{self.schema}.dead_letters"

    @property
    def purges(self) -> str:
        return f"{self.schema}.log_purges"

    @property
    def tokens(self) -> str:
        """Every token of the rows applied since the last purge, with how many rows hold it:
        where a word finds its tokens, and the total of a word inside a single token."""
        return f"{self.schema}.log_tokens"

    @property
    def pairs(self) -> str:
        """Every key/value entry of the rows applied since the last purge, with how many rows
        hold it: the exact total of a lone field term (ADR 0027)."""
        return f"{self.schema}.log_pairs"

    @property
    def pair_values(self) -> str:
        """Rows per (pair, decky, service, event_type) of each pair the dictionary counts in at
        least `HEAVY` rows, exactly those: the total of such a field term with column terms
        without visiting its rows (ADR 0029)."""
        return f"{self.schema}.log_pair_values"

    @property
    def quarters(self) -> str:
        """Rows per UTC quarter hour of each token the dictionary counts in at least `HEAVY`
        rows, exactly those: a one-word histogram without visiting its rows (ADR 0028)."""
        return f"{self.schema}.log_token_quarters"

    @property
    def minutes(self) -> str:
        """Rows per minute, committed with the rows: where a deep page starts (ADR 0021)."""
        return f"{self.schema}.log_page_minutes"

    @property
    def hours(self) -> str:
        """Rows per UTC hour: a deep page sums hours, then one hour's minutes."""
        return f"{self.schema}.log_page_hours"

    @property
    def values(self) -> str:
        """Rows per (decky, service, event_type), committed with the rows: the exact total of a
        filter on those columns alone, without counting its rows."""
        return f"{self.schema}.log_value_counts"

    @property
    def hour_values(self) -> str:
        """Rows per (UTC hour, decky, service, event_type): the whole hours of a time range's
        total under such a filter."""
        return f"{self.schema}.log_hour_value_counts"

    def hours_by(self, dimension: str) -> str:
        """Rows per (value of one column, UTC hour): a one-column filter's whole hours without
        summing every combination of the other two columns."""
        return f"{self.schema}.log_hour_counts_by_{dimension}"

    def statements(self) -> tuple[str, ...]:
        """DDL creating every table and index (idempotent)."""
        logs = self.logs
        return (
            f"CREATE TABLE IF NOT EXISTS {logs} (id bigint PRIMARY KEY, ts timestamptz NOT NULL,"
            f" decky {KEY}, service {KEY}, event_type {KEY},"
            f" attacker_ip {KEY_TEXT}, fields_text text NOT NULL, search_text text NOT NULL,"
            f" tokens {KEYS}, pairs {KEYS}, row_json text NOT NULL)",
            *(statement for _, statement in self.indexes()),
            f"CREATE TABLE IF NOT EXISTS {self.tokens}"
            f" (token {KEY_TEXT} PRIMARY KEY, count bigint NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.pairs}"
            f" (pair {KEY_TEXT} PRIMARY KEY, count bigint NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.pair_values} (pair {KEY},"
            f" decky {KEY}, service {KEY}, event_type {KEY},"
            " count bigint NOT NULL, PRIMARY KEY (pair, decky, service, event_type))",
            f"CREATE TABLE IF NOT EXISTS {self.quarters} (token {KEY},"
            " quarter timestamptz NOT NULL, count bigint NOT NULL, PRIMARY KEY (token, quarter))",
            f"CREATE TABLE IF NOT EXISTS {self.counters}"
            " (name text PRIMARY KEY, value bigint NOT NULL)",
            f"INSERT INTO {self.counters} VALUES ('total_logs', 0) ON CONFLICT DO NOTHING",
            f"CREATE TABLE IF NOT EXISTS {self.dead} (id bigint PRIMARY KEY,"
            " received_at text NOT NULL, reason text NOT NULL, detail text NOT NULL,"
            " raw text NOT NULL, source text NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.purges}"
            " (position bigint PRIMARY KEY, logs bigint NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.minutes}"
            " (minute timestamptz PRIMARY KEY, count bigint NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.hours}"
            " (hour timestamptz PRIMARY KEY, count bigint NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.values} (decky {KEY},"
            f" service {KEY}, event_type {KEY}, count bigint NOT NULL,"
            " PRIMARY KEY (decky, service, event_type))",
            f"CREATE TABLE IF NOT EXISTS {self.hour_values} (hour timestamptz NOT NULL,"
            f" decky {KEY}, service {KEY}, event_type {KEY},"
            " count bigint NOT NULL, PRIMARY KEY (decky, service, event_type, hour))",
            *(
                f"CREATE TABLE IF NOT EXISTS {self.hours_by(d)} ({d} {KEY},"
                f" hour timestamptz NOT NULL, count bigint NOT NULL, PRIMARY KEY ({d}, hour))"
                for d in DIMENSIONS
            ),
        )

    def indexes(self, suffix: str = "") -> tuple[tuple[str, str], ...]:
        """The secondary indexes of the rows as (name, DDL), the costliest first, or under names
        ending in `suffix` while a bulk load builds them aside (`create_log_indexes`): the GIN
        indexes of tokens and pairs, then the B-trees."""
        logs = self.logs
        defined = (
            ("logs_tokens", "USING gin (tokens)"),
            ("logs_pairs", "USING gin (pairs)"),
            ("logs_ts_id", "(ts DESC, id DESC)"),
            # Each column's index carries the other two: the total of any column-only filter
            # is an index-only count over the rows of one value (ADR 0021).
            ("logs_decky_c", "(decky, ts DESC, id DESC) INCLUDE (service, event_type)"),
            ("logs_service_c", "(service, ts DESC, id DESC) INCLUDE (decky, event_type)"),
            ("logs_event_c", "(event_type, ts DESC, id DESC) INCLUDE (decky, service)"),
            ("logs_attacker", "(attacker_ip, id)"),
        )
        return tuple(
            (name, f"CREATE INDEX IF NOT EXISTS {name}{suffix} ON {logs} {definition}")
            for name, definition in defined
        )

    def trigram_index(self) -> str:
        """The trigram index finding the tokens that contain a word fast (needs pg_trgm)."""
        return (
            f"CREATE INDEX IF NOT EXISTS log_tokens_trgm ON {self.tokens}"
            " USING gin (token gin_trgm_ops)"
        )

    def counted(self) -> tuple[str, ...]:
        """The rows and every count of them: what a purge empties (with the total counter)."""
        return (
            self.logs,
            self.tokens,
            self.pairs,
            self.pair_values,
            self.quarters,
            self.minutes,
            self.hours,
            self.values,
            self.hour_values,
            *(self.hours_by(d) for d in DIMENSIONS),
        )

    def all(self) -> tuple[str, ...]:
        """Every table of the model."""
        return (*self.counted(), self.counters, self.dead, self.purges)


@dataclass(frozen=True, slots=True)
class HistogramTables:
    """The histogram model's per-minute bucket tables in one schema."""

    schema: str

    @property
    def cross(self) -> str:
        """Counts per (minute, decky, service, event_type)."""
        return f"{self.schema}.log_histogram"

    @property
    def totals(self) -> str:
        """Counts per minute."""
        return f"{self.schema}.log_minutes"

    @property
    def quarter_totals(self) -> str:
        """Counts per UTC quarter hour, each with its bucket's text (`label`): an unfiltered
        histogram of a week reads 672 rows, not 10,080 minutes, and formats no time (ADR 0031)."""
        return f"{self.schema}.log_quarter_totals"

    def by_dimension(self, dimension: str) -> str:
        """Counts per (value of one column, minute)."""
        return f"{self.schema}.log_minutes_by_{dimension}"

    def statements(self) -> tuple[str, ...]:
        """DDL creating every table (idempotent)."""
        return (
            f"CREATE TABLE IF NOT EXISTS {self.cross} (minute timestamptz NOT NULL,"
            f" decky {KEY}, service {KEY}, event_type {KEY},"
            " count bigint NOT NULL, PRIMARY KEY (minute, decky, service, event_type))",
            f"CREATE TABLE IF NOT EXISTS {self.totals}"
            " (minute timestamptz PRIMARY KEY, count bigint NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.quarter_totals}"
            " (quarter timestamptz PRIMARY KEY, count bigint NOT NULL, label text NOT NULL)",
            *(
                f"CREATE TABLE IF NOT EXISTS {self.by_dimension(d)} ({d} {KEY},"
                f" minute timestamptz NOT NULL, count bigint NOT NULL, PRIMARY KEY ({d}, minute))"
                for d in DIMENSIONS
            ),
        )

    def all(self) -> tuple[str, ...]:
        """Every table of the model."""
        return (
            self.cross,
            self.totals,
            self.quarter_totals,
            *(self.by_dimension(d) for d in DIMENSIONS),
        )


async def create_logs(conn: AsyncConnection[Any], tables: LogTables) -> None:
    """Create the tables (indexes: `create_log_indexes`)."""
    for statement in deferred(tables.statements())[0]:
        await conn.execute(statement)


async def create_log_indexes(
    conn: AsyncConnection[Any], tables: LogTables, side: AsyncConnection[Any] | None = None
) -> None:
    """Create the indexes; the dictionary's trigram index only where pg_trgm is installed.

    A model bulk-loaded without them (a shadow, a view) has no dictionaries yet: they are made
    here from the rows, in the same transaction (ADR 0025, 0027), and the heavy tokens'
    quarters and heavy pairs' column values from the dictionaries and the rows (ADR 0028,
    0029). With a `side` connection the indexes are built there meanwhile, the costliest
    first, under other names, committed on their own, and renamed in `conn`'s transaction;
    `conn` takes the ones left once the dictionaries are made. The index named `logs_tokens`,
    which says the dictionaries are kept, still appears only with them.
    """
    later = deferred(tables.statements())[1]
    if not await dictionary_kept(conn, tables):
        if side is None:
            await _fill_dictionaries(conn, tables)
        else:
            memory = await (await conn.execute("SHOW maintenance_work_mem")).fetchone()
            aside = await _built_aside(conn, tables)  # by an attempt that crashed
            queue = [index for index in tables.indexes() if index[0] not in aside]
            async with anyio.create_task_group() as tg:
                tg.start_soon(
                    _build_aside, side, tables, memory[0] if memory else None, queue, aside
                )
                await _fill_dictionaries(conn, tables)
                while queue:
                    _, statement = queue.pop(0)
                    await conn.execute(statement)
            for name in aside:
                await conn.execute(f"ALTER INDEX {tables.schema}.{name}{ASIDE} RENAME TO {name}")
            later = ()
    for statement in later:
        await conn.execute(statement)
    await create_trigram_index(conn, tables.trigram_index(), tables.tokens)


async def _fill_dictionaries(conn: AsyncConnection[Any], tables: LogTables) -> None:
    await conn.execute(
        f"TRUNCATE {tables.tokens}, {tables.pairs}, {tables.pair_values}, {tables.quarters}"
    )
    await conn.execute(
        f"INSERT INTO {tables.tokens} (token, count) SELECT token, count(*)"
        f" FROM {tables.logs}, unnest(tokens) AS token GROUP BY token"
    )
    await conn.execute(
        f"INSERT INTO {tables.pairs} (pair, count) SELECT pair, count(*)"
        f" FROM {tables.logs}, unnest(pairs) AS pair GROUP BY pair"
    )
    await conn.execute(*quarters_from_rows(tables))
    await conn.execute(*pair_values_from_rows(tables))


async def _build_aside(
    side: AsyncConnection[Any],
    tables: LogTables,
    memory: str | None,
    queue: list[tuple[str, str]],
    aside: list[str],
) -> None:
    """Take indexes off `queue` until it is empty and build them under their building names,
    in `side`'s own transaction, with the index-build memory of the main one; add each name to
    `aside`. Left behind by a crash, they are found and kept by the next attempt."""
    building = dict(tables.indexes(ASIDE))
    async with side.transaction():
        if memory is not None:
            await side.execute("SELECT set_config('maintenance_work_mem', %s, true)", (memory,))
        while queue:
            name, _ = queue.pop(0)
            await side.execute(building[name])
            aside.append(name)


async def _built_aside(conn: AsyncConnection[Any], tables: LogTables) -> list[str]:
    """The indexes already built under their building names (their names without it)."""
    rows = await (
        await conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND right(indexname, %s) = %s"
            " ORDER BY 1",
            (tables.schema, len(ASIDE), ASIDE),
        )
    ).fetchall()
    return [name.removesuffix(ASIDE) for (name,) in rows]


async def dictionary_kept(conn: AsyncConnection[Any], tables: LogTables) -> bool:
    """Whether the rows' writes keep the token and pair dictionaries: once the token index
    exists (the pair index is built with it).

    Before (a bulk load) the dictionaries are left empty and made from the rows with the indexes.
    """
    row = await (
        await conn.execute(
            "SELECT 1 FROM pg_indexes WHERE schemaname = %s AND indexname = 'logs_tokens'",
            (tables.schema,),
        )
    ).fetchone()
    return row is not None
