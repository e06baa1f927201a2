"""Settings: given past events, when a command runs, then these events (or an error)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import uuid4

import pytest

from domain.fleet.settings import (
    DEFAULT_DEPLOYMENT_LIMIT,
    DEFAULT_MUTATION_INTERVAL_MINUTES,
    SETTINGS_ID,
    Settings,
)
from domain.shared.errors import InvalidError
from domain.shared.meta import CommandMeta

ADMIN = CommandMeta(actor_id=uuid4())


def given(events: Sequence[Any]) -> Settings:
    """The settings these past events describe."""
    aggregate: Any = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def then(settings: Settings) -> list[Any]:
    return list(settings.collect_events())


def initialised() -> list[Any]:
    return then(Settings.initialise(ADMIN))


def test_initialise_starts_the_singleton_with_defaults() -> None:
    """Initialised lives at the fixed settings id; limit 10 and interval 30 minutes."""
    (event,) = initialised()
    assert isinstance(event, Settings.Initialised)
    assert event.originator_id == SETTINGS_ID
    settings = given([event])
    assert settings.deployment_limit == DEFAULT_DEPLOYMENT_LIMIT == 10
    assert settings.global_mutation_interval_minutes == DEFAULT_MUTATION_INTERVAL_MINUTES == 30


@pytest.mark.parametrize("limit", [1, 250, 500])
def test_deployment_limit_within_range_is_recorded(limit: int) -> None:
    """A limit in 1..500 emits DeploymentLimitSet and becomes the limit."""
    settings = given(initialised())
    settings.set_deployment_limit(ADMIN, limit)
    (event,) = then(settings)
    assert isinstance(event, Settings.DeploymentLimitSet)
    assert (event.deployment_limit, event.meta) == (limit, ADMIN)
    assert settings.deployment_limit == limit


@pytest.mark.parametrize("limit", [0, -1, 501, 10_000])
def test_deployment_limit_out_of_range_is_invalid(limit: int) -> None:
    """A limit outside 1..500 is Invalid and emits nothing."""
    settings = given(initialised())
    with pytest.raises(InvalidError):
        settings.set_deployment_limit(ADMIN, limit)
    assert then(settings) == []
    assert settings.deployment_limit == DEFAULT_DEPLOYMENT_LIMIT


@pytest.mark.parametrize("minutes", [1, 45, 525_600])
def test_interval_of_at_least_a_minute_is_recorded(minutes: int) -> None:
    """An interval of one minute or more emits GlobalMutationIntervalSet."""
    settings = given(initialised())
    settings.set_global_mutation_interval(ADMIN, minutes)
    (event,) = then(settings)
    assert isinstance(event, Settings.GlobalMutationIntervalSet)
    assert event.minutes == minutes
    assert settings.global_mutation_interval_minutes == minutes


@pytest.mark.parametrize("minutes", [0, -5])
def test_interval_below_a_minute_is_invalid(minutes: int) -> None:
    """An interval under one minute is Invalid and emits nothing."""
    settings = given(initialised())
    with pytest.raises(InvalidError):
        settings.set_global_mutation_interval(ADMIN, minutes)
    assert then(settings) == []


def test_latest_values_win_on_replay() -> None:
    """Replaying several changes leaves the last value of each setting."""
    settings = Settings.initialise(ADMIN)
    settings.set_deployment_limit(ADMIN, 5)
    settings.set_global_mutation_interval(ADMIN, 60)
    settings.set_deployment_limit(ADMIN, 7)
    replayed = given(then(settings))
    assert (replayed.deployment_limit, replayed.global_mutation_interval_minutes) == (7, 60)
    assert replayed.version == 4
