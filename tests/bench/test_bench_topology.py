"""End-to-end ingest rate, split topology against `decnet serve`, on the machine's PostgreSQL.

`pytest tests/bench/test_bench_topology.py -m bench -s` (DECNET_TEST_PG_URL and
DECNET_TEST_REDIS_URL; DECNET_BENCH_TOPOLOGY_RECORDS, default 50,000): the `syslog` and `split`
stages of `tests/bench/run.py`. The same RFC 5424 payload goes over one TCP connection to the
collector of each shape; the clock stops when `/stats` counts every record (collected,
journaled, appended, projected and readable through the API).
"""

from __future__ import annotations

import os

import pytest

from tests.api.harness import PG_URL_ENV
from tests.bench.run import run

pytestmark = pytest.mark.bench
RECORDS = int(os.environ.get("DECNET_BENCH_TOPOLOGY_RECORDS", "50000"))


def test_ingest_rate_split_topology_against_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same payload into `decnet serve` and into collector → store → projector → api
    (with the fleet running, as serve runs its runtime)."""
    if not os.environ.get(PG_URL_ENV) or not os.environ.get("DECNET_TEST_REDIS_URL"):
        pytest.skip(f"set {PG_URL_ENV} and DECNET_TEST_REDIS_URL")
    monkeypatch.setenv("DECNET_BENCH_SYSLOG_RECORDS", str(RECORDS))
    report = run(RECORDS, ["syslog", "split"], readme=False, fresh=False)
    visible = [m for m, _, _ in report.rates if m.startswith(f"… {RECORDS:,} records visible")]
    assert len(visible) == 2, report.rates
