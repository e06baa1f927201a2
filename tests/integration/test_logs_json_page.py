"""`/logs` pages as JSON built by PostgreSQL decode to exactly what the `LogRow` path encodes.

Awkward rows (unicode, quotes, backslashes, every control character but NUL, whole-second and
fractional timestamps, the first and last years a datetime has, a missing attacker IP) are paged
both ways, by every statement shape `page` has: the counter total, a counted search, a search
with per-value totals, the deep page, an empty page and offsets past the end. The JSON bytes may
escape differently; the decoded envelopes, keys in order, must be equal.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest

from application.observations.ingest import IngestCommands
from application.reads.ports import LogFilter
from domain.observations.search import parse_search
from interfaces.http.schemas import LogPage, spliced_page
from projections import logs_search
from projections.attackers_queries import AttackerQueries
from projections.logs_queries import DEEP_OFFSET, LogQueries
from projections.logs_schema import LogTables
from projections.schema import live_schema
from tests.integration.observations_fixtures import BASE_TIME, record
from tests.integration.stores import projected_models

CONTROL = "".join(chr(c) for c in range(1, 32)) + "\x7f"
AWKWARD = [
    'quote " backslash \\ slash / ' + CONTROL,
    "unicode é ß 漢字 🐍 \u2028 \u2029 \ufeff",
    "",
    "\\u0041 is not A, \\\\ is two",
]
TIMES = [
    BASE_TIME,  # whole second
    BASE_TIME + timedelta(microseconds=1),
    BASE_TIME + timedelta(microseconds=500_000),
    BASE_TIME + timedelta(microseconds=999_999),
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(1, 1, 1, 0, 0, 0, 7, tzinfo=UTC),
    datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC),
    datetime(9999, 12, 31, 22, 59, 59, 999_999, tzinfo=UTC),
    datetime(2026, 4, 18, 7, 30, 0, 250, tzinfo=timezone(timedelta(hours=5, minutes=30))),
]


def awkward_records() -> list[Any]:
    out = []
    for i in range(60):
        text = AWKWARD[i % len(AWKWARD)]
        out.append(
            record(
                i,
                timestamp=TIMES[i % len(TIMES)] if i < 30 else BASE_TIME + timedelta(seconds=i),
                decky=f"decky-{i % 3}",
                service=text[:20] if i % 5 == 0 else "ssh",
                event_type="login" if i % 2 else "connect",
                attacker_ip=None if i % 7 == 0 else f"10.0.0.{i}",
                msg=f"{text} {i}",
                fields={'k"ey': text, "seq": str(i), "ü": "\\"},
                raw_line=text + f" <{i}>",
            )
        )
    return out


def old_body(total: int, limit: int, offset: int, rows: list[Any]) -> bytes:
    return msgspec.json.encode(LogPage(total, limit, offset, rows))


def new_body(total: int, limit: int, offset: int, rows_json: bytes) -> bytes:
    return msgspec.json.encode(spliced_page(LogPage, total, limit, offset, rows_json))


def decoded(body: bytes) -> Any:
    """JSON with objects as lists of pairs, so key order is compared too."""
    return json.loads(body, object_pairs_hook=list)


async def compare(queries: LogQueries, search: str, limit: int, offset: int) -> int:
    f = LogFilter(parse_search(search))
    total, rows = await queries.page(f, limit, offset)
    json_total, rows_json = await queries.page_json(f, limit, offset)
    old, new = old_body(total, limit, offset, rows), new_body(json_total, limit, offset, rows_json)
    assert decoded(new) == decoded(old), (search, limit, offset)
    assert msgspec.json.decode(new, type=LogPage) == msgspec.json.decode(old, type=LogPage)
    return total


async def check(url: str) -> None:
    async with projected_models(url, ("logs",), batch_size=7) as p:
        ingest = IngestCommands(p.store)
        await asyncio.to_thread(ingest.append, awkward_records(), [], None)
        await p.runner.catch_up("logs")
        queries = LogQueries(p.pool)
        seen = {}
        for search in ("", "decky:decky-1", "decky:decky-1 event_type:login", "é", "nothing-x"):
            for limit, offset in ((50, 0), (7, 3), (1, 59), (5, 60), (5, 1000), (3, DEEP_OFFSET)):
                seen[search, offset] = await compare(queries, search, limit, offset)
        assert seen["", 0] == seen["", 1000] == seen["", DEEP_OFFSET] == 60
        assert seen["decky:decky-1", 1000] == 20
        assert seen["nothing-x", 0] == 0
        _, every = await queries.page_json(LogFilter(parse_search("")), 60, 0)
        stamps = {row["timestamp"] for row in json.loads(every)}
        assert {"2026-04-18T02:00:00Z", "2026-04-18T02:00:00.000001Z"} <= stamps
        assert {"0001-01-01T00:00:00Z", "9999-12-31T22:59:59.999999Z"} <= stamps


def test_json_pages_decode_to_the_log_row_pages(database_url: str) -> None:
    """Every page shape, old path and new, decodes to equal envelopes with keys in order."""
    asyncio.run(check(database_url))


def test_an_empty_model_pages_to_an_empty_array(database_url: str) -> None:
    """No rows at all: total 0 and `[]`, as the row path gives."""

    async def run() -> None:
        async with projected_models(database_url, ("logs",), batch_size=7) as p:
            queries = LogQueries(p.pool)
            for search, offset in (("", 0), ("", DEEP_OFFSET), ("decky:x", 0), ("free", 5)):
                assert await compare(queries, search, 50, offset) == 0

    asyncio.run(run())


def test_a_logs_model_older_than_v11_pages_the_same(database_url: str) -> None:
    """While an upgrade rebuilds the logs model, the v10 tables (message and raw line as
    columns, no stored row JSON) keep serving: every page shape, the stream's backlog and an
    attacker's captured files read from them equal what the stored JSON gave."""

    async def pages(queries: LogQueries) -> list[Any]:
        out: list[Any] = []
        for search in ("", "decky:decky-1 event_type:login", "é", "nothing-x"):
            f = LogFilter(parse_search(search))
            for limit, offset in ((50, 0), (7, 3), (5, 1000), (3, DEEP_OFFSET)):
                total, rows = await queries.page(f, limit, offset)
                json_total, rows_json = await queries.page_json(f, limit, offset)
                out.append((total, rows, json_total, decoded(rows_json)))
            out.append(await queries.after(5, f, 20))
        return out

    async def run() -> None:
        async with projected_models(database_url, ("logs", "attackers"), batch_size=7) as p:
            ingest = IngestCommands(p.store)
            files = [
                record(100 + i, event_type="file_captured", attacker_ip="10.9.9.9", msg=f"f{i}")
                for i in range(3)
            ]
            await asyncio.to_thread(ingest.append, [*awkward_records(), *files], [], None)
            await p.runner.catch_up("logs")
            await p.runner.catch_up("attackers")
            queries = LogQueries(p.pool)
            attackers = AttackerQueries(p.pool)
            before = await pages(queries)
            captured = await attackers.artifacts("10.9.9.9")
            assert len(captured) == 3
            logs = LogTables(live_schema("logs")).logs
            async with p.pool.connection() as conn:
                await conn.execute(f"ALTER TABLE {logs} ADD msg text, ADD raw_line text")
                await conn.execute(
                    f"UPDATE {logs} SET msg = row_json::json->>'msg',"
                    " raw_line = row_json::json->>'raw_line'"
                )
                await conn.execute(f"ALTER TABLE {logs} DROP COLUMN row_json")
            assert await pages(queries) == before
            assert await attackers.artifacts("10.9.9.9") == captured

    asyncio.run(run())


def test_a_rare_filter_gathers_the_same_pages_as_the_walk(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A filter whose words' tokens few rows hold is gathered and sorted (`RARE_ROWS`), not
    walked newest first: the same totals, rows and order (ties in time broken by id), every
    page shape and the stream's backlog, with and without column terms and a time range."""
    searches = ("é", "quote", "10.0.0.1", "é decky:decky-1", "quote event_type:login", "<1")

    async def pages(queries: LogQueries, rare: bool) -> list[Any]:
        out: list[Any] = []
        for search in searches:
            f = LogFilter(parse_search(search), start=datetime(1, 1, 1, 0, 0, 0, 7, tzinfo=UTC))
            for g in (LogFilter(parse_search(search)), f):
                assert (await queries._dictionary(g)).rare is rare
                for limit, offset in ((50, 0), (7, 3), (1, 10), (5, 1000)):
                    total, rows = await queries.page(g, limit, offset)
                    json_total, rows_json = await queries.page_json(g, limit, offset)
                    out.append((search, total, rows, json_total, decoded(rows_json)))
                out.append(await queries.after(5, g, 20))  # the stream's backlog
        return out

    async def run() -> None:
        async with projected_models(database_url, ("logs",), batch_size=7) as p:
            await asyncio.to_thread(IngestCommands(p.store).append, awkward_records(), [], None)
            await p.runner.catch_up("logs")
            queries = LogQueries(p.pool)
            gathered = await pages(queries, rare=True)
            monkeypatch.setattr(logs_search, "RARE_ROWS", 0)
            assert await pages(queries, rare=False) == gathered
            assert sum(len(page) for page in gathered if isinstance(page, list)) > 0
            assert sum(page[1] for page in gathered if isinstance(page, tuple)) > 0

    asyncio.run(run())
