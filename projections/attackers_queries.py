"""Reads on the attacker read models: profiles, commands, artifacts, the bounty vault."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any
from uuid import UUID

import msgspec
from psycopg import AsyncConnection, AsyncCursor
from psycopg.abc import Params
from psycopg.errors import UndefinedColumn, UndefinedTable
from psycopg_pool import AsyncConnectionPool

from application.reads.rows import Attacker, AttackerCommand, LogRow
from projections.attackers_schema import BOUNTY_SEARCHED, SEARCH_SEPARATOR, AttackerTables
from projections.logs_queries import read_log_rows
from projections.logs_schema import LogTables
from projections.rows import iso_z_sql, json_text_of, tuples_of
from projections.schema import LIVE, Namespace

ORDERS = {
    "recent": "last_seen DESC, uuid",
    "active": "event_count DESC, uuid",
    "traversals": "is_traversal DESC, decky_count DESC, last_seen DESC, uuid",
}
# What an attacker's JSON is built from; tables of version 2 (served while a later version is
# rebuilt beside them) have no updated_at, and answer with last_seen.
ATTACKER_COLUMNS = (
    "uuid, ip, first_seen, last_seen, {updated_at} AS updated_at, event_count, service_count,"
    " decky_count, services, deckies, is_traversal, bounty_count, credential_count,"
    " command_count, behavior"
)
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
# An `AttackerCommand`'s JSON (its keys in its order).
_COMMAND_JSON = (
    """'{"service":' || to_json(service) || ',"decky":' || to_json(decky)"""
    """ || ',"command":' || to_json(command) || ',"timestamp":"' || """
    + iso_z_sql("ts")
    + " || '\"}'"
)


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


def _attacker_json(t: AttackerTables, bounty_json: str) -> str:
    """SQL of the JSON of the attacker row `a` as `Attacker` encodes it (its keys in its order,
    compact): its columns, the behaviour block stored as JSON, and its newest commands and
    fingerprints (`%(commands)s` and `%(fingerprints)s` of each) joined in the same statement."""
    commands = (
        f"(SELECT coalesce('[' || string_agg(r.j, ',' ORDER BY r.ts DESC, r.id DESC) || ']',"
        f" '[]') FROM (SELECT ts, id, {_COMMAND_JSON} AS j FROM {t.commands}"
        " WHERE attacker = a.uuid ORDER BY ts DESC, id DESC LIMIT %(commands)s) AS r)"
    )
    fingerprints = (
        f"(SELECT {_BOUNTY_ARRAY} FROM (SELECT ts, id, {bounty_json} AS j FROM {t.bounty}"
        " WHERE attacker_ip = a.ip AND bounty_type = 'fingerprint'"
        " ORDER BY ts DESC, id DESC LIMIT %(fingerprints)s) AS r)"
    )
    parts = [
        """'{"uuid":"' || a.uuid || '","ip":' || to_json(a.ip)""",
        *(
            f"""'"{name}":"' || {iso_z_sql("a." + name)} || '"'"""
            for name in ("first_seen", "last_seen", "updated_at")
        ),
        *(
            f"""'"{name}":' || a.{name}"""
            for name in ("event_count", "service_count", "decky_count")
        ),
        """'"services":' || to_json(a.services)""",
        """'"deckies":' || to_json(a.deckies)""",
        """'"traversal_path":' || CASE WHEN a.decky_count >= 2"""
        " THEN to_json(array_to_string(a.deckies, ' → '))::text ELSE 'null' END",
        *(
            f"""'"{name}":' || a.{name}"""
            for name in (
                "is_traversal",
                "bounty_count",
                "credential_count",
                "command_count",
                "behavior",
            )
        ),
        f"""'"commands":' || {commands}""",
        f"""'"fingerprints":' || {fingerprints} || '}}'""",
    ]
    return " || ',' || ".join(parts)


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

    def _versions(self, query: Callable[[str, str], str]) -> tuple[str, ...]:
        """`query(attacker columns, a vault row's JSON)` on the tables of this version (5), of
        versions 3 and 4 (no stored vault JSON) and of version 2 (no updated_at either)."""
        columns = ATTACKER_COLUMNS.format
        return (
            query(columns(updated_at="updated_at"), "row_json"),
            query(columns(updated_at="updated_at"), LEGACY_BOUNTY_JSON),
            query(columns(updated_at=LEGACY_UPDATED_AT), LEGACY_BOUNTY_JSON),
        )

    async def page_json(
        self, search: str | None, service: str | None, sort_by: str, limit: int, offset: int
    ) -> tuple[int, bytes]:
        """Attackers in a stable order (every order ends with the uuid), with the total: one
        statement, so one snapshot; the page as one JSON array (UTF-8) built by PostgreSQL."""
        clauses: list[str] = []
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        params.update(commands=LIST_CAPS.commands, fingerprints=LIST_CAPS.fingerprints)
        if search:
            clauses.append("ip ILIKE %(search)s")
            params["search"] = _like(search)
        if service:
            clauses.append("services @> ARRAY[%(service)s]::text[]")
            params["service"] = service
        where, order, table = _where(clauses), ORDERS[sort_by], self._t.attackers

        def query(columns: str, bounty_json: str) -> str:
            return (
                f"SELECT t.total, p.data FROM (SELECT count(*) FROM {table}{where}) AS t(total)"
                f" CROSS JOIN LATERAL (SELECT coalesce('[' || string_agg(a.j, ',' ORDER BY"
                f" {order}) || ']', '[]') FROM (SELECT a.*, {_attacker_json(self._t, bounty_json)}"
                f" AS j FROM (SELECT {columns} FROM {table}{where} ORDER BY {order}"
                " LIMIT %(limit)s OFFSET %(offset)s) AS a) AS a) AS p(data)"
            )

        rows = await self._paged(self._versions(query), params, json_text_of)
        return int(rows[0][0]), rows[0][1]

    async def one_json(self, uuid: UUID) -> bytes | None:
        """One attacker as JSON (UTF-8) with more of its newest commands and fingerprints."""

        def query(columns: str, bounty_json: str) -> str:
            return (
                f"SELECT {_attacker_json(self._t, bounty_json)} FROM"
                f" (SELECT {columns} FROM {self._t.attackers} WHERE uuid = %(uuid)s) AS a"
            )

        params = {"uuid": uuid, **asdict(DETAIL_CAPS)}
        rows = await self._paged(self._versions(query), params, json_text_of)
        return rows[0][0] if rows else None

    async def ip_of(self, uuid: UUID) -> str | None:
        """The attacker's IP, or None when there is no such attacker."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT ip FROM {self._t.attackers} WHERE uuid = %s", (uuid,), prepare=True
            )
            row = await cur.fetchone()
        return None if row is None else str(row[0])

    async def one(self, uuid: UUID) -> Attacker | None:
        """One attacker, or None."""
        body = await self.one_json(uuid)
        return None if body is None else msgspec.json.decode(body, type=Attacker)

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
        params: Params,
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
        if search and SEARCH_SEPARATOR not in search:  # one text, trigram-indexed
            clauses.append(f"({BOUNTY_SEARCHED}) ILIKE %s")
            params.append(_like(search))
        elif search:
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
