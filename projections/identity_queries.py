"""Reads on the users and settings read models."""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from application.ports import UserRecord
from projections.settings import SETTINGS
from projections.users import REVOKED, USERS

_USER_COLUMNS = (
    "uuid::text AS uuid, username, role, must_change_password, password_hash, tokens_valid_from"
)


class PostgresUserDirectory:
    """`UserDirectory` and the config reads, over the async read-model pool."""

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool

    async def by_username(self, username: str) -> UserRecord | None:
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                f"SELECT {_USER_COLUMNS} FROM {USERS} WHERE username = %s", (username,)
            )
            row = await cur.fetchone()
        return UserRecord(**row) if row else None

    async def session(self, user_id: str, jti: str) -> tuple[UserRecord | None, bool]:
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                f"SELECT {_USER_COLUMNS},"
                f" EXISTS (SELECT 1 FROM {REVOKED} WHERE jti = %s) AS revoked"
                f" FROM {USERS} WHERE uuid = %s::uuid",
                (jti, user_id),
            )
            row = await cur.fetchone()
        if row is None:
            return None, False
        revoked = bool(row.pop("revoked"))
        return UserRecord(**row), revoked

    async def list_users(self) -> list[dict[str, Any]]:
        """Every live user, oldest first, without password hashes."""
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                f"SELECT uuid::text AS uuid, username, role, must_change_password FROM {USERS}"
                " ORDER BY created_at, uuid"
            )
            return list(await cur.fetchall())

    async def settings(self) -> tuple[int, int]:
        """(deployment limit, global mutation interval in minutes)."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT deployment_limit, global_mutation_interval_minutes FROM {SETTINGS}"
            )
            row = await cur.fetchone()
        assert row is not None, "settings projection creates its row"
        return int(row[0]), int(row[1])
