"""`GET /projections`: each read model's state, lag and rebuild progress from stored facts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from application.reads.rows import ProjectionStatus, RebuildProgress

LIVE_LAG_S = 2.0  # a model at most this far behind is live, not catching up


class ModelFactsLike(Protocol):
    """What the projector stored about one live model and its rebuild."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> int: ...

    @property
    def position(self) -> int: ...

    @property
    def last_error(self) -> str | None: ...

    @property
    def events_per_second(self) -> float: ...

    @property
    def frozen(self) -> bool: ...

    @property
    def shadow_position(self) -> int | None: ...

    @property
    def shadow_started_at(self) -> datetime | None: ...

    @property
    def shadow_events_per_second(self) -> float: ...

    @property
    def shadow_error(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class StatusSources:
    """Where the facts come from: the stored facts, the store's head, recorded times."""

    facts: Callable[[], Awaitable[Sequence[ModelFactsLike]]]
    head: Callable[[], Awaitable[int]]
    recorded_at: Callable[[int], Awaitable[datetime | None]]
    now: Callable[[], datetime] = lambda: datetime.now(UTC)


async def projection_statuses(sources: StatusSources) -> list[ProjectionStatus]:
    """One status per live model, in setup order."""
    head = await sources.head()
    return [await _status(sources, m, head) for m in await sources.facts()]


async def _status(sources: StatusSources, m: ModelFactsLike, head: int) -> ProjectionStatus:
    lag_events = max(0, head - m.position)
    lag_seconds = 0.0
    if lag_events:
        oldest = await sources.recorded_at(m.position)
        lag_seconds = max(0.0, (sources.now() - oldest).total_seconds()) if oldest else 0.0
    rebuild = _rebuild(m, head)
    return ProjectionStatus(
        name=m.name,
        version=m.version,
        state=_state(m, rebuild, lag_seconds),
        position=m.position,
        head=head,
        lag_events=lag_events,
        lag_seconds=round(lag_seconds, 3),
        events_per_second=round(m.events_per_second, 1),
        last_error=m.last_error or m.shadow_error,
        rebuild=rebuild,
    )


def _state(m: ModelFactsLike, rebuild: RebuildProgress | None, lag_seconds: float) -> str:
    if m.last_error:
        return "failed"
    if rebuild is not None or m.frozen:
        return "rebuilding"
    return "catching_up" if lag_seconds > LIVE_LAG_S else "live"


def _rebuild(m: ModelFactsLike, head: int) -> RebuildProgress | None:
    if m.shadow_position is None or m.shadow_started_at is None:
        return None
    remaining = max(0, head - m.shadow_position)
    rate = m.shadow_events_per_second
    return RebuildProgress(
        position=m.shadow_position,
        head=head,
        started_at=m.shadow_started_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        eta_seconds=round(remaining / rate, 1) if rate > 0 else None,
    )
