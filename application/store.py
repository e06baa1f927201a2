"""The one event-sourced application: every aggregate shares one store and one global order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError

__all__ = ["EventStoreApp", "IntegrityError", "Position"]

Position = int


class EventStoreApp(Application[UUID]):
    """Loads and saves aggregates; `save` returns the global position it wrote.

    Configured entirely by its environment (persistence module, schema, mapper topic), which the
    composition root supplies, so this layer does not depend on the adapters.
    """

    name = "decnet"

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self._listeners: list[Callable[[Position], None]] = []

    def on_saved(self, listener: Callable[[Position], None]) -> None:
        """Call `listener(position)` after each successful save in this process."""
        self._listeners.append(listener)

    def save_all(self, *objs: Any) -> Position:
        """Save aggregates atomically; return the highest position written (0 if nothing)."""
        recordings = self.save(*objs)
        position = max((r.notification.id for r in recordings), default=0)
        if position:
            for listener in self._listeners:
                listener(position)
        return position

    def head(self) -> Position:
        """The highest position in the store."""
        return self.recorder.max_notification_id() or 0

    def read(
        self, after: Position, limit: int, topics: Sequence[str] = (), stop: Position | None = None
    ) -> list[Any]:
        """Notifications after `after` (up to `stop` inclusive), oldest first, at most `limit`."""
        return list(
            self.recorder.select_notifications(
                start=after, limit=limit, stop=stop, topics=topics, inclusive_of_start=False
            )
        )
