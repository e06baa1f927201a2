"""Reads on the users and settings read models."""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from application.ports import UserRecord
from application.reads.rows import ConfigValues, UserSummary
from projections.merkle_verify import EVENTS_TABLE
from projections.positions import POSITIONS
from projections.rows import rows_of
from projections.schema import live_schema
from projections.settings import settings_table
from projections.users import UserTables

_USER_COLUMNS = (
    "uuid::text AS uuid, username, role, must_change_password, password_hash, tokens_valid_from"
)


class PostgresUserDirectory:
    """`UserDirectory` and `ConfigReader` over the live users and settings models."""

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool
        tables = UserTables(live_schema("users"))
        self._users, self._revoked = tables.users, tables.revoked
        self._settings = settings_table(live_schema("settings"))

    async def by_username(self, username: str) -> UserRecord | None:
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            # Usernames are ASCII (domain.identity.roles), so lower() is their case folding.
            # Two names differing only in case can exist from before: the exact one wins.
            await cur.execute(
                f"SELECT {_USER_COLUMNS} FROM {self._users} WHERE lower(username) = lower(%s)"
                " ORDER BY username = %s DESC LIMIT 1",
                (username, username),
            )
            row = await cur.fetchone()
        return UserRecord(**row) if row else None

    async def session(self, user_id: str, jti: str) -> tuple[UserRecord | None, bool]:
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                f"SELECT {_USER_COLUMNS},"
                f" EXISTS (SELECT 1 FROM {self._revoked} WHERE jti = %s) AS revoked"
                f" FROM {self._users} WHERE uuid = %s::uuid",
                (jti, user_id),
            )
            row = await cur.fetchone()
        if row is None:
            return None, False
        revoked = bool(row.pop("revoked"))
        return UserRecord(**row), revoked

    async def caught_up(self, user_id: str) -> bool:
        """The users model's position against the position of the user's newest event (one
        primary-key probe of the event store: its key is the aggregate id and version)."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT coalesce((SELECT position FROM {POSITIONS} WHERE name = 'users'), 0)"
                " >= coalesce((SELECT notification_id"
                f" FROM {EVENTS_TABLE} WHERE originator_id = %s::uuid"
                " ORDER BY originator_version DESC LIMIT 1), 0)",
                (user_id,),
            )
            row = await cur.fetchone()
        return bool(row and row[0])

    async def list_users(self) -> list[UserSummary]:
        """Every live user, oldest first, without password hashes."""
        async with self._pool.connection() as conn:
            cur = rows_of(conn, UserSummary)
            await cur.execute(
                "SELECT uuid::text AS uuid, username, role, must_change_password"
                f" FROM {self._users} ORDER BY created_at, uuid"
            )
            return await cur.fetchall()

    async def settings(self) -> ConfigValues:
        """The deployment limit and the global mutation interval in minutes."""
        async with self._pool.connection() as conn:
            cur = rows_of(conn, ConfigValues)
            await cur.execute(
                f"SELECT deployment_limit, global_mutation_interval_minutes FROM {self._settings}"
            )
            row = await cur.fetchone()
        assert row is not None, "settings projection creates its row"
        return row
