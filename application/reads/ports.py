"""Reader ports: the queries routes and use cases depend on, implemented in `projections/`.

Every reader is bound to one set of read models — the live ones or an as-of view — so the same
route code answers `?view=` by asking for another set (`ReadModels.view`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from application.reads.rows import (
    Attacker,
    AttackerCommand,
    ConfigValues,
    DeadLetter,
    Decky,
    HistogramBucket,
    LogRow,
    Stats,
    UserSummary,
)
from domain.observations.search import SearchQuery


@dataclass(frozen=True, slots=True)
class LogFilter:
    """A parsed search plus an optional time range (inclusive)."""

    query: SearchQuery
    start: datetime | None = None
    end: datetime | None = None

    @property
    def is_empty(self) -> bool:
        """True when the filter keeps every row."""
        return self.query.is_empty and self.start is None and self.end is None


class LogReader(Protocol):
    """The logs and histogram read models."""

    async def page(self, f: LogFilter, limit: int, offset: int) -> tuple[int, list[LogRow]]:
        """Newest first (timestamp desc, id desc) with the exact total matching."""
        ...

    async def page_json(self, f: LogFilter, limit: int, offset: int) -> tuple[int, bytes]:
        """`page`, its rows as one JSON array (UTF-8) with `LogRow`'s keys in order."""
        ...

    async def after(self, last_id: int, f: LogFilter, limit: int) -> list[LogRow]:
        """Rows with id > last_id, oldest first (the SSE backlog)."""
        ...

    async def max_id(self) -> int:
        """The newest log id (0 when there are none)."""
        ...

    async def histogram(self, f: LogFilter, interval_minutes: int) -> list[HistogramBucket]:
        """Counts per bucket aligned to multiples of the interval since the epoch, ascending."""
        ...

    async def histogram_json(self, f: LogFilter, interval_minutes: int) -> bytes:
        """`histogram` as one JSON array (UTF-8) with `HistogramBucket`'s keys in order."""
        ...

    async def purged_logs(self, position: int) -> int | None:
        """How many logs the purge at `position` removed (None until projected)."""
        ...

    async def dead_letters(self, limit: int, offset: int) -> tuple[int, list[DeadLetter]]:
        """Lines the collector could not parse, newest first, with the total kept."""
        ...


class AttackerReader(Protocol):
    """The attacker profiles, their commands and the bounty vault."""

    async def page_json(
        self, search: str | None, service: str | None, sort_by: str, limit: int, offset: int
    ) -> tuple[int, bytes]:
        """Attackers in a stable order (every order ends with the uuid): the total and the
        page as one JSON array of `Attacker` objects (UTF-8)."""
        ...

    async def one_json(self, uuid: UUID) -> bytes | None:
        """One attacker as the JSON of an `Attacker` (UTF-8), or None."""
        ...

    async def one(self, uuid: UUID) -> Attacker | None:
        """One attacker, or None."""
        ...

    async def ip_of(self, uuid: UUID) -> str | None:
        """The attacker's IP, or None when there is no such attacker."""
        ...

    async def commands(
        self, uuid: UUID, service: str | None, limit: int, offset: int
    ) -> tuple[int, list[AttackerCommand]]:
        """Commands the attacker ran, oldest first."""
        ...

    async def artifacts(self, ip: str) -> list[LogRow]:
        """The attacker's `file_captured` log rows, newest first."""
        ...

    async def bounty_json(
        self, bounty_type: str | None, search: str | None, limit: int, offset: int
    ) -> tuple[int, bytes]:
        """The bounty vault, newest first: the total and the page as one JSON array of
        `BountyRow` objects (UTF-8)."""
        ...

    async def purged_bounties(self, position: int) -> int | None:
        """How many bounties the purge at `position` removed (None until projected)."""
        ...


class FleetReader(Protocol):
    """The fleet inventory."""

    async def deckies(self) -> list[Decky]:
        """Every decky, in deployment order."""
        ...

    async def decky(self, name: str) -> Decky | None:
        """One decky, or None."""
        ...


class StatsReader(Protocol):
    """SPEC's `/stats`: counters of the logs, attackers and fleet models, read together."""

    async def stats(self) -> Stats:
        """Logs projected, distinct attackers, deckies running and deckies in the fleet."""
        ...


class ConfigReader(Protocol):
    """The settings and users read models as `/config` shows them."""

    async def settings(self) -> ConfigValues:
        """The deployment limit and the global mutation interval."""
        ...

    async def list_users(self) -> list[UserSummary]:
        """Every live user, oldest first."""
        ...


@dataclass(frozen=True, slots=True)
class Readers:
    """Every reader of one set of read models (the live ones or one view)."""

    logs: LogReader
    attackers: AttackerReader
    fleet: FleetReader
    stats: StatsReader


class ReadModels(Protocol):
    """Where readers come from: the live read models, or an as-of view by label."""

    def live(self) -> Readers:
        """Readers of the live read models."""
        ...


class ProjectionProgress(Protocol):
    """Read-your-writes: wait until read models have applied a position."""

    async def wait_for(
        self, position: int, names: Sequence[str] | None = None, timeout: float = 10.0
    ) -> bool:
        """True once the named read models (default: all) applied `position` within `timeout`."""
        ...
