"""How long the split `decnet collector` takes to listen, and how much memory it holds then.

`pytest tests/bench -m bench -s -k collector_start` (needs DECNET_TEST_PG_URL and
DECNET_TEST_REDIS_URL). Times `decnet collector` from its spawn until its syslog TCP port takes a
connection, on a fresh database whose tables one warm-up start created, best and median of
ROUNDS, in the shape compose runs it (Redis wake-ups, `/metrics` on its own port); then reads
its resident memory (VmRSS) SETTLE_S after it listened, and its peak (VmHWM). ADR 0024's
addendum has the figures.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.api.harness import (
    DECNET_BIN,
    PG_URL_ENV,
    clean_env,
    free_port,
    fresh_database,
    scratch_dir,
)

pytestmark = pytest.mark.bench
REDIS_URL_ENV = "DECNET_TEST_REDIS_URL"
ROUNDS = 5
SETTLE_S = 1.0
LISTEN_WAIT_S = 60.0


@dataclass(frozen=True)
class Start:
    """One start: seconds until the syslog port listened, then resident and peak memory."""

    seconds: float
    rss_mb: float
    peak_mb: float


def _memory_mb(pid: int, field: str) -> float:
    """`field` (VmRSS, VmHWM) of /proc/PID/status, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} for process {pid}")


def _wait_listening(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + LISTEN_WAIT_S
    while True:
        assert process.poll() is None, f"decnet collector exited {process.returncode}"
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        assert time.monotonic() < deadline, f"decnet collector not listening in {LISTEN_WAIT_S} s"
        time.sleep(0.005)


def _start_once(env: dict[str, str], data_dir: Path) -> Start:
    """Spawn `decnet collector`, time it until it listens, read its memory, stop it."""
    port = int(env["DECNET_SYSLOG_PORT"])
    start = time.perf_counter()
    process = subprocess.Popen([str(DECNET_BIN), "collector"], env=env, cwd=data_dir)
    try:
        _wait_listening(process, port)
        elapsed = time.perf_counter() - start
        time.sleep(SETTLE_S)
        return Start(elapsed, _memory_mb(process.pid, "VmRSS"), _memory_mb(process.pid, "VmHWM"))
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def test_bench_collector_start() -> None:
    """Prints `decnet collector`'s start time and memory (best and median of ROUNDS)."""
    admin_url, redis_url = os.environ.get(PG_URL_ENV), os.environ.get(REDIS_URL_ENV)
    if not admin_url or not redis_url:
        pytest.skip(f"set {PG_URL_ENV} and {REDIS_URL_ENV}: the collector shares both")
    with fresh_database(admin_url) as url, scratch_dir("collector-start") as data_dir:
        env = clean_env(
            DECNET_DATA_DIR=str(data_dir),
            DECNET_DATABASE_URL=url,
            DECNET_REDIS_URL=redis_url,
            DECNET_REDIS_PREFIX=f"decnet-bench-{secrets.token_hex(4)}:",
            DECNET_SYSLOG_HOST="127.0.0.1",
            DECNET_SYSLOG_PORT=str(free_port()),
            DECNET_METRICS_PORT=str(free_port()),
            DECNET_LOG_LEVEL="warning",
        )
        _start_once(env, data_dir)  # creates the event store's tables
        starts = [_start_once(env, data_dir) for _ in range(ROUNDS)]
    seconds = sorted(s.seconds for s in starts)
    print(
        f"\ncollector start (spawn -> syslog port listening): best {seconds[0]:.3f} s,"
        f" median {_median(seconds):.3f} s"
        f"\ncollector memory {SETTLE_S:.0f} s after listening: RSS median"
        f" {_median([s.rss_mb for s in starts]):.0f} MB,"
        f" peak median {_median([s.peak_mb for s in starts]):.0f} MB"
    )
