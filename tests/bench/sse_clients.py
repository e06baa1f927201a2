"""SSE clients in a process of their own: `python -m tests.bench.sse_clients URL TOKEN N TIMEOUT`.

Opens N `/stream` connections (httpx, one connection each), prints `ready <n>` once every one
has received its first frame (the stats snapshot), then notes when each `ssefresh<i>` marker
arrives on each connection (CLOCK_MONOTONIC, comparable across processes). A line on stdin (or
TIMEOUT seconds) stops it; it prints `{"marker": [receive times...]}` as JSON and exits.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import defaultdict

import anyio
import httpx

MARKER = re.compile(r"ssefresh(\d+)")


async def client(
    http: httpx.AsyncClient,
    token: str,
    received: dict[str, list[float]],
    connected: list[int],
    total: int,
    all_ready: anyio.Event,
) -> None:
    seen: set[str] = set()
    headers = {"Authorization": token}
    async with http.stream("GET", "/stream", headers=headers, timeout=None) as response:
        ready = False
        async for line in response.aiter_lines():
            if not ready and line.startswith("data:"):
                ready = True
                connected[0] += 1
                if connected[0] == total:
                    all_ready.set()
            for marker in MARKER.findall(line):
                if marker not in seen:
                    seen.add(marker)
                    received[marker].append(time.monotonic())


async def main(url: str, token: str, count: int, timeout: float) -> None:
    received: dict[str, list[float]] = defaultdict(list)
    connected = [0]
    all_ready = anyio.Event()
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with (
        httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http,
        anyio.create_task_group() as tg,
    ):
        for _ in range(count):
            tg.start_soon(client, http, token, received, connected, count, all_ready)
            await anyio.sleep(0.005)  # a steady ramp, not a thundering herd
        with anyio.move_on_after(timeout):
            await all_ready.wait()
        print(f"ready {connected[0]}", flush=True)
        with anyio.move_on_after(timeout):
            await anyio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True)
        tg.cancel_scope.cancel()
    print(json.dumps(received), flush=True)


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
