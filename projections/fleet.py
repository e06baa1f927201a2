"""Fleet read model: one row per deployed decky with its services, interval and runtime state."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from domain.fleet.fleet import Fleet
from domain.shared.topics import stored_topics
from projections.base import Envelope, SchemaBound


def deckies_table(schema: str) -> str:
    """The fleet model's one table."""
    return f"{schema}.fleet_deckies"


class FleetProjection(SchemaBound):
    """`/deckies` and the fleet counters of `/stats`; times are the events' timestamps."""

    name = "fleet"
    version = 2  # v2: a schema of its own
    topics = stored_topics(
        Fleet.DeckyDeployed,
        Fleet.DeckyMutated,
        Fleet.MutationIntervalSet,
        Fleet.MutationIntervalCleared,
        Fleet.DeckyTornDown,
        Fleet.RuntimeStatusChanged,
    )

    def __init__(self, schema: str) -> None:
        super().__init__(schema)
        self.table = deckies_table(schema)

    async def create(self, conn: AsyncConnection[Any]) -> None:
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} ("
            "name text PRIMARY KEY, ip text NOT NULL, mac text NOT NULL, hostname text NOT NULL,"
            " distro text NOT NULL, archetype text, nmap_os text NOT NULL,"
            " services jsonb NOT NULL, ports jsonb NOT NULL, service_config jsonb NOT NULL,"
            " status text NOT NULL, status_detail text NOT NULL, mutate_interval_minutes int,"
            " last_mutated timestamptz, deployed_at timestamptz NOT NULL,"
            " deployed_position bigint NOT NULL)"
        )

    async def drop(self, conn: AsyncConnection[Any]) -> None:
        await conn.execute(f"DROP TABLE IF EXISTS {self.table}")

    async def apply(self, conn: AsyncConnection[Any], batch: Sequence[Envelope]) -> None:
        async with conn.cursor() as cur:
            for envelope in batch:
                sql, params = _statement(self.table, envelope.position, envelope.event)
                await cur.execute(sql, params)


def _statement(table: str, position: int, event: Any) -> tuple[str, tuple[Any, ...]]:
    match event:
        case Fleet.DeckyDeployed(spec=spec):
            return (
                f"INSERT INTO {table} VALUES (%s, %s, %s, %s, %s, %s, %s, %s, '{{}}', %s,"
                " 'pending', '', %s, NULL, %s, %s)",
                (
                    spec.name,
                    spec.ip,
                    spec.mac,
                    spec.hostname,
                    spec.distro,
                    spec.archetype,
                    spec.nmap_os,
                    Jsonb(list(spec.services)),
                    Jsonb(spec.service_config),
                    spec.mutate_interval_minutes,
                    event.timestamp,
                    position,
                ),
            )
        case Fleet.DeckyMutated():
            # As in the aggregate: pending until the runtime reports, keeping kept services' ports.
            return (
                f"UPDATE {table} SET services = %s, last_mutated = %s, status = 'pending',"
                " status_detail = '', ports = (SELECT coalesce(jsonb_object_agg(key, value), '{}')"
                " FROM jsonb_each(ports) WHERE key = ANY(%s)) WHERE name = %s",
                (
                    Jsonb(list(event.new_services)),
                    event.timestamp,
                    list(event.new_services),
                    event.decky,
                ),
            )
        case Fleet.MutationIntervalSet():
            return (
                f"UPDATE {table} SET mutate_interval_minutes = %s WHERE name = %s",
                (event.minutes, event.decky),
            )
        case Fleet.MutationIntervalCleared():
            return f"UPDATE {table} SET mutate_interval_minutes = NULL WHERE name = %s", (
                event.decky,
            )
        case Fleet.DeckyTornDown():
            return f"DELETE FROM {table} WHERE name = %s", (event.decky,)
        case Fleet.RuntimeStatusChanged():
            return (
                f"UPDATE {table} SET status = %s, status_detail = %s, ports = %s WHERE name = %s",
                (event.status, event.detail, Jsonb(event.ports), event.decky),
            )
    raise TypeError(f"fleet projection cannot apply {type(event).__name__}")
