"""Ingest and read benchmark: `pytest tests/bench -m bench -s` (DECNET_BENCH_RECORDS, default 1M).

Prints records/s for parsing, event-store appends and each projection, then p50/p95 latency of
every read route against a real `decnet serve` on the same data. Figures go in the README.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from itertools import islice
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from application.observations.ingest import IngestCommands
from domain.observations.batch import JournalSpan
from infrastructure.collector.rfc5424 import format_line, parse_line
from infrastructure.settings import load_settings
from interfaces.bootstrap import bootstrap
from tests.bench.run import server_env
from tests.bench.synthetic import records

pytestmark = pytest.mark.bench
RECORDS = int(os.environ.get("DECNET_BENCH_RECORDS", "1000000"))
SAMPLES = 60


def _env(data_dir: Path, port: int) -> dict[str, str]:
    return server_env(data_dir, port, os.environ.get("DECNET_BENCH_PG_URL"))


def _report(name: str, count: int, seconds: float) -> None:
    print(f"  {name:34} {count:>9} in {seconds:7.2f} s = {count / seconds:>10,.0f} /s")


def test_parse_throughput() -> None:
    """RFC 5424 parsing speed on one core."""
    lines = [format_line(r) for r in islice(records(50_000), 50_000)]
    start = time.perf_counter()
    for line in lines:
        parse_line(line)
    _report("parse (one core)", len(lines), time.perf_counter() - start)


def test_ingest_and_read(tmp_path: Path) -> None:
    """Append RECORDS in 1,000-record batches, project them, then time every read route."""
    env = _env(tmp_path, 18700)
    os.environ.update({k: v for k, v in env.items() if k.startswith("DECNET_")})
    anyio.run(_ingest_and_project)
    _read_latencies(env, 18700)


async def _ingest_and_project() -> None:
    async with bootstrap(load_settings()) as container:
        ingest = IngestCommands(container.core.store)
        runner = container.runner
        assert runner is not None
        stream = records(RECORDS)
        start = time.perf_counter()
        offset = 0
        while batch := list(islice(stream, 1000)):
            span = JournalSpan("bench", offset, offset + len(batch))
            await anyio.to_thread.run_sync(ingest.append, batch, [], span)
            offset += len(batch)
        _report("event store append (1k batches)", RECORDS, time.perf_counter() - start)
        # Every model, as on a server that has been running: a model left behind would be caught
        # up by `decnet serve` at start, competing with the requests being timed.
        for name in runner.projections:
            start = time.perf_counter()
            await runner.catch_up(name)
            _report(f"projection {name}", RECORDS, time.perf_counter() - start)


def _read_latencies(env: dict[str, str], port: int) -> None:
    server = subprocess.Popen([sys.executable, "-m", "interfaces.cli.main", "serve"], env=env)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        client = httpx.Client(base_url=base, timeout=30)
        token = _admin_token(client)
        client.headers["Authorization"] = f"Bearer {token}"
        uuid = client.get("/attackers", params={"sort_by": "active"}).json()["data"][0]["uuid"]
        routes: dict[str, tuple[str, dict[str, Any]]] = {
            "/logs (first page)": ("/logs", {}),
            "/logs?offset=5000": ("/logs", {"offset": 5000}),
            "/logs decky+service": ("/logs", {"search": "decky:decky-03 service:ssh"}),
            "/logs field username:root": ("/logs", {"search": "username:root"}),
            "/logs free text 'bot.sh'": ("/logs", {"search": "bot.sh"}),
            "/logs time range 1h": (
                "/logs",
                {"start_time": "2026-11-03T10:00:00Z", "end_time": "2026-11-03T11:00:00Z"},
            ),
            "/logs/histogram": ("/logs/histogram", {}),
            "/logs/histogram service:ssh": (
                "/logs/histogram",
                {"search": "service:ssh", "interval_minutes": 60},
            ),
            "/logs/histogram free text": (
                "/logs/histogram",
                {"search": "bot.sh", "interval_minutes": 60},
            ),
            "/bounty": ("/bounty", {}),
            "/bounty credential": ("/bounty", {"bounty_type": "credential"}),
            "/stats": ("/stats", {}),
            "/attackers": ("/attackers", {}),
            "/attackers sort=traversals": ("/attackers", {"sort_by": "traversals"}),
            "/attackers/{uuid}": (f"/attackers/{uuid}", {}),
            "/attackers/{uuid}/commands": (f"/attackers/{uuid}/commands", {}),
        }
        print(f"\n  read latency over {SAMPLES} requests at {RECORDS:,} logs (ms)")
        for label, (path, params) in routes.items():
            times = []
            for _ in range(SAMPLES):
                t = time.perf_counter()
                response = client.get(path, params=params)
                times.append((time.perf_counter() - t) * 1000)
                assert response.status_code == 200, (label, response.text)
            times.sort()
            p95 = times[int(len(times) * 0.95) - 1]
            print(f"  {label:34} p50 {statistics.median(times):7.2f}  p95 {p95:7.2f}")
    finally:
        server.terminate()
        server.wait(timeout=30)


def _admin_token(client: httpx.Client) -> str:
    deadline = time.monotonic() + 60
    while True:
        try:
            r = client.post("/auth/login", json={"username": "admin", "password": "benchpass1"})
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    if r.json()["must_change_password"]:
        client.post(
            "/auth/change-password",
            json={"old_password": "benchpass1", "new_password": "benchpass2"},
            headers={"Authorization": f"Bearer {token}"},
        )
        r = client.post("/auth/login", json={"username": "admin", "password": "benchpass2"})
        assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    return str(token)
