"""Which services a decky wears next when it mutates (SPEC §4)."""

from __future__ import annotations

import random
from itertools import combinations

from domain.fleet.catalogue import ARCHETYPES, SERVICE_NAMES

MAX_SERVICES = 3


def mutation_pool(archetype: str | None) -> tuple[str, ...]:
    """Services a decky of this archetype may be given; the whole catalogue without one."""
    known = ARCHETYPES.get(archetype) if archetype is not None else None
    return known.pool if known is not None else SERVICE_NAMES


def choose_mutation(
    current: tuple[str, ...], archetype: str | None, rng: random.Random
) -> tuple[str, ...]:
    """Draw 1-3 services from the pool, unlike `current` unless the pool allows nothing else."""
    pool = mutation_pool(archetype)
    size = rng.randint(1, min(MAX_SERVICES, len(pool)))
    # Enumerating the candidates (rather than redrawing until different) makes "different when
    # possible" a guarantee and keeps the rng consumption fixed for a given input.
    candidates = _sets_unlike(current, pool, (size,)) or _sets_unlike(
        current, pool, range(1, MAX_SERVICES + 1)
    )
    return rng.choice(candidates) if candidates else pool[:MAX_SERVICES]


def _sets_unlike(
    current: tuple[str, ...], pool: tuple[str, ...], sizes: range | tuple[int, ...]
) -> list[tuple[str, ...]]:
    unwanted = frozenset(current)
    return [
        combo
        for size in sizes
        for combo in combinations(pool, size)
        if frozenset(combo) != unwanted
    ]
