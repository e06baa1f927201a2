"""One behaviour suite for every `UserDirectory` adapter: the users read model on PostgreSQL (fed
by the real projection runner from events the real handlers wrote) and the unit tests' fake.

A new adapter subclasses `UserDirectoryContract` and provides a `driver` that changes users the
way that adapter learns of changes, and the `directory` it reads through.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID, uuid4

import pytest
from psycopg_pool import AsyncConnectionPool

from application.identity.users import UserCommands
from application.ports import UserDirectory, UserRecord
from application.store import EventStoreApp
from domain.identity.roles import Role
from domain.shared.meta import SYSTEM, CommandMeta
from projections.identity_queries import PostgresUserDirectory
from projections.runner import ProjectionRunner
from projections.schema import live_schema
from projections.users import UsersProjection
from tests.unit.identity.fakes import FakeHasher, MemoryUserDirectory

EXPIRES = datetime.now(UTC) + timedelta(hours=1)


class DirectoryDriver(Protocol):
    """Changes users so that the adapter under test sees the change when the call returns."""

    async def register(self, username: str, password: str, role: Role) -> UserRecord:
        """A new user (must change password); the record the directory should now hold."""
        ...

    async def reset_password(self, user_id: str, password: str) -> None: ...

    async def change_role(self, user_id: str, role: Role) -> None: ...

    async def delete(self, user_id: str) -> None: ...

    async def revoke(self, user_id: str, jti: str) -> None: ...

    async def revoke_unapplied(self, user_id: str, jti: str) -> None:
        """Save a revocation the directory's model has not applied yet."""
        ...

    async def apply(self) -> None:
        """Apply what was saved."""
        ...


@pytest.mark.anyio
class UserDirectoryContract:
    """The port's promises; subclasses provide `driver` and `directory`."""

    async def test_a_user_is_found_by_username_with_every_field(
        self, driver: DirectoryDriver, directory: UserDirectory
    ) -> None:
        """Lookup by name returns the live user: id, name, role, flags, hash, no token cut-off."""
        alice = await driver.register("alice", "password-1", Role.ADMIN)
        found = await directory.by_username("alice")
        assert found == alice
        assert found.role == "admin"
        assert found.must_change_password is True
        assert found.tokens_valid_from is None
        assert FakeHasher().verify(found.password_hash, "password-1")

    async def test_a_username_is_found_in_any_casing(
        self, driver: DirectoryDriver, directory: UserDirectory
    ) -> None:
        """`ALICE` and `Alice` find the user registered as `alice`, spelled as registered."""
        alice = await driver.register("alice", "password-1", Role.VIEWER)
        assert await directory.by_username("ALICE") == alice
        assert await directory.by_username("Alice") == alice

    async def test_an_unknown_username_is_none(
        self, driver: DirectoryDriver, directory: UserDirectory
    ) -> None:
        """A name nobody holds finds nothing, even next to a near miss."""
        await driver.register("alice", "password-1", Role.VIEWER)
        assert await directory.by_username("alic") is None
        assert await directory.by_username("bob") is None

    async def test_a_session_sees_the_user_and_an_unrevoked_token(
        self, driver: DirectoryDriver, directory: UserDirectory
    ) -> None:
        """`session` returns the same user as the name lookup and `revoked` False."""
        alice = await driver.register("alice", "password-1", Role.VIEWER)
        assert await directory.session(alice.uuid, "jti-1") == (alice, False)

    async def test_a_revoked_token_id_is_reported_for_that_id_only(
        self, driver: DirectoryDriver, directory: UserDirectory
    ) -> None:
        """After revocation that token id is revoked; the user's other tokens are not."""
        alice = await driver.register("alice", "password-1", Role.VIEWER)
        await driver.revoke(alice.uuid, "jti-1")
        assert await directory.session(alice.uuid, "jti-1") == (alice, True)
        assert await directory.session(alice.uuid, "jti-2") == (alice, False)

    async def test_caught_up_says_whether_every_event_of_the_user_is_applied(
        self, driver: DirectoryDriver, directory: UserDirectory
    ) -> None:
        """A revocation saved but not applied makes its user (only) not caught up; once applied,
        the user is caught up and the session shows the revocation."""
        alice = await driver.register("alice", "password-1", Role.VIEWER)
        bob = await driver.register("bob", "password-2", Role.VIEWER)
        assert await directory.caught_up(alice.uuid)
        await driver.revoke_unapplied(alice.uuid, "jti-1")
        assert not await directory.caught_up(alice.uuid)
        assert await directory.caught_up(bob.uuid)
        await driver.apply()
        assert await directory.caught_up(alice.uuid)
        assert await directory.session(alice.uuid, "jti-1") == (alice, True)

    async def test_an_unknown_user_is_caught_up(
        self, driver: DirectoryDriver, directory: UserDirectory
    ) -> None:
        """Nobody's id has no event to wait for (its session finds no user anyway)."""
        await driver.register("alice", "password-1", Role.VIEWER)
        assert await directory.caught_up(str(uuid4()))

    async def test_a_deleted_user_is_gone_by_name_and_by_session(
        self, driver: DirectoryDriver, directory: UserDirectory
    ) -> None:
        """After deletion neither lookup finds the user; others are untouched."""
        alice = await driver.register("alice", "password-1", Role.VIEWER)
        bob = await driver.register("bob", "password-2", Role.VIEWER)
        await driver.revoke(alice.uuid, "jti-1")
        await driver.delete(alice.uuid)
        assert await directory.by_username("alice") is None
        assert await directory.session(alice.uuid, "jti-1") == (None, False)
        assert await directory.by_username("bob") == bob

    async def test_an_unknown_user_id_has_no_session(
        self, driver: DirectoryDriver, directory: UserDirectory
    ) -> None:
        """A well-formed id of nobody gives (None, False)."""
        await driver.register("alice", "password-1", Role.VIEWER)
        assert await directory.session(str(uuid4()), "jti-1") == (None, False)

    async def test_a_password_reset_moves_the_token_cut_off(
        self, driver: DirectoryDriver, directory: UserDirectory
    ) -> None:
        """A reset sets the new hash, must-change, and `tokens_valid_from` to about now."""
        alice = await driver.register("alice", "password-1", Role.VIEWER)
        before = time.time()
        await driver.reset_password(alice.uuid, "password-9")
        after = time.time()
        found = await directory.by_username("alice")
        assert found is not None
        assert FakeHasher().verify(found.password_hash, "password-9")
        assert found.must_change_password is True
        assert found.tokens_valid_from is not None
        assert before - 1 <= found.tokens_valid_from <= after + 1
        assert await directory.session(alice.uuid, "jti-1") == (found, False)

    async def test_a_role_change_shows_and_moves_the_token_cut_off(
        self, driver: DirectoryDriver, directory: UserDirectory
    ) -> None:
        """A new role is visible at once and earlier tokens are cut off."""
        alice = await driver.register("alice", "password-1", Role.VIEWER)
        await driver.change_role(alice.uuid, Role.ADMIN)
        found = await directory.by_username("alice")
        assert found is not None
        assert found.role == "admin"
        assert found.tokens_valid_from is not None
        assert found == replace(alice, role="admin", tokens_valid_from=found.tokens_valid_from)


# --- the unit tests' fake -----------------------------------------------------------------------


class MemoryDriver:
    """Changes the fake's dict the way the users projection changes its table."""

    def __init__(self, directory: MemoryUserDirectory) -> None:
        self._directory = directory
        self._hasher = FakeHasher()
        self._unapplied: list[str] = []

    async def register(self, username: str, password: str, role: Role) -> UserRecord:
        return self._directory.add(
            username, password, self._hasher, role=role.value, must_change_password=True
        )

    async def reset_password(self, user_id: str, password: str) -> None:
        self._update(
            user_id,
            password_hash=self._hasher.hash(password),
            must_change_password=True,
            tokens_valid_from=time.time(),
        )

    async def change_role(self, user_id: str, role: Role) -> None:
        self._update(user_id, role=role.value, tokens_valid_from=time.time())

    async def delete(self, user_id: str) -> None:
        del self._directory.users[user_id]

    async def revoke(self, user_id: str, jti: str) -> None:
        self._directory.revoked.add(jti)

    async def revoke_unapplied(self, user_id: str, jti: str) -> None:
        self._unapplied.append(jti)
        self._directory.pending.add(user_id)

    async def apply(self) -> None:
        self._directory.revoked.update(self._unapplied)
        self._directory.pending.clear()

    def _update(self, user_id: str, **changes: Any) -> None:
        users = self._directory.users
        users[user_id] = replace(users[user_id], **changes)


class TestMemoryUserDirectory(UserDirectoryContract):
    """The contract on the fake the identity unit tests use."""

    @pytest.fixture
    def directory(self) -> MemoryUserDirectory:
        return MemoryUserDirectory()

    @pytest.fixture
    def driver(self, directory: MemoryUserDirectory) -> MemoryDriver:
        return MemoryDriver(directory)


# --- PostgreSQL: events through the real handlers, rows through the real runner ----------------


class ProjectedDriver:
    """Writes user events with the real handlers and catches the users model up to them."""

    def __init__(self, users: UserCommands, runner: ProjectionRunner) -> None:
        self._users = users
        self._runner = runner
        root, _ = users.register(SYSTEM, "root", "root-password", Role.ADMIN, False)
        self._admin = CommandMeta(actor_id=root.id, client_ip="192.0.2.1", request_id="contract")

    async def register(self, username: str, password: str, role: Role) -> UserRecord:
        user, _ = self._users.register(self._admin, username, password, role, must_change=True)
        await self._runner.catch_up("users")
        return UserRecord(
            uuid=str(user.id),
            username=username,
            role=role.value,
            must_change_password=True,
            password_hash=user.password_hash,
            tokens_valid_from=None,
        )

    async def reset_password(self, user_id: str, password: str) -> None:
        self._users.reset_password(self._admin, UUID(user_id), password)
        await self._runner.catch_up("users")

    async def change_role(self, user_id: str, role: Role) -> None:
        self._users.change_role(self._admin, UUID(user_id), role)
        await self._runner.catch_up("users")

    async def delete(self, user_id: str) -> None:
        self._users.delete(self._admin, UUID(user_id))
        await self._runner.catch_up("users")

    async def revoke(self, user_id: str, jti: str) -> None:
        self._users.revoke_token(self._admin, UUID(user_id), jti, EXPIRES)
        await self._runner.catch_up("users")

    async def revoke_unapplied(self, user_id: str, jti: str) -> None:
        self._users.revoke_token(self._admin, UUID(user_id), jti, EXPIRES)

    async def apply(self) -> None:
        await self._runner.catch_up("users")


@pytest.mark.external_pg
class TestPostgresUserDirectory(UserDirectoryContract):
    """The contract on the users read model, projected on PostgreSQL."""

    @pytest.fixture
    async def pool(self, pg_database_url: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            pg_database_url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True}
        )
        await pool.open(wait=True)
        yield pool
        await pool.close()

    @pytest.fixture
    async def driver(
        self, pg_store: EventStoreApp, pool: AsyncConnectionPool[Any]
    ) -> ProjectedDriver:
        runner = ProjectionRunner(pg_store, pool, [UsersProjection(live_schema("users"))])
        await runner.setup()
        return ProjectedDriver(UserCommands(pg_store, FakeHasher()), runner)

    @pytest.fixture
    def directory(self, pool: AsyncConnectionPool[Any]) -> PostgresUserDirectory:
        return PostgresUserDirectory(pool)
