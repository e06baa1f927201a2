"""End-to-end ingest rate, split topology against `decnet serve`, on the machine's PostgreSQL.

`pytest tests/bench/test_bench_topology.py -m bench -s` (DECNET_TEST_PG_URL and
DECNET_TEST_REDIS_URL; DECNET_BENCH_TOPOLOGY_RECORDS, default 50,000). The same RFC 5424 payload
goes over one TCP connection to the collector of each shape; the clock stops when `/stats`
counts every record (collected, journaled, appended, projected and readable through the API).
"""

from __future__ import annotations

import os
import socket
import time
from itertools import islice

import httpx
import pytest

from infrastructure.collector.framing import octet_count
from infrastructure.collector.rfc5424 import format_line
from tests.api.harness import PG_URL_ENV
from tests.bench.synthetic import records
from tests.topology.harness import Process, Topology, admin_token, topology

pytestmark = pytest.mark.bench
RECORDS = int(os.environ.get("DECNET_BENCH_TOPOLOGY_RECORDS", "50000"))
PASSWORD = "bench-admin-pw-0001"
TIMEOUT_S = 600.0


def _ingest(topo: Topology, api: Process, payload: bytes) -> tuple[float, float]:
    """Seconds until the collector took the payload, and until `/stats` shows every record."""
    token = admin_token(api, PASSWORD)
    with httpx.Client(base_url=f"{api.base_url}/api/v1", timeout=30) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        start = time.perf_counter()
        with socket.create_connection(("127.0.0.1", topo.syslog_port)) as sock:
            sock.sendall(payload)
        sent = time.perf_counter() - start
        while client.get("/stats").json()["total_logs"] < RECORDS:
            assert time.perf_counter() - start < TIMEOUT_S, "ingest did not finish"
            time.sleep(0.1)
        return sent, time.perf_counter() - start


def _print(shape: str, payload: bytes, sent: float, visible: float) -> None:
    print(f"\n  {shape}: {RECORDS:,} records ({len(payload) / 1e6:.1f} MB) over one TCP connection")
    print(f"    sent (into socket buffers) {sent:7.2f} s = {RECORDS / sent:>9,.0f} /s")
    print(f"    visible in /stats, /logs  {visible:7.2f} s = {RECORDS / visible:>9,.0f} /s")


def test_ingest_rate_split_topology_against_serve() -> None:
    """The same payload into `decnet serve` and into collector → store → projector → api
    (with the fleet running, as serve runs its runtime)."""
    admin_url, redis_url = os.environ.get(PG_URL_ENV), os.environ.get("DECNET_TEST_REDIS_URL")
    if not admin_url or not redis_url:
        pytest.skip(f"set {PG_URL_ENV} and DECNET_TEST_REDIS_URL")
    payload = b"".join(octet_count(format_line(r)) for r in islice(records(RECORDS), RECORDS))
    with topology(admin_url, redis_url) as topo:
        serve = topo.spawn("serve", "serve", shared=False, DECNET_LOG_LEVEL="warning")
        serve.wait_http()
        _print(
            "decnet serve (main process + intake child)", payload, *_ingest(topo, serve, payload)
        )
    with topology(admin_url, redis_url) as topo:
        topo.projector("projector")
        api = topo.spawn("api", "api", DECNET_LOG_LEVEL="warning")
        collector = topo.spawn("collector", "collector", DECNET_LOG_LEVEL="warning")
        topo.fleet("fleet")
        api.wait_http()
        collector.wait_tcp(topo.syslog_port)
        _print("split: collector, projector, api, fleet", payload, *_ingest(topo, api, payload))
