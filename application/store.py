"""The one event-sourced application: every aggregate shares one store and one global order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from uuid import UUID

import structlog
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError

from domain.shared.errors import ConflictError

__all__ = ["AggregateBusyError", "EventStoreApp", "IntegrityError", "Position"]

Position = int
SAVE_ATTEMPTS = 20  # contention on one aggregate is a handful of admins or workers at most
T = TypeVar("T")

log = structlog.get_logger()


class AggregateBusyError(ConflictError):
    """Other commands kept saving the same aggregate first; the caller may retry (409)."""


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

    def save_decided(
        self, decide: Callable[[], tuple[T, Sequence[Any]]], what: str
    ) -> tuple[T, Position]:
        """Run one command: `decide` loads its aggregates afresh, applies the command and returns
        its result with the aggregates to save (none when it changed nothing: position 0). When
        another command saved one of them first, decide again on what that one left."""
        for attempt in range(1, SAVE_ATTEMPTS + 1):
            result, aggregates = decide()
            if not aggregates:
                return result, 0
            try:
                return result, self.save_all(*aggregates)
            except IntegrityError:
                log.info("command_retried", aggregate=what, attempt=attempt)
        raise AggregateBusyError(f"{what} changed too often while deciding; retry the request")

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
