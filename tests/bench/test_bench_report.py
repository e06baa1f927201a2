"""The whole benchmark as one pytest run: `pytest -m bench tests/bench -s -k report`.

Runs `tests/bench/run.py` with every stage (`DECNET_BENCH_RECORDS`, default 1,000,000) and, with
`DECNET_BENCH_README=1`, rewrites the README's benchmark section from its output.
"""

from __future__ import annotations

import os

import pytest

from tests.bench.run import STAGES, run

pytestmark = pytest.mark.bench


def test_every_measure_of_the_benchmark() -> None:
    """Every stage runs against real servers and yields figures (the targets are reported)."""
    records = int(os.environ.get("DECNET_BENCH_RECORDS", "1000000"))
    report = run(records, list(STAGES), os.environ.get("DECNET_BENCH_README") == "1", False)
    assert len(report.reads) >= 20
    assert any(m.startswith("full rebuild") for m, _, _ in report.rates)
