"""Users read model: live users, their token cut-off, and revoked token ids."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from domain.identity.user import User
from domain.shared.topics import stored_topics
from projections.base import Envelope, SchemaBound


@dataclass(frozen=True, slots=True)
class UserTables:
    """The users model's tables in one schema."""

    schema: str

    @property
    def users(self) -> str:
        return f"{self.schema}.users"

    @property
    def revoked(self) -> str:
        return f"{self.schema}.revoked_tokens"


class UsersProjection(SchemaBound):
    """One row per live user; deleting a user deletes its row and revocations."""

    name = "users"
    version = 2  # v2: a schema of its own
    topics = stored_topics(
        User.Registered,
        User.PasswordChanged,
        User.PasswordReset,
        User.RoleChanged,
        User.Deleted,
        User.TokenRevoked,
    )

    def __init__(self, schema: str) -> None:
        super().__init__(schema)
        self.tables = UserTables(schema)

    async def create(self, conn: AsyncConnection[Any]) -> None:
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self.tables.users} ("
            "uuid uuid PRIMARY KEY, username text NOT NULL UNIQUE, role text NOT NULL,"
            " must_change_password boolean NOT NULL, password_hash text NOT NULL,"
            " tokens_valid_from double precision, created_at timestamptz NOT NULL)"
        )
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self.tables.revoked} ("
            "jti text PRIMARY KEY, user_uuid uuid NOT NULL, expires_at timestamptz NOT NULL)"
        )

    async def drop(self, conn: AsyncConnection[Any]) -> None:
        await conn.execute(f"DROP TABLE IF EXISTS {self.tables.users}, {self.tables.revoked}")

    async def apply(self, conn: AsyncConnection[Any], batch: Sequence[Envelope]) -> None:
        async with conn.cursor() as cur:
            for envelope in batch:
                sql, params = _statement(self.tables, envelope.event)
                await cur.execute(sql, params)


def _statement(t: UserTables, event: Any) -> tuple[str, tuple[Any, ...]]:
    uid = event.originator_id
    at = event.timestamp.timestamp()
    match event:
        case User.Registered():
            return (
                f"INSERT INTO {t.users} (uuid, username, role, must_change_password, password_hash,"
                " tokens_valid_from, created_at) VALUES (%s, %s, %s, %s, %s, NULL, %s)",
                (
                    uid,
                    event.username,
                    event.role,
                    event.must_change_password,
                    event.password_hash,
                    event.timestamp,
                ),
            )
        case User.PasswordChanged() | User.PasswordReset():
            must_change = isinstance(event, User.PasswordReset)
            return (
                f"UPDATE {t.users} SET password_hash = %s, must_change_password = %s,"
                " tokens_valid_from = %s WHERE uuid = %s",
                (event.password_hash, must_change, at, uid),
            )
        case User.RoleChanged():
            return (
                f"UPDATE {t.users} SET role = %s, tokens_valid_from = %s WHERE uuid = %s",
                (event.role, at, uid),
            )
        case User.Deleted():
            return (
                f"WITH gone AS (DELETE FROM {t.revoked} WHERE user_uuid = %s)"
                f" DELETE FROM {t.users} WHERE uuid = %s",
                (uid, uid),
            )
        case User.TokenRevoked():
            return (
                f"INSERT INTO {t.revoked} (jti, user_uuid, expires_at) VALUES (%s, %s, %s)"
                " ON CONFLICT (jti) DO NOTHING",
                (event.jti, uid, event.expires_at),
            )
    raise TypeError(f"users projection cannot apply {type(event).__name__}")
