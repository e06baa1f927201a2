"""Mutation redraws 1-3 services from the archetype pool, unlike the current set (SPEC §4)."""

from __future__ import annotations

import random

import pytest

from domain.fleet.catalogue import ARCHETYPES, SERVICE_NAMES
from domain.fleet.mutation import choose_mutation, mutation_pool


@pytest.mark.parametrize("archetype", sorted(ARCHETYPES))
def test_draws_from_archetype_pool_and_differs(archetype: str) -> None:
    """Every draw is 1-3 distinct pool services and never equals the current set."""
    pool = ARCHETYPES[archetype].pool
    current = ARCHETYPES[archetype].services
    for seed in range(40):
        chosen = choose_mutation(current, archetype, random.Random(seed))
        assert 1 <= len(chosen) <= 3
        assert len(set(chosen)) == len(chosen)
        assert set(chosen) <= set(pool)
        assert set(chosen) != set(current)


def test_without_archetype_uses_whole_catalogue() -> None:
    """No archetype (or an unknown one) draws from the whole catalogue."""
    assert mutation_pool(None) == SERVICE_NAMES
    assert mutation_pool("retired-archetype") == SERVICE_NAMES
    drawn = {s for seed in range(200) for s in choose_mutation(("ssh",), None, random.Random(seed))}
    assert not drawn <= set(ARCHETYPES["linux-server"].pool)


def test_differs_even_when_current_is_the_only_set_of_its_size() -> None:
    """voip-server's pool has one 3-set; when current is it, a smaller set is chosen."""
    pool = ARCHETYPES["voip-server"].pool
    assert len(pool) == 3
    for seed in range(40):
        chosen = choose_mutation(pool, "voip-server", random.Random(seed))
        assert set(chosen) != set(pool)


def test_same_seed_same_choice() -> None:
    """The choice is a pure function of current, archetype and rng state."""
    picks = {choose_mutation(("ssh", "http"), "linux-server", random.Random(11)) for _ in range(5)}
    assert len(picks) == 1
