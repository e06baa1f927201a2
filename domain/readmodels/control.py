"""The read-model control aggregate: rebuild requests and as-of views are events.

One singleton stream: who asked for which rebuild and when it completed, which views exist,
until where they look. Its rules keep view labels unique, views bounded in number, and one
rebuild per model at a time; the projector acts on these events (a process manager).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.shared.errors import ConflictError, InvalidError, NotFoundError
from domain.shared.meta import SYSTEM, CommandMeta

CONTROL_ID = uuid5(NAMESPACE_URL, "https://decnet-es/read-model-control")
LABEL_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


class UnknownReadModelError(NotFoundError):
    """No read model has that name."""


class RebuildInProgressError(ConflictError):
    """That read model is already being rebuilt."""


class UnknownViewError(NotFoundError):
    """No view has that label."""


@dataclass(frozen=True, slots=True)
class ViewSpec:
    """An as-of view as the control stream defines it."""

    until_position: int
    until_time: str | None
    created_by: UUID | None
    created_at: datetime


class ReadModelControl(Aggregate):
    """Rebuilds in progress and the views that exist."""

    class Initialised(Aggregate.Created):
        meta: CommandMeta

    class RebuildRequested(Aggregate.Event):
        meta: CommandMeta
        name: str

        def apply(self, aggregate: ReadModelControl) -> None:
            aggregate.rebuilding[self.name] = self.originator_version

    class RebuildCompleted(Aggregate.Event):
        name: str
        position: int  # the store position the new model had applied when it went live

        def apply(self, aggregate: ReadModelControl) -> None:
            aggregate.rebuilding.pop(self.name, None)

    class ViewCreated(Aggregate.Event):
        meta: CommandMeta
        label: str
        until_position: int
        until_time: str | None  # the time asked for (ISO-8601), None when a position was

        def apply(self, aggregate: ReadModelControl) -> None:
            aggregate.views[self.label] = ViewSpec(
                self.until_position, self.until_time, self.meta.actor_id, self.timestamp
            )

    class ViewDropped(Aggregate.Event):
        meta: CommandMeta
        label: str

        def apply(self, aggregate: ReadModelControl) -> None:
            aggregate.views.pop(self.label, None)

    def __init__(self, meta: CommandMeta) -> None:
        self.rebuilding: dict[str, int] = {}
        self.views: dict[str, ViewSpec] = {}

    @classmethod
    def initialise(cls, meta: CommandMeta = SYSTEM) -> ReadModelControl:
        """Start the control stream (nothing rebuilding, no views)."""
        return cls._create(cls.Initialised, id=CONTROL_ID, meta=meta)

    def request_rebuild(self, meta: CommandMeta, name: str, known: Collection[str]) -> None:
        """Ask for `name` to be rebuilt beside the live model and swapped in when caught up."""
        if name not in known:
            raise UnknownReadModelError(f"no read model named {name!r}; have {', '.join(known)}")
        if name in self.rebuilding:
            raise RebuildInProgressError(f"read model {name!r} is already being rebuilt")
        self.trigger_event(self.RebuildRequested, meta=meta, name=name)

    def complete_rebuild(self, name: str, position: int) -> None:
        """The rebuilt model replaced the live one (recorded by the projector)."""
        if name in self.rebuilding:
            self.trigger_event(self.RebuildCompleted, name=name, position=position)

    def create_view(
        self,
        meta: CommandMeta,
        label: str,
        until_position: int,
        until_time: str | None,
        max_views: int,
    ) -> None:
        """A new as-of view of every read model up to `until_position`."""
        if LABEL_RE.fullmatch(label) is None:
            raise InvalidError("label must match ^[a-z0-9][a-z0-9-]{0,39}$")
        if until_position < 0:
            raise InvalidError("until must be a position ≥ 0 or a time")
        if label in self.views:
            raise ConflictError(f"a view labelled {label!r} already exists")
        if len(self.views) >= max_views:
            raise ConflictError(f"at most {max_views} views may exist at once; drop one first")
        self.trigger_event(
            self.ViewCreated,
            meta=meta,
            label=label,
            until_position=until_position,
            until_time=until_time,
        )

    def drop_view(self, meta: CommandMeta, label: str) -> None:
        """Remove a view and its tables."""
        if label not in self.views:
            raise UnknownViewError(f"no view labelled {label!r}")
        self.trigger_event(self.ViewDropped, meta=meta, label=label)
