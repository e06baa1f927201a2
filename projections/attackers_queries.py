"""Reads on the attacker read models: profiles, commands, artifacts, the bounty vault."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec
from psycopg import AsyncConnection, AsyncCursor
from psycopg.errors import UndefinedColumn, UndefinedTable
from psycopg_pool import AsyncConnectionPool

from application.reads.rows import Attacker, AttackerCommand, BountyRow, LogRow
from projections.attackers_schema import AttackerTables
from projections.logs_queries import read_log_rows
from projections.logs_schema import LogTables
from projections.rows import iso_z_sql, json_text_of, rows_of, tuples_of
from projections.schema import LIVE, Namespace

ORDERS = {
    "recent": "last_seen DESC, uuid",
    "active": "event_count DESC, uuid",
    "traversals": "is_traversal DESC, decky_count DESC, last_seen DESC, uuid",
}
ATTACKER_COLUMNS = (
    "uuid::text AS uuid, ip, first_seen, last_seen, {updated_at} AS updated_at, event_count,"
    " service_count, decky_count, services, deckies,"
    " CASE WHEN decky_count >= 2 THEN array_to_string(deckies, ' → ') END AS traversal_path,"
    " is_traversal, bounty_count, credential_count, command_count, behavior"
)
# Tables of version 2 (served while version 3 is rebuilt beside them) have no updated_at.
LEGACY_UPDATED_AT = "last_seen"
BOUNTY_COLUMNS = "id, ts AS timestamp, decky, service, attacker_ip, bounty_type, payload"
# A vault row's JSON as `BountyRow` encodes it (its keys in its order, compact), built here from
# the columns of a model older than v5 (served while its upgrade rebuilds); v5 stores it.
LEGACY_BOUNTY_JSON = (
    """'{"id":' || id || ',"timestamp":"' || """
    + iso_z_sql("ts")
    + """ || '","decky":' || to_json(decky) || ',"service":' || to_json(service)"""
    """ || ',"attacker_ip":' || coalesce(to_json(attacker_ip)::text, 'null')"""
    """ || ',"bounty_type":' || to_json(bounty_type) || ',"payload":' || payload || '}'"""
)
_BOUNTY_ARRAY = "coalesce('[' || string_agg(r.j, ',' ORDER BY r.ts DESC, r.id DESC) || ']', '[]')"


@dataclass(frozen=True, slots=True)
class EmbedCaps:
    """How many of the newest commands and fingerprints an attacker row carries."""

    commands: int
    fingerprints: int


# A page of 50 list rows must stay small (≤ 100 KB, issue 11): DECNET's list shows that there
# are commands and fingerprints and labels the list's last command "LAST", so one of each, the
# newest, is all a list row carries. The detail view carries more; the full lists are
# `/attackers/{uuid}/commands` and `/bounty`.
LIST_CAPS = EmbedCaps(commands=1, fingerprints=1)
DETAIL_CAPS = EmbedCaps(commands=50, fingerprints=100)


class _Embedded(msgspec.Struct, frozen=True):
    """A command or fingerprint row tagged with the attacker it belongs to."""

    owner: str
    service: str
    decky: str
    timestamp: str
    command: str = ""
    id: int = 0
    attacker_ip: str | None = None
    bounty_type: str = ""
    payload: dict[str, Any] = msgspec.field(default_factory=dict)


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
            rows = await self._select(
                conn,
                f"FROM {table}{where} ORDER BY {ORDERS[sort_by]} LIMIT %s OFFSET %s",
                [*params, limit, offset],
            )
            total = await _count(conn, f"SELECT count(*) FROM {table}{where}", params)
            return total, await self._embed(conn, rows, LIST_CAPS)

    async def one(self, uuid: UUID) -> Attacker | None:
        """One attacker, or None."""
        async with self._pool.connection() as conn:
            rows = await self._select(conn, f"FROM {self._t.attackers} WHERE uuid = %s", [uuid])
            embedded = await self._embed(conn, rows, DETAIL_CAPS)
        return embedded[0] if embedded else None

    async def _select(
        self, conn: AsyncConnection[Any], tail: str, params: list[Any]
    ) -> list[Attacker]:
        """Attacker rows; on version-2 tables (frozen during an upgrade) updated_at = last_seen."""
        for updated_at in ("updated_at", LEGACY_UPDATED_AT):
            columns = ATTACKER_COLUMNS.format(updated_at=updated_at)
            try:
                cur = rows_of(conn, Attacker)
                await cur.execute(f"SELECT {columns} {tail}", params)
                return await cur.fetchall()
            except UndefinedColumn:
                continue  # autocommit: the failed statement left no transaction to roll back
        raise AssertionError("unreachable: the legacy select names only version-2 columns")

    async def _embed(
        self, conn: AsyncConnection[Any], rows: list[Attacker], caps: EmbedCaps
    ) -> list[Attacker]:
        """The rows with their newest commands and fingerprints: two queries for any page size."""
        if not rows:
            return rows
        commands = await self._newest(
            conn,
            f"SELECT a.owner, c.service, c.decky, c.command, c.ts AS timestamp"
            f" FROM unnest(%s::text[]) AS a(owner) CROSS JOIN LATERAL"
            f" (SELECT service, decky, command, ts FROM {self._t.commands}"
            " WHERE attacker = a.owner::uuid ORDER BY ts DESC, id DESC LIMIT %s) c",
            [[r.uuid for r in rows], caps.commands],
        )
        fingerprints = await self._newest(
            conn,
            f"SELECT a.owner, b.id, b.ts AS timestamp, b.decky, b.service, b.attacker_ip,"
            f" b.bounty_type, b.payload FROM unnest(%s::text[]) AS a(owner) CROSS JOIN LATERAL"
            " (SELECT id, ts, decky, service, attacker_ip, bounty_type, payload"
            f" FROM {self._t.bounty}"
            " WHERE attacker_ip = a.owner AND bounty_type = 'fingerprint'"
            " ORDER BY ts DESC, id DESC LIMIT %s) b",
            [[r.ip for r in rows], caps.fingerprints],
        )
        return [
            msgspec.structs.replace(
                r,
                commands=[
                    AttackerCommand(e.service, e.decky, e.command, e.timestamp)
                    for e in commands.get(r.uuid, [])
                ],
                fingerprints=[
                    BountyRow(
                        e.id,
                        e.timestamp,
                        e.decky,
                        e.service,
                        e.attacker_ip,
                        e.bounty_type,
                        e.payload,
                    )
                    for e in fingerprints.get(r.ip, [])
                ],
            )
            for r in rows
        ]

    @staticmethod
    async def _newest(
        conn: AsyncConnection[Any], sql: str, params: list[Any]
    ) -> dict[str, list[_Embedded]]:
        """Embedded rows grouped by owner, in the query's (newest first) order."""
        cur = rows_of(conn, _Embedded)
        await cur.execute(sql, params)
        grouped: dict[str, list[_Embedded]] = {}
        for row in await cur.fetchall():
            grouped.setdefault(row.owner, []).append(row)
        return grouped

    async def commands(
        self, uuid: UUID, service: str | None, limit: int, offset: int
    ) -> tuple[int, list[AttackerCommand]]:
        """Commands the attacker ran, oldest first, with the total: one statement, so one
        snapshot; the total from the commands counted per (attacker, service) (ADR 0026)."""
        where, params = "attacker = %s", list[Any]([uuid])
        if service:
            where += " AND service = %s"
            params.append(service)
        rows_sql = (
            " LEFT JOIN LATERAL (SELECT service, decky, command, ts"
            f" FROM {self._t.commands} WHERE {where} ORDER BY ts, id LIMIT %s OFFSET %s) AS p"
            " ON true"
        )
        counted = f"SELECT coalesce(sum(count), 0)::bigint FROM {self._t.command_counts}"
        rows = await self._paged(
            (
                f"SELECT p.*, t.total FROM ({counted} WHERE {where}) AS t(total){rows_sql}",
                f"SELECT p.*, t.total FROM (SELECT count(*) FROM {self._t.commands}"
                f" WHERE {where}) AS t(total){rows_sql}",
            ),
            [*params, *params, limit, offset],
        )
        total = int(rows[0][-1]) if rows else 0
        return total, [AttackerCommand(*r[:-1]) for r in rows if r[0] is not None]

    async def _paged(
        self,
        queries: tuple[str, ...],
        params: list[Any],
        cursor: Callable[[AsyncConnection[Any]], AsyncCursor[tuple[Any, ...]]] = tuples_of,
    ) -> list[tuple[Any, ...]]:
        """The rows of the first of `queries` this model's tables answer: the later ones read
        the tables of an older version (served while its rebuild runs), which lack counts or
        columns the first relies on."""
        for sql in queries:
            try:
                async with self._pool.connection() as conn:
                    cur = cursor(conn)
                    await cur.execute(sql, params)
                    return await cur.fetchall()
            except (UndefinedTable, UndefinedColumn):
                if sql is queries[-1]:
                    raise
        raise AssertionError("unreachable")

    async def artifacts(self, ip: str) -> list[LogRow]:
        """The attacker's `file_captured` log rows, newest first."""
        return await read_log_rows(
            self._pool,
            lambda columns: (
                f"SELECT {columns} FROM {self._logs} WHERE attacker_ip = %s"
                " AND event_type = 'file_captured' ORDER BY ts DESC, id DESC"
            ),
            (ip,),
        )

    async def bounty_json(
        self, bounty_type: str | None, search: str | None, limit: int, offset: int
    ) -> tuple[int, bytes]:
        """The bounty vault, newest first: the total, and the page as one JSON array (UTF-8) of
        the rows' stored JSON (ADR 0033), joined by PostgreSQL; no row is decoded here."""
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
        rows_counted = f"SELECT count(*) FROM {table}{where}"
        counted = rows_counted
        if not search:  # the bounties per type, committed with them (ADR 0026)
            counted = f"SELECT coalesce(sum(count), 0)::bigint FROM {self._t.bounty_counts}{where}"

        def page(total: str, row_json: str) -> str:
            return (
                f"SELECT t.total, p.data FROM ({total}) AS t(total) CROSS JOIN LATERAL"
                f" (SELECT {_BOUNTY_ARRAY} FROM (SELECT ts, id, {row_json} AS j FROM {table}{where}"
                " ORDER BY ts DESC, id DESC LIMIT %s OFFSET %s) AS r) AS p(data)"
            )

        rows = await self._paged(
            (
                page(counted, "row_json"),
                page(counted, LEGACY_BOUNTY_JSON),  # version 4: no stored JSON
                page(rows_counted, LEGACY_BOUNTY_JSON),  # version 3: no counts either
            ),
            [*params, *params, limit, offset],
            json_text_of,
        )
        return int(rows[0][0]), rows[0][1]

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
