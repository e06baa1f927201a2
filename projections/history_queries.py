"""Reads on the history and audit read models: filtered pages of events and of the audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from application.history.ports import HistoryFilter, IndexedEvent
from application.reads.rows import Actor, AuditRow
from projections.audit import AuditTables
from projections.history import HistoryTables
from projections.rows import IsoZLoader
from projections.schema import live_schema


def _actor(uuid: Any, username: str | None) -> Actor | None:
    return Actor(str(uuid), username) if uuid is not None else None


class HistoryQueries:
    """Pages of the event index and of the audit trail (live models only)."""

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool
        self._history = HistoryTables(live_schema("history"))
        self._audit = AuditTables(live_schema("audit"))

    async def events(self, f: HistoryFilter, limit: int) -> list[IndexedEvent]:
        """Up to `limit` events after `f.after` matching `f`, in position order."""
        clauses: list[str] = ["e.position > %s"]
        params: list[Any] = [f.after]
        if f.types:
            clauses.append("e.type = ANY(%s)")
            params.append(list(f.types))
        if f.aggregate_id is not None:
            clauses.append("e.aggregate_id = %s")
            params.append(f.aggregate_id)
        if f.actor is not None:
            clauses.append(f"e.actor_id IN {self._actor_ids()}")
            params.extend([f.actor, f.actor])
        if f.start is not None:
            clauses.append("e.recorded_at >= %s")
            params.append(f.start)
        if f.end is not None:
            clauses.append("e.recorded_at <= %s")
            params.append(f.end)
        sql = (
            "SELECT e.position, e.recorded_at, e.type, e.aggregate_id::text AS aggregate_id,"
            " e.aggregate_version, e.actor_id, a.username, e.client_ip, e.request_id, e.batch,"
            f" e.data FROM {self._history.events} e LEFT JOIN {self._history.actors} a"
            f" ON a.uuid = e.actor_id WHERE {' AND '.join(clauses)}"
            " ORDER BY e.position LIMIT %s"
        )
        rows = await self._dicts(sql, [*params, limit])
        return [
            IndexedEvent(
                position=r["position"],
                recorded_at=r["recorded_at"],
                type=r["type"],
                aggregate_id=r["aggregate_id"],
                aggregate_version=r["aggregate_version"],
                actor=_actor(r["actor_id"], r["username"]),
                client_ip=r["client_ip"],
                request_id=r["request_id"],
                batch=r["batch"],
                data=r["data"],
            )
            for r in rows
        ]

    async def indexed_up_to(self) -> int:
        """The newest position the history model holds."""
        rows = await self._dicts(f"SELECT max(position) AS p FROM {self._history.events}", [])
        return int(rows[0]["p"] or 0)

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
        clauses: list[str] = []
        params: list[Any] = []
        if actor is not None:
            clauses.append(
                "(t.actor_id::text = %s OR t.actor_username = %s"
                f" OR t.actor_id IN {self._actor_ids()})"
            )
            params.extend([actor, actor, actor, actor])
        for column, value in (("t.action", action), ("t.target", target)):
            if value is not None:
                clauses.append(f"{column} = %s")
                params.append(value)
        if start is not None:
            clauses.append("t.at >= %s")
            params.append(start)
        if end is not None:
            clauses.append("t.at <= %s")
            params.append(end)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        trail = self._audit.trail
        total = await self._dicts(f"SELECT count(*) AS n FROM {trail} t{where}", params)
        rows = await self._dicts(
            "SELECT t.position, t.at, t.actor_id, t.actor_username, t.client_ip, t.request_id,"
            f" t.action, t.target, t.outcome, t.detail FROM {trail} t{where}"
            " ORDER BY t.at DESC, t.position DESC, t.seq DESC LIMIT %s OFFSET %s",
            [*params, limit, offset],
        )
        data = [
            AuditRow(
                position=r["position"],
                at=r["at"],
                actor=_actor(r["actor_id"], r["actor_username"]),
                client_ip=r["client_ip"],
                request_id=r["request_id"],
                action=r["action"],
                target=r["target"],
                outcome=r["outcome"],
                detail=r["detail"],
            )
            for r in rows
        ]
        return int(total[0]["n"]), data

    def _actor_ids(self) -> str:
        """SQL for the ids of an actor given as a uuid or a username (two parameters)."""
        return f"(SELECT uuid FROM {self._history.actors} WHERE uuid::text = %s OR username = %s)"

    async def _dicts(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            cur.adapters.register_loader("timestamptz", IsoZLoader)
            await cur.execute(sql, params)
            return list(await cur.fetchall())
