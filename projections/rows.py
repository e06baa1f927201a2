"""Named rows straight from SQL: a row factory per struct and SPEC's timestamp text.

Queries select columns named like the struct's fields and get structs back, so no code slices
tuples by position. Timestamps are loaded as SPEC's ISO-8601 text with a `Z` (the pool's
sessions run in UTC) without building a datetime per value.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from psycopg import AsyncConnection, AsyncCursor
from psycopg.abc import AdaptContext
from psycopg.adapt import Buffer, Loader
from psycopg.rows import class_row, tuple_row

T = TypeVar("T")


class IsoZLoader(Loader):
    """`timestamptz` text (`2026-04-18 02:22:56.5+00`) → `2026-04-18T02:22:56.500000Z`."""

    def load(self, data: Buffer) -> str:
        text = bytes(data).decode()
        if text.endswith("+00 BC"):  # a histogram bucket before year 1: ISO 8601's year 0000
            year, rest = text[: -len(" BC")].split("-", 1)
            astronomical = 1 - int(year)
            sign = "-" if astronomical < 0 else ""
            text = f"{sign}{abs(astronomical):04d}-{rest}"
        elif not text.endswith("+00"):  # a session outside UTC: take the slow, exact path
            return iso_z(datetime.fromisoformat(text).astimezone(UTC))
        stamp = text[:-3].replace(" ", "T", 1)
        dot = stamp.find(".", 10)
        if dot < 0:
            return f"{stamp}Z"
        return f"{stamp}{'0' * (7 - len(stamp) + dot)}Z"  # six fraction digits


class JsonTextLoader(Loader):
    """`json` as its text, undecoded (UTF-8 bytes), to splice into a response."""

    def __init__(self, oid: int, context: AdaptContext | None = None) -> None:
        super().__init__(oid, context)
        conn = self.connection
        self._utf8 = conn is None or conn.info.encoding == "utf-8"

    def load(self, data: Buffer) -> bytes:
        if self._utf8:
            return bytes(data)
        conn = self.connection
        assert conn is not None
        return bytes(data).decode(conn.info.encoding).encode()


def iso_z_sql(column: str) -> str:
    """SQL of a `timestamptz` column as `IsoZLoader` writes it (years 1 and later): whole
    seconds, or six fraction digits, and a `Z`."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"to_char({utc}, CASE WHEN {utc} = date_trunc('second', {utc})"
        """ THEN 'YYYY-MM-DD"T"HH24:MI:SS"Z"' ELSE 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"' END)"""
    )


def bucket_text_sql(column: str) -> str:
    """SQL of a whole-second `timestamptz` as `IsoZLoader` writes it, years before 1 too: a
    histogram bucket before year 1 (a record in year 1's first minutes, at an interval that does
    not divide its distance from the epoch) is in 1 BC, ISO 8601's year 0000."""
    return (
        f"CASE WHEN {column} >= '0001-01-01T00:00:00Z'"
        f""" THEN to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""
        f""" ELSE '0000' || to_char({column} AT TIME ZONE 'UTC', '-MM-DD"T"HH24:MI:SS"Z"') END"""
    )


def utc(ts: datetime) -> datetime:
    """The time in UTC, as the table's `timestamptz` holds it (a naive time is taken as UTC,
    as the projection's UTC sessions take it): `/logs` shows every timestamp with a `Z`."""
    if ts.tzinfo is None:
        return ts.replace(tzinfo=UTC)
    return ts if ts.utcoffset() == timedelta(0) else ts.astimezone(UTC)


def iso_z(ts: datetime) -> str:
    """ISO-8601 UTC with a Z suffix, whole seconds unless the time has a fraction."""
    return ts.isoformat().replace("+00:00", "Z")


def rows_of(conn: AsyncConnection[Any], cls: type[T]) -> AsyncCursor[T]:
    """A cursor yielding `cls` instances, timestamps as ISO-Z text."""
    cur = conn.cursor(row_factory=class_row(cls))
    cur.adapters.register_loader("timestamptz", IsoZLoader)
    return cur


def tuples_of(conn: AsyncConnection[Any]) -> AsyncCursor[tuple[Any, ...]]:
    """A cursor yielding plain tuples, timestamps as ISO-Z text (for the hottest reads, where
    building a struct by keyword per row is measurable)."""
    cur = conn.cursor(row_factory=tuple_row)
    cur.adapters.register_loader("timestamptz", IsoZLoader)
    return cur


def json_text_of(conn: AsyncConnection[Any]) -> AsyncCursor[tuple[Any, ...]]:
    """A cursor yielding plain tuples, `json` values (and text, JSON stored as text) as their
    UTF-8 text (bytes)."""
    cur = conn.cursor(row_factory=tuple_row)
    cur.adapters.register_loader("json", JsonTextLoader)
    cur.adapters.register_loader("text", JsonTextLoader)
    return cur
