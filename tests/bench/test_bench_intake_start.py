"""How long `decnet serve`'s intake child takes to listen: the time its syslog ports refuse.

`pytest tests/bench -m bench -s -k intake_start` (needs DECNET_TEST_PG_URL). Times
`IntakeProcess.start()` — spawning `python -m interfaces.cli.intake` until its first report,
sent once its listeners are bound — on a fresh database whose tables one warm-up start created,
best of ROUNDS; and the `-X importtime` total of the child's entry module, best of ROUNDS.
ADR 0024's addendum has the figures.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import pytest

from interfaces.intake import IntakeProcess
from tests.api.harness import PG_URL_ENV, free_port, fresh_database, scratch_dir

pytestmark = pytest.mark.bench
ROUNDS = 5


async def _start_once(database_url: str) -> float:
    """Seconds from spawning the child to its first report; the child is stopped after."""
    intake = IntakeProcess(database_url)
    start = time.perf_counter()
    await intake.start()
    elapsed = time.perf_counter() - start
    await intake.stop()
    assert intake.report is not None
    assert intake.report.collector_status == "ok", intake.report.collector_detail
    return elapsed


def _import_seconds() -> float:
    """The child's entry module's cumulative `-X importtime`, in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import interfaces.cli.intake"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    last = done.stderr.strip().splitlines()[-1]  # `import time: self | cumulative | name`
    return int(last.split("|")[1]) / 1e6


def test_bench_intake_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """Prints the intake child's start and import times (best and median of ROUNDS)."""
    admin_url = os.environ.get(PG_URL_ENV)
    if not admin_url:
        pytest.skip(f"set {PG_URL_ENV}: the child is given an external database")
    with fresh_database(admin_url) as url, scratch_dir("intake-start") as data_dir:
        monkeypatch.setenv("DECNET_DATA_DIR", str(data_dir))
        monkeypatch.setenv("DECNET_SYSLOG_HOST", "127.0.0.1")
        monkeypatch.setenv("DECNET_SYSLOG_PORT", str(free_port()))
        monkeypatch.setenv("DECNET_LOG_LEVEL", "warning")
        asyncio.run(_start_once(url))  # creates the event store's tables
        starts = sorted(asyncio.run(_start_once(url)) for _ in range(ROUNDS))
    imports = sorted(_import_seconds() for _ in range(ROUNDS))
    print(
        f"\nintake start (spawn -> first report): best {starts[0]:.3f} s,"
        f" median {starts[ROUNDS // 2]:.3f} s"
        f"\nintake import (-X importtime): best {imports[0]:.3f} s,"
        f" median {imports[ROUNDS // 2]:.3f} s"
    )
