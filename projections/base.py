"""What a read model is to the runner: tables in one schema and a deterministic apply of events."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

import psycopg
import structlog
from psycopg import AsyncConnection

from application.ports import LiveLog


@dataclass(frozen=True, slots=True)
class Envelope:
    """One stored event at its global position, decoded, with its stored form."""

    position: int
    event: Any
    stored: Any = None  # the notification as stored (topic, state bytes, ...)


class LogsCommitted:
    """A logs commit: the rows it made visible (oldest first), or a purge.

    The rows are built on first use: only a live model's listeners read them, so a shadow or a
    view rebuilding millions of records never pays for them.
    """

    __slots__ = ("_make", "_rows", "purged")

    def __init__(
        self, make: Callable[[], tuple[LiveLog, ...]] = tuple, purged: bool = False
    ) -> None:
        self._make = make
        self._rows: tuple[LiveLog, ...] | None = None
        self.purged = purged

    @property
    def rows(self) -> tuple[LiveLog, ...]:
        """The rows, oldest first."""
        if self._rows is None:
            self._rows = self._make()
        return self._rows


# What listeners hear after a commit; None when a model has nothing to tell.
Effect = LogsCommitted | None


class Projection(Protocol):
    """A read model bound to one schema. `apply` is a pure function of the events and its rows."""

    @property
    def name(self) -> str:
        """The model's name (`logs`, `attackers`, ...), the key of its tracked position."""
        ...

    @property
    def version(self) -> int:
        """Bumped when the tables or their meaning change: the model is then rebuilt."""
        ...

    @property
    def topics(self) -> Sequence[str]:
        """The event topics the model reads."""
        ...

    @property
    def schema(self) -> str:
        """The PostgreSQL schema holding the model's tables."""
        ...

    @property
    def batch_events(self) -> int:
        """How many events one transaction applies at most."""
        ...

    @property
    def read_ahead(self) -> bool:
        """Whether the runner reads and decodes the next page while this one is applied.

        Worth it for a model with small pages and heavy writes (the logs): PostgreSQL writes one
        batch while Python decodes the next. A page of a model with big pages stays one.
        """
        ...

    @property
    def indexes_aside(self) -> bool:
        """Whether `create_indexes` builds some indexes on a second connection when lent one
        (the runner lends one only to a model that says so: the pool is shared)."""
        ...

    @property
    def undecoded(self) -> frozenset[str]:
        """Topics whose events the model reads only as stored: the runner hands them over with
        `event` None instead of decoding them (the tree model hashes a batch's stored bytes;
        decoding its 1,000 records would be thrown away)."""
        ...

    async def create(self, conn: AsyncConnection[Any]) -> None:
        """Create the model's tables (idempotent)."""
        ...

    async def create_indexes(
        self, conn: AsyncConnection[Any], side: AsyncConnection[Any] | None = None
    ) -> None:
        """Create the secondary indexes (idempotent), inside `conn`'s transaction.

        A live model has them from the start; a shadow or a view is bulk-loaded without them
        and builds them once, when it has caught up (one sort per index, not one insert per row).
        `side`, when given, is a second connection (not in a transaction) the model may build
        some of them on at the same time, on the other core, committing them on its own; what
        `conn` commits must stay the marker that the whole set exists.
        """
        ...

    async def drop(self, conn: AsyncConnection[Any]) -> None:
        """Drop the model's tables."""
        ...

    async def apply(self, conn: AsyncConnection[Any], batch: Sequence[Envelope]) -> Effect:
        """Write the rows for these events inside the runner's transaction."""
        ...


@runtime_checkable
class PreparesAhead(Protocol):
    """A model whose `apply` begins with pure Python work on the events (rows, counts): the
    runner has it done in the worker thread that reads and decodes a page ahead, while the
    previous page is being written (ADR 0023), instead of inside `apply`."""

    def prepare_ahead(self, batch: Sequence[Envelope]) -> None:
        """Do (and keep, for the `apply` of this very batch) the work; thread-safe."""
        ...


class SchemaBound:
    """Defaults every projection shares: its schema and the events per transaction."""

    batch_events = 200
    read_ahead = False
    indexes_aside = False
    undecoded: frozenset[str] = frozenset()

    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def create_indexes(
        self, conn: AsyncConnection[Any], side: AsyncConnection[Any] | None = None
    ) -> None:
        """No secondary indexes unless the model says so."""


def deferred(statements: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """DDL split into (tables and what they need to be written, secondary indexes)."""
    later = tuple(s for s in statements if s.startswith("CREATE INDEX"))
    return tuple(s for s in statements if s not in later), later


async def create_trigram_index(conn: AsyncConnection[Any], statement: str, table: str) -> None:
    """Run `statement`, a trigram index (pg_trgm), where the extension is installed: a search
    still works without it, by scanning; the index only speeds it up."""
    installed = await (
        await conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
    ).fetchone()
    if not installed:
        return
    try:
        async with conn.transaction():
            await conn.execute(statement)
    except psycopg.Error as e:
        structlog.get_logger().warning("trigram_index_unavailable", table=table, error=str(e))


class TableSet(Protocol):
    """A model's tables in one schema, describing themselves."""

    def statements(self) -> tuple[str, ...]:
        """DDL creating every table and index (idempotent)."""
        ...

    def all(self) -> tuple[str, ...]:
        """Every table of the model (qualified names)."""
        ...


T = TypeVar("T", bound=TableSet)


async def drop_tables(conn: AsyncConnection[Any], tables: tuple[str, ...]) -> None:
    """Drop a model's tables."""
    await conn.execute(f"DROP TABLE IF EXISTS {', '.join(tables)}")


class Tabled(SchemaBound, Generic[T]):
    """A model whose `tables` create and drop themselves: the runner's `create`/`drop` for free."""

    tables: T

    async def create(self, conn: AsyncConnection[Any]) -> None:
        for statement in deferred(self.tables.statements())[0]:
            await conn.execute(statement)

    async def create_indexes(
        self, conn: AsyncConnection[Any], side: AsyncConnection[Any] | None = None
    ) -> None:
        for statement in deferred(self.tables.statements())[1]:
            await conn.execute(statement)

    async def drop(self, conn: AsyncConnection[Any]) -> None:
        await drop_tables(conn, self.tables.all())
