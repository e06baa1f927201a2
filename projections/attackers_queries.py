"""Reads on the attacker read models: profiles, commands, artifacts, the bounty vault."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg_pool import AsyncConnectionPool

from application.reads.rows import Attacker, AttackerCommand, BountyRow, LogRow
from projections.attackers_schema import AttackerTables
from projections.logs_queries import LOG_COLUMNS
from projections.logs_schema import LogTables
from projections.rows import rows_of
from projections.schema import LIVE, Namespace

ORDERS = {
    "recent": "last_seen DESC, uuid",
    "active": "event_count DESC, uuid",
    "traversals": "is_traversal DESC, decky_count DESC, last_seen DESC, uuid",
}
ATTACKER_COLUMNS = (
    "uuid::text AS uuid, ip, first_seen, last_seen, event_count, service_count, decky_count,"
    " services, deckies,"
    " CASE WHEN decky_count >= 2 THEN array_to_string(deckies, ' → ') END AS traversal_path,"
    " is_traversal, bounty_count, credential_count, command_count, behavior"
)
BOUNTY_COLUMNS = "id, ts AS timestamp, decky, service, attacker_ip, bounty_type, payload"
BOUNTY_TYPES = frozenset({"credential", "fingerprint", "artifact"})


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(clauses: list[str]) -> str:
    return " WHERE " + " AND ".join(clauses) if clauses else ""


class AttackerQueries:
    """`AttackerReader` over the attacker models (and the logs, for artifacts) of a namespace."""

    def __init__(self, pool: AsyncConnectionPool[Any], ns: Namespace = LIVE) -> None:
        self._pool = pool
        self._t = AttackerTables(ns.schema("attackers"))
        self._logs = LogTables(ns.schema("logs")).logs

    async def page(
        self, search: str | None, service: str | None, sort_by: str, limit: int, offset: int
    ) -> tuple[int, list[Attacker]]:
        """Attackers in a stable order (every order ends with the uuid)."""
        clauses: list[str] = []
        params: list[Any] = []
        if search:
            clauses.append("ip ILIKE %s")
            params.append(_like(search))
        if service:
            clauses.append("services @> ARRAY[%s]::text[]")
            params.append(service)
        where = _where(clauses)
        table = self._t.attackers
        async with self._pool.connection() as conn:
            cur = rows_of(conn, Attacker)
            await cur.execute(
                f"SELECT {ATTACKER_COLUMNS} FROM {table}{where}"
                f" ORDER BY {ORDERS[sort_by]} LIMIT %s OFFSET %s",
                [*params, limit, offset],
            )
            rows = await cur.fetchall()
            total = await _count(conn, f"SELECT count(*) FROM {table}{where}", params)
        return total, rows

    async def one(self, uuid: UUID) -> Attacker | None:
        """One attacker, or None."""
        async with self._pool.connection() as conn:
            cur = rows_of(conn, Attacker)
            await cur.execute(
                f"SELECT {ATTACKER_COLUMNS} FROM {self._t.attackers} WHERE uuid = %s", (uuid,)
            )
            return await cur.fetchone()

    async def commands(
        self, uuid: UUID, service: str | None, limit: int, offset: int
    ) -> tuple[int, list[AttackerCommand]]:
        """Commands the attacker ran, oldest first."""
        where, params = "attacker = %s", list[Any]([uuid])
        if service:
            where += " AND service = %s"
            params.append(service)
        table = self._t.commands
        async with self._pool.connection() as conn:
            cur = rows_of(conn, AttackerCommand)
            await cur.execute(
                f"SELECT service, decky, command, ts AS timestamp FROM {table} WHERE {where}"
                " ORDER BY ts, id LIMIT %s OFFSET %s",
                [*params, limit, offset],
            )
            rows = await cur.fetchall()
            total = await _count(conn, f"SELECT count(*) FROM {table} WHERE {where}", params)
        return total, rows

    async def artifacts(self, ip: str) -> list[LogRow]:
        """The attacker's `file_captured` log rows, newest first."""
        async with self._pool.connection() as conn:
            cur = rows_of(conn, LogRow)
            await cur.execute(
                f"SELECT {LOG_COLUMNS} FROM {self._logs} WHERE attacker_ip = %s"
                " AND event_type = 'file_captured' ORDER BY ts DESC, id DESC",
                (ip,),
            )
            return await cur.fetchall()

    async def bounty(
        self, bounty_type: str | None, search: str | None, limit: int, offset: int
    ) -> tuple[int, list[BountyRow]]:
        """The bounty vault, newest first."""
        clauses: list[str] = []
        params: list[Any] = []
        if bounty_type:
            clauses.append("bounty_type = %s")
            params.append(bounty_type)
        if search:
            clauses.append(
                "(payload_text ILIKE %s OR attacker_ip ILIKE %s"
                " OR decky ILIKE %s OR service ILIKE %s)"
            )
            params.extend([_like(search)] * 4)
        where = _where(clauses)
        table = self._t.bounty
        async with self._pool.connection() as conn:
            cur = rows_of(conn, BountyRow)
            await cur.execute(
                f"SELECT {BOUNTY_COLUMNS} FROM {table}{where}"
                " ORDER BY ts DESC, id DESC LIMIT %s OFFSET %s",
                [*params, limit, offset],
            )
            rows = await cur.fetchall()
            total = await _count(conn, f"SELECT count(*) FROM {table}{where}", params)
        return total, rows

    async def unique_attackers(self) -> int:
        """Distinct attacker IPs known (a counter)."""
        async with self._pool.connection() as conn:
            return await _count(
                conn, f"SELECT value FROM {self._t.counters} WHERE name = 'unique_attackers'", []
            )

    async def purged_bounties(self, position: int) -> int | None:
        """How many bounties the purge at `position` removed (None until projected)."""
        async with self._pool.connection() as conn:
            row = await (
                await conn.execute(
                    f"SELECT bounties FROM {self._t.purges} WHERE position = %s", (position,)
                )
            ).fetchone()
        return int(row[0]) if row else None


async def _count(conn: Any, sql: str, params: list[Any]) -> int:
    row = await (await conn.execute(sql, params)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0
