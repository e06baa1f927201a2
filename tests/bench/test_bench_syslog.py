"""End-to-end ingest: syslog over TCP into a real `decnet serve` until the store holds it all.

`pytest tests/bench -m bench -s -k syslog` (DECNET_BENCH_SYSLOG_RECORDS, default 200,000). Measures
the collector (parse + journal) and the batcher (1,000-record appends) together, with the
projections running alongside as they would in production; then how long the read models took
to catch up.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from itertools import islice
from pathlib import Path

import httpx
import pytest

from infrastructure.collector.framing import octet_count
from infrastructure.collector.rfc5424 import format_line
from tests.bench.synthetic import records
from tests.bench.test_bench_ingest_read import _admin_token, _env

pytestmark = pytest.mark.bench
RECORDS = int(os.environ.get("DECNET_BENCH_SYSLOG_RECORDS", "200000"))
PORT = 18800


def _appended(client: httpx.Client) -> int:
    detail = client.get("/health").json()["components"]["ingestion_worker"]["detail"]
    match = re.search(r"(\d+) records appended", detail)
    return int(match.group(1)) if match else 0


def test_syslog_ingest_end_to_end(tmp_path: Path) -> None:
    """TCP syslog → journal → event store, then read models caught up."""
    payload = b"".join(octet_count(format_line(r)) for r in islice(records(RECORDS), RECORDS))
    env = _env(tmp_path, PORT)
    server = subprocess.Popen([sys.executable, "-m", "interfaces.cli.main", "serve"], env=env)
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{PORT}/api/v1", timeout=30)
        client.headers["Authorization"] = f"Bearer {_admin_token(client)}"
        start = time.perf_counter()
        with socket.create_connection(("127.0.0.1", PORT + 1)) as sock:
            sock.sendall(payload)
        sent = time.perf_counter() - start
        while _appended(client) < RECORDS:
            time.sleep(0.05)
        stored = time.perf_counter() - start
        while client.get("/stats").json()["total_logs"] < RECORDS:
            time.sleep(0.2)
        projected = time.perf_counter() - start
        print(f"\n  syslog TCP, {RECORDS:,} records ({len(payload) / 1e6:.0f} MB)")
        print(f"  accepted by the collector in {sent:6.2f} s = {RECORDS / sent:>9,.0f} /s")
        print(f"  appended to the event store {stored:6.2f} s = {RECORDS / stored:>9,.0f} /s")
        print(
            f"  visible in /logs (projected) {projected:6.2f} s = {RECORDS / projected:>9,.0f} /s"
        )
        health = client.get("/health").json()["components"]
        print(f"  batcher: {health['ingestion_worker']['detail']}")
    finally:
        server.terminate()
        server.wait(timeout=60)
