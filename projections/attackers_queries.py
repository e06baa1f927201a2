"""Reads on the attacker read models: profiles, commands, artifacts, the bounty vault."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg_pool import AsyncConnectionPool

from projections.attackers_schema import ATTACKERS, BOUNTY, COMMANDS, COUNTERS, PURGES
from projections.logs_queries import LOG_COLUMNS, log_row
from projections.logs_schema import LOGS
from projections.observed import iso_z

ORDERS = {
    "recent": "last_seen DESC, uuid",
    "active": "event_count DESC, uuid",
    "traversals": "is_traversal DESC, decky_count DESC, last_seen DESC, uuid",
}
_ATTACKER_COLUMNS = (
    "uuid::text, ip, first_seen, last_seen, event_count, service_count, decky_count, services,"
    " deckies, is_traversal, bounty_count, credential_count, command_count, behavior"
)
BOUNTY_TYPES = frozenset({"credential", "fingerprint", "artifact"})


def _attacker(row: tuple[Any, ...]) -> dict[str, Any]:
    deckies: list[str] = row[8]
    return {
        "uuid": row[0],
        "ip": row[1],
        "first_seen": iso_z(row[2]),
        "last_seen": iso_z(row[3]),
        "event_count": row[4],
        "service_count": row[5],
        "decky_count": row[6],
        "services": row[7],
        "deckies": deckies,
        "traversal_path": " → ".join(deckies) if len(deckies) >= 2 else None,
        "is_traversal": row[9],
        "bounty_count": row[10],
        "credential_count": row[11],
        "command_count": row[12],
        "behavior": row[13],
    }


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class AttackerQueries:
    """Everything the attackers, bounty and stats routes read."""

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool

    async def page(
        self, search: str | None, service: str | None, sort_by: str, limit: int, offset: int
    ) -> tuple[int, list[dict[str, Any]]]:
        """Attackers in a stable order (every order ends with the uuid)."""
        clauses, params = [], []
        if search:
            clauses.append("ip ILIKE %s")
            params.append(_like(search))
        if service:
            clauses.append("services @> ARRAY[%s]::text[]")
            params.append(service)
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        async with self._pool.connection() as conn:
            rows = await (
                await conn.execute(
                    f"SELECT {_ATTACKER_COLUMNS} FROM {ATTACKERS}{where}"
                    f" ORDER BY {ORDERS[sort_by]} LIMIT %s OFFSET %s",
                    [*params, limit, offset],
                )
            ).fetchall()
            total = await (
                await conn.execute(f"SELECT count(*) FROM {ATTACKERS}{where}", params)
            ).fetchone()
        return int(total[0]) if total else 0, [_attacker(r) for r in rows]

    async def one(self, uuid: UUID) -> dict[str, Any] | None:
        """One attacker, or None."""
        async with self._pool.connection() as conn:
            row = await (
                await conn.execute(
                    f"SELECT {_ATTACKER_COLUMNS} FROM {ATTACKERS} WHERE uuid = %s", (uuid,)
                )
            ).fetchone()
        return _attacker(row) if row else None

    async def commands(
        self, uuid: UUID, service: str | None, limit: int, offset: int
    ) -> tuple[int, list[dict[str, Any]]]:
        """Commands the attacker ran, oldest first."""
        where, params = "attacker = %s", [uuid]
        if service:
            where += " AND service = %s"
            params.append(service)
        async with self._pool.connection() as conn:
            rows = await (
                await conn.execute(
                    f"SELECT service, decky, command, ts FROM {COMMANDS} WHERE {where}"
                    " ORDER BY ts, id LIMIT %s OFFSET %s",
                    [*params, limit, offset],
                )
            ).fetchall()
            total = await (
                await conn.execute(f"SELECT count(*) FROM {COMMANDS} WHERE {where}", params)
            ).fetchone()
        data = [
            {"service": s, "decky": d, "command": c, "timestamp": iso_z(t)} for s, d, c, t in rows
        ]
        return int(total[0]) if total else 0, data

    async def artifacts(self, ip: str) -> list[dict[str, Any]]:
        """The attacker's `file_captured` log rows, newest first."""
        async with self._pool.connection() as conn:
            rows = await (
                await conn.execute(
                    f"SELECT {LOG_COLUMNS} FROM {LOGS} WHERE attacker_ip = %s"
                    " AND event_type = 'file_captured' ORDER BY ts DESC, id DESC",
                    (ip,),
                )
            ).fetchall()
        return [log_row(r) for r in rows]

    async def bounty(
        self, bounty_type: str | None, search: str | None, limit: int, offset: int
    ) -> tuple[int, list[dict[str, Any]]]:
        """The bounty vault, newest first."""
        clauses, params = [], []
        if bounty_type:
            clauses.append("bounty_type = %s")
            params.append(bounty_type)
        if search:
            clauses.append(
                "(payload_text ILIKE %s OR attacker_ip ILIKE %s"
                " OR decky ILIKE %s OR service ILIKE %s)"
            )
            params.extend([_like(search)] * 4)
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        async with self._pool.connection() as conn:
            rows = await (
                await conn.execute(
                    "SELECT id, ts, decky, service, attacker_ip, bounty_type, payload"
                    f" FROM {BOUNTY}{where} ORDER BY ts DESC, id DESC LIMIT %s OFFSET %s",
                    [*params, limit, offset],
                )
            ).fetchall()
            total = await (
                await conn.execute(f"SELECT count(*) FROM {BOUNTY}{where}", params)
            ).fetchone()
        keys = ("id", "timestamp", "decky", "service", "attacker_ip", "bounty_type", "payload")
        data = [dict(zip(keys, (r[0], iso_z(r[1]), *r[2:]), strict=True)) for r in rows]
        return int(total[0]) if total else 0, data

    async def unique_attackers(self) -> int:
        """Distinct attacker IPs known (a counter)."""
        async with self._pool.connection() as conn:
            row = await (
                await conn.execute(f"SELECT value FROM {COUNTERS} WHERE name = 'unique_attackers'")
            ).fetchone()
        return int(row[0]) if row else 0

    async def purged_bounties(self, position: int) -> int | None:
        """How many bounties the purge at `position` removed (None until projected)."""
        async with self._pool.connection() as conn:
            row = await (
                await conn.execute(
                    f"SELECT bounties FROM {PURGES} WHERE position = %s", (position,)
                )
            ).fetchone()
        return int(row[0]) if row else None
