"""Behaviour classes, rule by rule and boundary by boundary (SPEC §6)."""

from __future__ import annotations

import pytest

from domain.attackers.classify import classify
from tests.unit.attackers.builders import timing_from_iats


@pytest.mark.parametrize(
    ("services", "iats", "expected"),
    [
        # unknown: fewer than three events
        (1, [1.0], "unknown"),
        (3, [], "unknown"),
        # slow_scan: ≥ 2 services, mean ≥ 10 s, ≥ 4 events
        (2, [10.0] * 3, "slow_scan"),
        (2, [10.0] * 2, "mixed"),  # three events are not enough
        (2, [9.9] * 3, "beaconing"),  # mean just under 10 s falls through to regular cadence
        (1, [10.0] * 3, "beaconing"),  # a single service is not a scan
        # scanning: ≥ 3 services and mean < 10 s, or ≥ 2 services and mean < 2 s
        (3, [9.9] * 2, "scanning"),
        (3, [10.0] * 2, "mixed"),
        (2, [1.9] * 2, "scanning"),
        (2, [2.0] * 2, "mixed"),
        # brute_force: 1 service, ≥ 8 events, mean < 5 s, cv < 0.6
        (1, [4.9] * 7, "brute_force"),
        (1, [4.9] * 6, "mixed"),  # seven events are not enough
        (1, [0.0] * 7, "brute_force"),  # same-second bursts: cv 0
        (2, [4.9] * 7, "mixed"),  # two services are not a brute force
        (1, [5.0] * 7, "beaconing"),  # mean 5 s is no longer fast enough
        (1, [0.5, 1.5] * 4, "brute_force"),  # cv 0.5
        (1, [0.0, 2.0] * 4, "interactive"),  # cv 1.0 breaks brute force
        # beaconing: cv < 0.35, mean ≥ 5 s, ≥ 4 events
        (1, [13.0, 7.0] * 2, "beaconing"),  # cv 0.3
        (1, [14.0, 6.0] * 2, "mixed"),  # cv 0.4
        (1, [5.0] * 2, "mixed"),  # three events are not enough
        (1, [4.9] * 3, "mixed"),
        # interactive: cv ≥ 0.5, mean < 5 s, ≥ 6 events
        (1, [0.0, 2.0, 0.0, 2.0, 0.0], "interactive"),
        (1, [0.0, 2.0, 0.0, 2.0], "mixed"),  # five events are not enough
        (1, [0.0, 10.0] * 3, "mixed"),  # mean 5 s is too slow
        (1, [0.75, 1.25] * 3, "mixed"),  # cv 0.25 too regular, too few for brute force
    ],
)
def test_rules_first_match_wins(services: int, iats: list[float], expected: str) -> None:
    """Each rule fires exactly at its documented thresholds, in SPEC order."""
    behavior_class, _, _ = classify(services, timing_from_iats(iats))
    assert behavior_class == expected


def test_beaconing_reports_interval_and_jitter() -> None:
    """Beaconing sets interval = mean and jitter = cv * 100."""
    behavior_class, interval, jitter = classify(1, timing_from_iats([13.0, 7.0] * 2))
    assert behavior_class == "beaconing"
    assert interval == pytest.approx(10.0)
    assert jitter == pytest.approx(30.0)


def test_other_classes_report_no_beacon() -> None:
    """Only beaconing carries a beacon interval and jitter."""
    assert classify(3, timing_from_iats([1.0] * 5)) == ("scanning", None, None)
