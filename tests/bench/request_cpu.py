"""CPU per `/logs` request of the API process and of PostgreSQL, over wrk runs (`decnet serve`).

    DECNET_BENCH_DATABASE=<copy of a dataset> .venv/bin/python -m tests.bench.request_cpu \
        [--runs 3] [--seconds 10] [--port P] [--path /logs] [--hold]

Throughput moves with the machine's load; CPU-seconds per request much less so (ADR 0022). Each
run prints wrk's requests/s, the `decnet serve` process's user + system time divided by the
requests it answered, the same for the PostgreSQL backends connected to the dataset's database,
and the load average. `--hold` keeps the server up afterwards (for py-spy) until interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import psycopg

from tests.bench.run import admin_url, database, free_port, serve, server_env


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _backends(db_name: str) -> list[psutil.Process]:
    url = admin_url()
    if url is None:
        return []
    with psycopg.connect(url, autocommit=True) as conn:
        pids = [
            int(r[0])
            for r in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (db_name,)
            ).fetchall()
        ]
    found = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            found.append(psutil.Process(pid))
    return found


def _backend_cpu(backends: list[psutil.Process]) -> dict[int, float]:
    used = {}
    for b in backends:
        with contextlib.suppress(psutil.Error):
            used[b.pid] = _cpu(b)
    return used


def wrk_run(
    server: psutil.Process, db_name: str, url: str, token: str, seconds: int
) -> tuple[float, int, float, float, float]:
    """requests/s, requests, API ms/request, PostgreSQL ms/request, 1-min load average."""
    backends = _backends(db_name)
    api_before, pg_before = _cpu(server), _backend_cpu(backends)
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", "-H", f"Authorization: {token}", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    api_used = _cpu(server) - api_before
    pg_after = _backend_cpu(backends)
    pg_used = sum(pg_after[p] - pg_before[p] for p in pg_after if p in pg_before)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    count = re.search(r"(\d+) requests in", out)
    if re.search(r"Non-2xx or 3xx responses", out) or not rate or not count:
        raise SystemExit(f"wrk run failed:\n{out}")
    n = int(count.group(1))
    return float(rate.group(1)), n, 1000 * api_used / n, 1000 * pg_used / n, os.getloadavg()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--port", type=int, default=0, help="API port (syslog on the next)")
    parser.add_argument("--path", default="/logs")
    parser.add_argument("--hold", action="store_true", help="keep serving until interrupted")
    args = parser.parse_args()
    db_name = os.environ.get("DECNET_BENCH_DATABASE")
    if not db_name:
        raise SystemExit("set DECNET_BENCH_DATABASE to a loaded dataset (a createdb -T copy)")
    db_url = database(db_name, fresh=False)
    port = args.port or free_port()
    with tempfile.TemporaryDirectory(prefix="request-cpu-") as tmp:
        data_dir = Path(tmp)
        with serve(server_env(data_dir, port, db_url)) as (popen, client):
            server = psutil.Process(popen.pid)
            token = client.headers["Authorization"]
            url = f"{str(client.base_url).rstrip('/')}{args.path}"
            client.get(args.path).raise_for_status()
            print(f"  serve pid {popen.pid}, {url}", flush=True)
            for i in range(args.runs):
                rate, n, api_ms, pg_ms, load = wrk_run(server, db_name, url, token, args.seconds)
                print(
                    f"  run {i + 1}: {rate:7,.0f} req/s  {n:7,} requests  API {api_ms:.3f} ms/req"
                    f"  PostgreSQL {pg_ms:.3f} ms/req  load {load:.1f}",
                    flush=True,
                )
            if args.hold:
                print("  holding; Ctrl-C (or SIGTERM) to stop", flush=True)
                signal.signal(signal.SIGTERM, signal.default_int_handler)
                with contextlib.suppress(KeyboardInterrupt):
                    while True:
                        time.sleep(1)


if __name__ == "__main__":
    main()
