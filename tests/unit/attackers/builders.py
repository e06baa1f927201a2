"""Builders shared by the attacker-behaviour tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from domain.attackers.timing import TimingState
from domain.observations.records import InteractionRecord

BASE = datetime(2026, 4, 18, 2, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """BASE plus `seconds`."""
    return BASE + timedelta(seconds=seconds)


def record(
    seconds: float = 0.0,
    *,
    service: str = "ssh",
    event_type: str = "connect",
    fields: dict[str, str] | None = None,
) -> InteractionRecord:
    """A record from 203.0.113.7 at BASE + `seconds`."""
    return InteractionRecord(
        at(seconds), "decky-01", service, event_type, "203.0.113.7", fields=fields or {}
    )


def timing_from_iats(iats: Iterable[float]) -> TimingState:
    """A TimingState fed one record at 0 then one after each gap in `iats`."""
    timing = TimingState()
    now = 0.0
    timing.add(at(now))
    for iat in iats:
        now += iat
        timing.add(at(now))
    return timing
