"""SSE clients in a process of their own: `python -m tests.bench.sse_clients URL TOKEN N TIMEOUT`.

Opens N `/stream` connections (plain HTTP/1.1 over asyncio streams: a thousand httpx line
parsers would make the clients, not the server, the thing measured), prints `ready <n>` once
every one has received its first frame (the stats snapshot), then notes when each
`ssefresh<i>` marker first arrives on each connection (CLOCK_MONOTONIC, comparable across
processes). A line on stdin (or TIMEOUT seconds) stops it; it prints
`{"marker": [receive times...]}` as JSON and exits.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from collections import defaultdict
from urllib.parse import urlsplit

MARKER = re.compile(rb"ssefresh(\d+)")
TAIL = 32  # a marker split across two reads is found in the previous read's tail + this one


class Clients:
    def __init__(self, url: str, token: str, total: int) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.request = (
            f"GET {parts.path.rstrip('/')}/stream HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Authorization: {token}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
        self.total = total
        self.connected = 0
        self.all_ready = asyncio.Event()
        self.received: dict[str, list[float]] = defaultdict(list)

    async def client(self) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        writer.write(self.request)
        seen: set[bytes] = set()
        ready = False
        tail = b""
        try:
            while chunk := await reader.read(65536):
                now = time.monotonic()
                if not ready and b"data:" in chunk:
                    ready = True
                    self.connected += 1
                    if self.connected == self.total:
                        self.all_ready.set()
                for marker in MARKER.findall(tail + chunk):
                    if marker not in seen:
                        seen.add(marker)
                        self.received[marker.decode()].append(now)
                tail = chunk[-TAIL:]
        finally:
            writer.close()


async def main(url: str, token: str, count: int, timeout: float) -> None:
    clients = Clients(url, token, count)
    tasks = []
    for _ in range(count):
        tasks.append(asyncio.ensure_future(clients.client()))
        await asyncio.sleep(0.005)  # a steady ramp, not a thundering herd
    try:
        async with asyncio.timeout(timeout):
            await clients.all_ready.wait()
    except TimeoutError:
        pass
    print(f"ready {clients.connected}", flush=True)
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            await loop.run_in_executor(None, sys.stdin.readline)
    except TimeoutError:
        pass
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps(clients.received), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
