"""Rebuild and view commands: each decides on the control aggregate and appends its events."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from application.store import EventStoreApp, Position
from domain.readmodels.control import CONTROL_ID, ReadModelControl
from domain.shared.errors import InvalidError
from domain.shared.meta import CommandMeta

T = TypeVar("T")
PositionAt = Callable[[datetime], int]


class ReadModelCommands:
    """Request rebuilds, record their completion, create and drop as-of views."""

    def __init__(
        self,
        store: EventStoreApp,
        known: Sequence[str],
        position_at: PositionAt,
        max_views: int,
    ) -> None:
        self._store = store
        self._known = tuple(known)
        self._position_at = position_at
        self._max_views = max_views

    def control(self) -> ReadModelControl:
        """The control aggregate as stored (or fresh before its first event)."""
        if CONTROL_ID in self._store.repository:
            control: ReadModelControl = self._store.repository.get(CONTROL_ID)
            return control
        return ReadModelControl.initialise()

    def request_rebuild(self, meta: CommandMeta, name: str) -> Position:
        """Ask for a zero-downtime rebuild of one read model (404 unknown, 409 in progress)."""
        return self._decide(lambda c: c.request_rebuild(meta, name, self._known))[1]

    def complete_rebuild(self, name: str, position: int) -> Position:
        """Record that the rebuilt model replaced the live one (0 when nothing was pending)."""
        return self._decide(lambda c: c.complete_rebuild(name, position))[1]

    def create_view(
        self, meta: CommandMeta, label: str, until: int | datetime
    ) -> tuple[Position, int]:
        """A new view until a position or a time; returns (event position, until position)."""
        head = self._store.head()
        if isinstance(until, datetime):
            if until > datetime.now(UTC):
                # Its events are still to come: a view of it built now would hold only today's
                # and still claim the later moment.
                raise InvalidError(f"until {_iso(until)} is in the future")
            until_position, until_time = self._position_at(until), _iso(until)
        else:
            until_position, until_time = until, None
        if until_position > head:
            raise InvalidError(f"until {until_position} is beyond the store's head ({head})")

        def decide(control: ReadModelControl) -> int:
            control.create_view(meta, label, until_position, until_time, self._max_views)
            return until_position

        until_position, position = self._decide(decide)
        return position, until_position

    def drop_view(self, meta: CommandMeta, label: str) -> Position:
        """Remove a view (404 unknown)."""
        return self._decide(lambda c: c.drop_view(meta, label))[1]

    def _decide(self, decide: Callable[[ReadModelControl], T]) -> tuple[T, Position]:
        def attempt() -> tuple[T, list[ReadModelControl]]:
            stored = CONTROL_ID in self._store.repository
            control = self.control()
            result = decide(control)
            changed = len(control.pending_events) > (0 if stored else 1)
            return result, [control] if changed else []

        return self._store.save_decided(attempt, "the read-model control")


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
