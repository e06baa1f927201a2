"""A search whose client leaves stops on PostgreSQL too: the request layer cancels the handler,
psycopg cancels the statement, and the pool gets its connection back idle."""

from __future__ import annotations

import time
from typing import Any

import anyio
import psycopg
import pytest
from litestar.types import Message, Receive, ReceiveMessage, Scope, Send

from infrastructure.read_pool import AutocommitPool
from interfaces.http.request_id import observe_requests

pytestmark = pytest.mark.anyio
SLEEP = "SELECT pg_sleep(%s), 'decnet-abandoned-search-test'"


def _scope(query: bytes) -> Scope:
    return {  # type: ignore[return-value]  # the keys an HTTP scope has that the layer reads
        "type": "http",
        "method": "GET",
        "path": "/api/v1/logs",
        "query_string": query,
        "headers": [],
    }


def _client(leaves_after: float) -> Receive:
    """The request, then (from the second call) a disconnect `leaves_after` seconds later."""
    calls = 0

    async def receive() -> ReceiveMessage:
        nonlocal calls
        calls += 1
        if calls == 1:
            return {"type": "http.request", "body": b"", "more_body": False}
        await anyio.sleep(leaves_after)
        return {"type": "http.disconnect"}

    return receive


def _sleeper(autocommit_pool: AutocommitPool, seconds: float, finished: list[str]) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        async with autocommit_pool.connection() as conn:
            await conn.execute(SLEEP, (seconds,))
        finished.append("query")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}", "more_body": False})

    return app


async def _sleeping_backends(database_url: str) -> int:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        row = await (
            await conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
                " AND query LIKE %s AND pid <> pg_backend_pid()",
                ("%decnet-abandoned-search-test%",),
            )
        ).fetchone()
    return int(row[0]) if row else 0


async def test_a_search_whose_client_leaves_is_cancelled_in_postgresql(
    autocommit_pool: AutocommitPool, database_url: str
) -> None:
    finished: list[str] = []
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    layer = observe_requests(_sleeper(autocommit_pool, 30, finished))
    started = time.perf_counter()
    with anyio.fail_after(10):
        await layer(_scope(b"search=a"), _client(leaves_after=0.5), send)
    assert time.perf_counter() - started < 5  # not the statement's 30 s
    assert finished == []
    assert sent == []
    assert await _sleeping_backends(database_url) == 0
    assert autocommit_pool.get_stats()["pool_available"] == 1
    async with autocommit_pool.connection() as conn:  # the one connection serves the next request
        assert await (await conn.execute("SELECT 1")).fetchone() == (1,)


async def test_a_search_answered_before_the_client_goes_is_left_alone(
    autocommit_pool: AutocommitPool,
) -> None:
    finished: list[str] = []
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    layer = observe_requests(_sleeper(autocommit_pool, 0.05, finished))
    await layer(_scope(b"limit=5&search=root"), _client(leaves_after=1.0), send)
    assert finished == ["query"]
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]


async def test_a_read_without_a_search_is_not_watched(autocommit_pool: AutocommitPool) -> None:
    """Bounded reads skip the watcher: the handler runs to its end even if the client left."""
    finished: list[str] = []

    async def send(message: Message) -> None:
        pass

    layer = observe_requests(_sleeper(autocommit_pool, 0.3, finished))
    await layer(_scope(b"limit=5&research=x"), _client(leaves_after=0.0), send)
    assert finished == ["query"]
