"""What an evidence export reads: which batches hold an attacker's records, and stored rows."""

from __future__ import annotations

from typing import Any

from psycopg_pool import AsyncConnectionPool

from domain.audit.evidence import EventRow
from projections.logs_schema import LogTables
from projections.merkle_verify import EVENTS_TABLE
from projections.observed import ID_STRIDE
from projections.schema import live_schema


class EvidenceQueries:
    """The logs model's attacker index and the event store's own rows."""

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool
        self._logs = LogTables(live_schema("logs")).logs

    async def batch_positions(self, attacker_ip: str) -> list[int]:
        """Positions of the batch events holding a record of this attacker, ascending."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT DISTINCT id / {ID_STRIDE} FROM {self._logs} WHERE attacker_ip = %s"
                " ORDER BY 1",
                (attacker_ip,),
            )
            return [int(row[0]) for row in await cur.fetchall()]

    async def stored_rows(self, positions: list[int]) -> list[EventRow]:
        """The stored rows at these positions, exactly as the store holds them."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT notification_id, originator_id, originator_version, topic, state"
                f" FROM {EVENTS_TABLE} WHERE notification_id = ANY(%s) ORDER BY notification_id",
                (positions,),
            )
            return [
                EventRow(int(p), o, int(v), t, bytes(s)) for p, o, v, t, s in await cur.fetchall()
            ]
