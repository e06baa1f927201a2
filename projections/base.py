"""What a read model is to the runner: tables it owns and a deterministic apply of event batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from psycopg import AsyncConnection


@dataclass(frozen=True, slots=True)
class Envelope:
    """One stored event at its global position."""

    position: int
    event: Any


class Projection(Protocol):
    """A read model. `apply` must be a pure function of the events and the model's own rows."""

    name: str
    version: int
    topics: tuple[str, ...]

    async def create(self, conn: AsyncConnection[Any]) -> None:
        """Create the model's tables (idempotent)."""
        ...

    async def drop(self, conn: AsyncConnection[Any]) -> None:
        """Drop the model's tables, for a rebuild."""
        ...

    async def apply(self, conn: AsyncConnection[Any], batch: Sequence[Envelope]) -> object:
        """Write the rows for these events inside the runner's transaction.

        Returns what listeners should hear about (e.g. new log rows), or None.
        """
        ...


def topic_of(cls: type) -> str:
    """The eventsourcing topic of an event class."""
    return f"{cls.__module__}:{cls.__qualname__}"
