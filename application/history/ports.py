"""The history reader port and its row types (implemented in `projections/history_queries.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from application.reads.rows import Actor, AuditRow


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    """What `GET /events` narrows to; every given condition must hold."""

    after: int = 0
    types: Sequence[str] = ()
    aggregate_id: UUID | None = None
    actor: str | None = None  # a user uuid or a username
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True, slots=True)
class IndexedEvent:
    """An event as the history model holds it (data redacted; a batch has its digest)."""

    position: int
    recorded_at: str
    type: str
    aggregate_id: str
    aggregate_version: int
    actor: Actor | None
    client_ip: str | None
    request_id: str | None
    batch: bool
    data: dict[str, Any]


class HistoryReader(Protocol):
    """The history and audit read models."""

    async def events(self, f: HistoryFilter, limit: int) -> list[IndexedEvent]:
        """Up to `limit` events after `f.after` matching `f`, in position order."""
        ...

    async def indexed_up_to(self) -> int:
        """The newest position the history model holds."""
        ...

    async def audit(
        self,
        actor: str | None,
        action: str | None,
        target: str | None,
        start: datetime | None,
        end: datetime | None,
        limit: int,
        offset: int,
    ) -> tuple[int, list[AuditRow]]:
        """The audit trail newest first, with the total matching."""
        ...
