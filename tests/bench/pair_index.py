"""Field searches on the logs model through `LogQueries`, without HTTP (ADR 0027).

    DECNET_BENCH_DATABASE=<copy of perf_bench_N> .venv/bin/python -m tests.bench.pair_index

Prints p50/p95 (ms, `DECNET_BENCH_SAMPLES` sequential calls, default 30, on connections set as
the server's read pool sets them) of a page (with its
exact total) and of the histogram for field terms alone and combined, on whatever version of
the logs model the database holds (run it with `PYTHONPATH` on an older checkout to measure
that one), and the sizes of the pair index and dictionary when there are any.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool

from application.reads.ports import LogFilter
from domain.observations.search import parse_search
from infrastructure.read_pool import READ_SESSION
from projections.logs_queries import LogQueries
from tests.bench.trigram_build import url

SAMPLES = int(os.environ.get("DECNET_BENCH_SAMPLES", "30"))
HOUR = (datetime(2026, 11, 3, 10, tzinfo=UTC), datetime(2026, 11, 3, 11, tzinfo=UTC))
SEARCHES = (
    "username:root",
    "password:pw1",
    "username:root service:ssh",
    "username:root password:pw1",
    "username:root login",
    "'command:cat /etc/passwd'",
)


async def timed(label: str, call: Callable[[], Awaitable[Any]]) -> None:
    await call()  # warm
    times = []
    for _ in range(SAMPLES):
        start = time.perf_counter()
        await call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    print(f"  {label:60} p50 {statistics.median(times):8.1f}  p95 {p95:8.1f} ms", flush=True)


async def main() -> None:
    async with AsyncConnectionPool(
        url(), min_size=1, max_size=2, kwargs={"autocommit": True, "options": READ_SESSION}
    ) as pool:
        reads = LogQueries(pool)
        for search in SEARCHES:
            f = LogFilter(parse_search(search))
            total, _ = await reads.page(f, 50, 0)
            await timed(f"page {search} (total {total:,})", lambda f=f: reads.page(f, 50, 0))
            await timed(f"histogram {search}, 60 min", lambda f=f: reads.histogram(f, 60))
            hour = LogFilter(f.query, *HOUR)
            await timed(f"histogram {search}, 1 h, 1 min", lambda f=hour: reads.histogram(f, 1))
        async with pool.connection() as conn:
            for name in ("decnet_rm_logs.logs_pairs", "decnet_rm_logs.log_pairs"):
                row = await (
                    await conn.execute(
                        "SELECT pg_size_pretty(pg_total_relation_size(to_regclass(%s)))", (name,)
                    )
                ).fetchone()
                print(f"  size of {name:48} {row[0] if row else None}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
