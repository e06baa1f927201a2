"""Behaviour classification of one attacker from its timing (SPEC §6, first match wins)."""

from __future__ import annotations

from typing import Literal

from domain.attackers.timing import TimingState

BehaviorClass = Literal[
    "beaconing", "interactive", "scanning", "brute_force", "slow_scan", "mixed", "unknown"
]
Classification = tuple[BehaviorClass, float | None, float | None]


def classify(services_count: int, timing: TimingState) -> Classification:
    """(behavior_class, beacon_interval_s, beacon_jitter_pct); beacon values only when beaconing."""
    mean, cv = timing.mean, timing.cv
    if timing.event_count < 3 or mean is None or cv is None:
        return ("unknown", None, None)
    behavior = _class_for(services_count, timing.event_count, mean, cv)
    if behavior == "beaconing":
        return (behavior, mean, cv * 100.0)
    return (behavior, None, None)


def _class_for(services: int, events: int, mean: float, cv: float) -> BehaviorClass:
    # Checked before scanning so a low-and-slow sweep is not taken for a fast one.
    if services >= 2 and mean >= 10.0 and events >= 4:
        return "slow_scan"
    if (services >= 3 and mean < 10.0) or (services >= 2 and mean < 2.0):
        return "scanning"
    if services == 1 and events >= 8 and mean < 5.0 and cv < 0.6:
        return "brute_force"
    if cv < 0.35 and mean >= 5.0 and events >= 4:
        return "beaconing"
    if cv >= 0.5 and mean < 5.0 and events >= 6:
        return "interactive"
    return "mixed"
