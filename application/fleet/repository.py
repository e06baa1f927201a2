"""Loading the one Fleet aggregate cheaply: a cached copy fast-forwarded by new events only."""

from __future__ import annotations

import threading
from copy import deepcopy
from datetime import UTC, datetime
from typing import Any

from eventsourcing.application import project_aggregate

from application.store import EventStoreApp
from domain.fleet.fleet import FLEET_ID, Fleet


def utc_now() -> datetime:
    """The production clock."""
    return datetime.now(UTC)


class FleetRepository:
    """Every command and process manager reads the Fleet through here.

    The fleet stream grows with every mutation and runtime report, so replaying it from version 1
    per command would get slower forever; we keep the last projected aggregate and apply only the
    events stored after its version (ours or another process's). Callers get a deep copy, so a
    refused command never corrupts the cache.
    """

    def __init__(self, store: EventStoreApp) -> None:
        self._store = store
        self._cached: Fleet | None = None
        self._lock = threading.Lock()

    def load(self) -> Fleet | None:
        """The current fleet (a private copy), or None before the first deployment."""
        with self._lock:
            after = self._cached.version if self._cached is not None else 0
            events: list[Any] = list(self._store.events.get(FLEET_ID, gt=after))
            if events:
                self._cached = project_aggregate(self._cached, events)
            return deepcopy(self._cached)
