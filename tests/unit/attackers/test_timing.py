"""Incremental inter-arrival timing (SPEC §6)."""

from __future__ import annotations

import json
import random
import statistics

import pytest

from domain.attackers.timing import MEDIAN_WINDOW, TimingState
from tests.unit.attackers.builders import at, timing_from_iats


def test_welford_matches_statistics_module() -> None:
    """Running mean, population stdev, median, min and max equal the batch computations."""
    iats = [random.Random(7).uniform(0, 90) for _ in range(300)]
    iats = [round(v, 6) for v in iats]  # timestamps carry microseconds, no more
    snap = timing_from_iats(iats).snapshot()
    assert snap["mean_iat_s"] == pytest.approx(statistics.fmean(iats), abs=1e-9)
    assert snap["stdev_iat_s"] == pytest.approx(statistics.pstdev(iats), abs=1e-9)
    assert snap["median_iat_s"] == pytest.approx(statistics.median(iats), abs=1e-9)
    assert (snap["min_iat_s"], snap["max_iat_s"]) == pytest.approx((min(iats), max(iats)))
    assert snap["cv"] == pytest.approx(statistics.pstdev(iats) / statistics.fmean(iats))


def test_empty_and_single_record_stats_are_undefined() -> None:
    """With fewer than two records every IAT statistic is None."""
    empty = TimingState().snapshot()
    single = timing_from_iats([]).snapshot()
    assert empty["duration_s"] is None
    assert single["duration_s"] == 0.0
    for snap, count in ((empty, 0), (single, 1)):
        assert snap["event_count"] == count
        assert {k: v for k, v in snap.items() if k.endswith("_s") and k != "duration_s"} == {
            "mean_iat_s": None,
            "median_iat_s": None,
            "stdev_iat_s": None,
            "min_iat_s": None,
            "max_iat_s": None,
        }
        assert snap["cv"] is None


def test_out_of_order_record_counts_as_simultaneous() -> None:
    """A late record gives a 0 s IAT and the next gap is measured from the latest timestamp."""
    timing = TimingState()
    for seconds in (0, 10, 5, 11):
        timing.add(at(seconds))
    assert timing.recent_iats == [10.0, 0.0, 1.0]
    assert timing.duration_s == 11.0
    assert timing.first_ts == at(0)
    assert timing.last_ts == at(11)


def test_earlier_than_first_record_extends_duration() -> None:
    """A record older than every other moves first_ts back and lengthens the duration."""
    timing = TimingState()
    for seconds in (10, 12, 4):
        timing.add(at(seconds))
    assert timing.duration_s == 8.0
    assert timing.recent_iats == [2.0, 0.0]


def test_cv_is_zero_when_all_records_are_simultaneous() -> None:
    """All-zero gaps have no dispersion: cv 0.0 rather than undefined."""
    assert timing_from_iats([0.0, 0.0, 0.0]).cv == 0.0


def test_median_is_exact_up_to_the_window() -> None:
    """Up to MEDIAN_WINDOW IATs the median is over all of them."""
    iats = [float(i % 17) for i in range(MEDIAN_WINDOW)]
    timing = timing_from_iats(iats)
    assert timing.median == statistics.median(iats)


def test_median_follows_the_recent_window_after_it_fills() -> None:
    """Past MEDIAN_WINDOW IATs the median covers only the most recent ones."""
    iats = [1.0] * MEDIAN_WINDOW + [100.0] * 400
    timing = timing_from_iats(iats)
    assert statistics.median(iats) == 1.0  # what an exact median would say
    assert timing.median == 100.0
    assert len(timing.recent_iats) == MEDIAN_WINDOW
    assert timing.mean == pytest.approx(statistics.fmean(iats))  # the mean stays exact


def test_state_round_trips_through_json() -> None:
    """to_dict → JSON → from_dict gives an equal state."""
    timing = timing_from_iats([1.5, 0.25, 7.000001])
    assert TimingState.from_dict(json.loads(json.dumps(timing.to_dict()))) == timing


def test_from_dict_accepts_integral_numbers() -> None:
    """Numbers that come back from JSONB as ints are read as floats."""
    data = timing_from_iats([2.0, 4.0]).to_dict()
    data.update(mean_iat=3, m2=2, min_iat=2, max_iat=4, recent_iats=[2, 4])
    restored = TimingState.from_dict(data)
    assert restored == timing_from_iats([2.0, 4.0])
    assert isinstance(restored.mean_iat, float)
