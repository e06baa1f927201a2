"""What the journal's group-commit fdatasync costs: TCP lines/s into the collector, batch vs off.

`pytest tests/bench -m bench -s -k fsync` (DECNET_BENCH_FSYNC_RECORDS, default 100,000). For each
policy a fresh `decnet serve` receives the records over 1 and over 8 parallel TCP connections;
each sender half-closes and waits for the server's FIN, which the collector sends only once every
line is journaled (and, with `batch`, fdatasync'ed). Lines/s is records / wall time of a round,
best of ROUNDS; between rounds the store catches up, so back-pressure (64 MiB of lag) never
throttles the collector and the figures are the collector's own. A second test times an
emulator's `submit` (which waits for its group commit) on the same disk.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from itertools import islice
from pathlib import Path

import httpx
import pytest

from infrastructure.collector.framing import octet_count
from infrastructure.collector.journal import FsyncPolicy, Journal
from infrastructure.collector.rfc5424 import format_line
from infrastructure.collector.sink import CollectorSink
from tests.api.harness import free_port
from tests.bench.synthetic import records
from tests.bench.test_bench_ingest_read import _admin_token, _env

pytestmark = pytest.mark.bench
RECORDS = int(os.environ.get("DECNET_BENCH_FSYNC_RECORDS", "100000"))
ROUNDS = 2


def _send(port: int, payload: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(1) == b""  # the collector's FIN: everything read and journaled


def _round(port: int, frames: list[bytes], connections: int) -> float:
    """Seconds to deliver every frame over `connections` parallel senders."""
    payloads = [b"".join(frames[i::connections]) for i in range(connections)]
    senders = [threading.Thread(target=_send, args=(port, p)) for p in payloads]
    start = time.perf_counter()
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    return time.perf_counter() - start


def _drained(client: httpx.Client, total: int) -> None:
    """Wait until the batcher appended `total` records (the journal lag is back to zero)."""
    while True:
        detail = client.get("/health").json()["components"]["ingestion_worker"]["detail"]
        match = re.search(r"(\d+) records appended", detail)
        if match and int(match.group(1)) >= total:
            return
        time.sleep(0.2)


def _collector_detail(client: httpx.Client) -> str:
    detail: str = client.get("/health").json()["components"]["collector_worker"]["detail"]
    return detail


def _measure(tmp: Path, policy: str, frames: list[bytes]) -> dict[str, float]:
    port = free_port()
    env = _env(tmp / policy, port) | {
        "DECNET_SYSLOG_PORT": str(free_port()),
        "DECNET_JOURNAL_FSYNC": policy,
    }
    server = subprocess.Popen([sys.executable, "-m", "interfaces.cli.main", "serve"], env=env)
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=30)
        client.headers["Authorization"] = f"Bearer {_admin_token(client)}"
        syslog = int(env["DECNET_SYSLOG_PORT"])
        best = {1: 0.0, 8: 0.0}
        sent = 0
        for _ in range(ROUNDS):
            for connections in best:
                rate = len(frames) / _round(syslog, frames, connections)
                best[connections] = max(best[connections], rate)
                sent += len(frames)
                _drained(client, sent)
        match = re.search(r"\((\d+) syncs, ([\d.]+) ms each\)", _collector_detail(client))
        assert match, _collector_detail(client)
        return {
            "one": best[1],
            "eight": best[8],
            "syncs": int(match.group(1)),
            "sync_ms": float(match.group(2)),
        }
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_journal_fsync_cost(tmp_path: Path) -> None:
    """TCP lines/s accepted by the collector with DECNET_JOURNAL_FSYNC=off and =batch."""
    frames = [octet_count(format_line(r)) for r in islice(records(RECORDS), RECORDS)]
    results = {policy: _measure(tmp_path, policy, frames) for policy in ("off", "batch")}
    size = sum(map(len, frames)) / 1e6
    print(f"\n  TCP syslog into the collector, {RECORDS:,} lines ({size:.0f} MB) per round")
    head = f"{'1 connection':>16} {'8 connections':>16} {'fdatasyncs':>11} {'ms each':>8}"
    print(f"  {'fsync':6} {head}")
    for policy, r in results.items():
        print(
            f"  {policy:6} {r['one']:>10,.0f} lines/s {r['eight']:>10,.0f} lines/s "
            f"{r['syncs']:>11,.0f} {r['sync_ms']:>8.2f}"
        )
    for key, label in (("one", "1 connection"), ("eight", "8 connections")):
        cost = 1 - results["batch"][key] / results["off"][key]
        print(f"  batch costs {cost:6.1%} of the `off` rate over {label}")


async def _submit_latencies(journal: Journal, count: int) -> list[float]:
    sink = CollectorSink(journal, lambda: journal.bytes_written, wake=lambda: None)
    latencies = []
    for record in islice(records(count), count):
        start = time.perf_counter()
        await sink.submit(record)
        latencies.append(1000 * (time.perf_counter() - start))
    journal.close()
    return latencies


def test_emulator_submit_latency(tmp_path: Path) -> None:
    """How long one emulator record waits in `submit` (one after another), batch vs off."""
    print("\n  emulator submit, 300 records one after another (ms)")
    policies: tuple[FsyncPolicy, ...] = ("off", "batch")
    for policy in policies:
        journal = Journal(tmp_path / policy, fsync=policy)
        ms = sorted(asyncio.run(_submit_latencies(journal, 300)))
        p50, p95 = statistics.median(ms), ms[int(len(ms) * 0.95)]
        print(f"  {policy:6} p50 {p50:7.3f}  p95 {p95:7.3f}  max {ms[-1]:7.3f}")
