"""Comparing a topology's read models with a clean rebuild from the same events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import psycopg

from infrastructure.database import EVENTS_SCHEMA
from infrastructure.settings import AppSettings
from interfaces.cli.local_readmodels import open_local
from projections.schema import LIVE_PREFIX

Rows = dict[str, list[tuple[Any, ...]]]


def dump_live(url: str) -> Rows:
    """Every row of every live read-model table, by `schema.table`, in a stable order."""
    rows: Rows = {}
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_schema LIKE %s ORDER BY 1, 2",
            (f"{LIVE_PREFIX}%",),
        ).fetchall()
        for schema, table in tables:
            cursor = conn.execute(f"SELECT * FROM {schema}.{table} AS t ORDER BY t::text")
            rows[f"{schema}.{table}"] = list(cursor.fetchall())
    return rows


def copy_events(source_url: str, target_url: str) -> int:
    """Copy the event store's tables (created empty in the target first); the rows copied."""
    copied = 0
    with psycopg.connect(source_url) as src, psycopg.connect(target_url) as dst:
        tables = src.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (EVENTS_SCHEMA,),
        ).fetchall()
        for (table,) in tables:
            name = f"{EVENTS_SCHEMA}.{table}"
            with (
                src.cursor().copy(f"COPY {name} TO STDOUT (FORMAT binary)") as out,
                dst.cursor().copy(f"COPY {name} FROM STDIN (FORMAT binary)") as into,
            ):
                for chunk in out:
                    into.write(chunk)
            copied += int(dst.execute(f"SELECT count(*) FROM {name}").fetchone()[0])  # type: ignore[index]  # count(*) always returns a row
        dst.commit()
    return copied


def clean_rebuild(source_url: str, target_url: str, data_dir: Path) -> Rows:
    """Build every read model from nothing on a copy of the events; its live rows."""
    settings = AppSettings(database_url=target_url, data_dir_path=str(data_dir))

    async def create_store() -> None:
        async with open_local(settings):
            pass  # the event store's tables and the read models' schemas now exist

    async def build() -> None:
        async with open_local(settings) as local:
            for name in local.runner.projections:
                await local.runner.catch_up(name)

    anyio.run(create_store)
    copy_events(source_url, target_url)
    anyio.run(build)
    return dump_live(target_url)
