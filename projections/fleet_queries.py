"""Reads on the fleet read model, shaped as SPEC §3 `/deckies` rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from application.reads.rows import Decky
from domain.fleet.durations import format_duration
from domain.fleet.settings import DEFAULT_MUTATION_INTERVAL_MINUTES
from projections.fleet import deckies_table
from projections.schema import LIVE, Namespace
from projections.settings import settings_table


def _select(ns: Namespace) -> str:
    """Decky rows with the global interval beside them.

    The global interval lives in the settings read model; effective values are computed at
    query time so a settings change shows at once without rewriting every decky row.
    """
    settings = settings_table(ns.schema("settings"))
    deckies = deckies_table(ns.schema("fleet"))
    return (
        "SELECT d.*, coalesce((SELECT global_mutation_interval_minutes"
        f" FROM {settings} LIMIT 1), %s) AS global_minutes FROM {deckies} d"
    )


def iso(value: datetime | None) -> str | None:
    """ISO-8601 UTC with a `Z`, seconds precision (SPEC §2)."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def decky_view(row: dict[str, Any]) -> Decky:
    """One read-model row as the `/deckies` item."""
    own = row["mutate_interval_minutes"]
    effective = own if own is not None else row["global_minutes"]
    changed = row["last_mutated"] or row["deployed_at"]
    return Decky(
        name=row["name"],
        ip=row["ip"],
        mac=row["mac"],
        hostname=row["hostname"],
        distro=row["distro"],
        archetype=row["archetype"],
        nmap_os=row["nmap_os"],
        services=row["services"],
        ports=row["ports"],
        service_config=row["service_config"],
        status=row["status"],
        status_detail=row["status_detail"],
        mutate_interval=own,
        effective_mutate_interval=format_duration(effective),
        last_mutated=iso(row["last_mutated"]),
        next_mutation_at=iso(changed + timedelta(minutes=effective)),
        deployed_at=iso(row["deployed_at"]),
    )


class FleetQueries:
    """`FleetReader`: the fleet as dashboards and `/stats` see it, in one namespace."""

    def __init__(self, pool: AsyncConnectionPool[Any], ns: Namespace = LIVE) -> None:
        self._pool = pool
        self._select = _select(ns)
        self._table = deckies_table(ns.schema("fleet"))

    async def deckies(self) -> list[Decky]:
        """Every decky, in deployment order."""
        return [decky_view(r) for r in await self._rows("ORDER BY d.deployed_position, d.name")]

    async def decky(self, name: str) -> Decky | None:
        """One decky, or None."""
        rows = await self._rows("WHERE d.name = %s", name)
        return decky_view(rows[0]) if rows else None

    async def _rows(self, clause: str, *params: Any) -> list[dict[str, Any]]:
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                f"{self._select} {clause}", (DEFAULT_MUTATION_INTERVAL_MINUTES, *params)
            )
            return list(await cur.fetchall())
