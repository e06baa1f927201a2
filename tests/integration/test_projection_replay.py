"""Replay equivalence: users/settings read models built incrementally equal a rebuild from 0."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg_pool import AsyncConnectionPool

from application.fleet.settings import SettingsCommands
from application.identity.users import UserCommands
from application.store import EventStoreApp
from domain.audit.evidence import EventRow
from domain.audit.merkle import CompactTree
from domain.fleet.settings import Settings
from domain.identity.roles import Role
from domain.identity.user import User, UsernameClaim
from domain.shared.errors import DecnetError
from domain.shared.meta import SYSTEM, CommandMeta
from infrastructure.eventstore.mapper import MsgspecMapper
from projections.merkle import MerkleProjection
from projections.runner import ProjectionRunner
from projections.schema import live_schema
from projections.settings import SettingsProjection
from projections.users import UsersProjection
from tests.api.harness import fresh_database
from tests.integration.stores import event_store
from tests.unit.identity.fakes import FakeHasher

EXPIRES = datetime(2030, 1, 1, tzinfo=UTC)
AGGREGATES = (User, UsernameClaim, Settings)
NAMES = st.sampled_from(["alice", "bob", "carol", "dave"])
ROLES = st.sampled_from(list(Role))
TARGET = st.integers(min_value=0, max_value=7)

OPERATIONS = st.one_of(
    st.tuples(st.just("register"), NAMES, ROLES, st.booleans()),
    st.tuples(st.just("change_password"), TARGET),
    st.tuples(st.just("reset_password"), TARGET),
    st.tuples(st.just("change_role"), TARGET, ROLES),
    st.tuples(st.just("delete"), TARGET),
    st.tuples(st.just("revoke_token"), TARGET),
    st.tuples(st.just("deployment_limit"), st.integers(min_value=-1, max_value=502)),
    st.tuples(st.just("interval"), st.integers(min_value=-1, max_value=600_000)),
    st.tuples(st.just("catch_up"), st.sampled_from(["users", "settings", "merkle"])),
)


def projections() -> list[Any]:
    return [
        UsersProjection(live_schema("users")),
        SettingsProjection(live_schema("settings")),
        MerkleProjection(live_schema("merkle")),
    ]


async def dump(pool: AsyncConnectionPool[Any]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the users, revoked tokens and settings tables, in a stable order."""
    queries = {
        "users": f"SELECT * FROM {live_schema('users')}.users ORDER BY uuid",
        "revoked": f"SELECT * FROM {live_schema('users')}.revoked_tokens ORDER BY jti",
        "settings": f"SELECT * FROM {live_schema('settings')}.settings",
        "tree": f"SELECT * FROM {live_schema('merkle')}.merkle_state",
        "leaves": f"SELECT * FROM {live_schema('merkle')}.merkle_leaves ORDER BY leaf_index",
        "nodes": f"SELECT * FROM {live_schema('merkle')}.merkle_nodes ORDER BY level, idx",
    }
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with pool.connection() as conn:
        for name, sql in queries.items():
            rows[name] = list(await (await conn.execute(sql)).fetchall())
    return rows


class Scenario:
    """Applies generated operations through the real command handlers."""

    def __init__(self, store: EventStoreApp) -> None:
        self.store = store
        self.users = UserCommands(store, FakeHasher())
        self.settings = SettingsCommands(store)
        root, _ = self.users.register(SYSTEM, "root", "root-password", Role.ADMIN, False)
        self.admin = CommandMeta(actor_id=root.id, client_ip="10.0.0.1", request_id="r")
        self.user_ids: list[UUID] = [root.id]
        self.revocations = 0

    def apply(self, op: tuple[Any, ...]) -> None:
        """Run one operation; broken rules are expected outcomes and write nothing."""
        kind, *args = op
        with suppress(DecnetError):
            self._run(kind, args)

    def _target(self, index: int) -> UUID:
        return self.user_ids[index % len(self.user_ids)]

    def _run(self, kind: str, args: list[Any]) -> None:
        if kind == "register":
            name, role, must_change = args
            user, _ = self.users.register(self.admin, name, "password-1", role, must_change)
            self.user_ids.append(user.id)
        elif kind == "change_password":
            meta = CommandMeta(actor_id=self._target(args[0]))
            self.users.change_password(meta, self._target(args[0]), "password-1", "password-1")
        elif kind == "reset_password":
            self.users.reset_password(self.admin, self._target(args[0]), "password-1")
        elif kind == "change_role":
            self.users.change_role(self.admin, self._target(args[0]), args[1])
        elif kind == "delete":
            self.users.delete(self.admin, self._target(args[0]))
        elif kind == "revoke_token":
            self.revocations += 1
            jti = f"jti-{self.revocations}"
            self.users.revoke_token(self.admin, self._target(args[0]), jti, EXPIRES)
        elif kind == "deployment_limit":
            self.settings.set_deployment_limit(self.admin, args[0])
        elif kind == "interval":
            self.settings.set_global_mutation_interval(self.admin, args[0])

    def live_users(self) -> set[tuple[str, str, str, bool]]:
        """(uuid, username, role, must_change) of every live user, from the aggregates."""
        live = set()
        for user_id in self.user_ids:
            user: User = self.store.repository.get(user_id)
            if not user.deleted:
                live.add((str(user_id), user.username, user.role.value, user.must_change_password))
        return live


async def replay_check(url: str, ops: list[tuple[Any, ...]], batch_size: int) -> None:
    """Incremental catch-ups (small batches, interleaved) and a full rebuild give equal rows."""
    with event_store(url) as store:
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True}
        )
        await pool.open(wait=True)
        try:
            runner = ProjectionRunner(store, pool, projections(), batch_size=batch_size)
            await runner.setup()
            scenario = Scenario(store)
            for op in ops:
                if op[0] == "catch_up":
                    await runner.catch_up(op[1])
                else:
                    await asyncio.to_thread(scenario.apply, op)
            for name in runner.projections:
                assert await runner.catch_up(name) == store.head()
            incremental = await dump(pool)

            rebuilder = ProjectionRunner(store, pool, projections())
            await rebuilder.setup()
            for name in rebuilder.projections:
                assert await rebuilder.rebuild(name) == store.head()
            rebuilt = await dump(pool)
        finally:
            await pool.close()

        assert rebuilt == incremental
        stored = [
            EventRow(n.id, n.originator_id, n.originator_version, n.topic, n.state)
            for n in store.read(0, 10_000)
        ]
        assert [bytes(r[4]) for r in incremental["leaves"]] == [r.leaf() for r in stored]
        tree = CompactTree()
        tree.extend(r.leaf() for r in stored)
        assert [bytes(r[1]) for r in incremental["tree"]] == ([tree.to_bytes()] if stored else [])
        listed = {(str(r[0]), r[1], r[2], r[3]) for r in incremental["users"]}
        assert listed == scenario.live_users()
        current = scenario.settings.current()
        assert incremental["settings"] == [
            (1, current.deployment_limit, current.global_mutation_interval_minutes)
        ]


@settings(max_examples=20, deadline=None)
@given(ops=st.lists(OPERATIONS, max_size=25), batch_size=st.integers(min_value=1, max_value=4))
def test_incremental_projection_equals_rebuild(
    pg_admin_url: str, ops: list[tuple[Any, ...]], batch_size: int
) -> None:
    """For any command sequence, catching up in pieces and rebuilding from 0 give the same rows."""
    with fresh_database(pg_admin_url) as url:
        asyncio.run(replay_check(url, ops, batch_size))


# --- mapper round trip ---------------------------------------------------------------------------


def identity_event_classes() -> set[type]:
    """Every event class the identity aggregates declare (not the library's generated bases)."""
    return {
        value
        for aggregate in AGGREGATES
        for name, value in vars(aggregate).items()
        if isinstance(value, type)
        and issubclass(value, Aggregate.Event)
        and name not in {"Event", "Created"}
    }


def one_of_each_event() -> list[Any]:
    """A history that contains every identity event class at least once."""
    admin = CommandMeta(actor_id=UUID(int=1), client_ip="10.0.0.1", request_id="req-1")
    user = User.register(admin, "alice", "hash-0", Role.VIEWER, True)
    user.change_password(CommandMeta(actor_id=user.id), "hash-1")
    user.reset_password(admin, "hash-2")
    user.change_role(admin, Role.ADMIN)
    user.revoke_token(admin, "jti-1", EXPIRES)
    user.delete(admin)
    claim = UsernameClaim.claim(admin, "alice", user.id)
    claim.release(SYSTEM)
    claim.reclaim(admin, UUID(int=2))
    config = Settings.initialise(SYSTEM)
    config.set_deployment_limit(admin, 42)
    config.set_global_mutation_interval(admin, 1440)
    return [*user.collect_events(), *claim.collect_events(), *config.collect_events()]


def test_history_covers_every_identity_event() -> None:
    """The round-trip history below holds every event class (so a new one must be added)."""
    assert {type(e) for e in one_of_each_event()} == identity_event_classes()


@pytest.mark.parametrize("event", one_of_each_event(), ids=lambda e: type(e).__qualname__)
def test_mapper_round_trips_each_event(event: Any) -> None:
    """Every identity event survives the msgspec mapper with its exact field values and types."""
    mapper = MsgspecMapper()
    back = mapper.to_domain_event(mapper.to_stored_event(event))
    assert type(back) is type(event)
    assert vars(back) == vars(event)
    for name, value in vars(event).items():
        assert type(vars(back)[name]) is type(value), name


def test_events_round_trip_through_postgres(database_url: str) -> None:
    """Events saved to the PostgreSQL store read back typed, in order, at unique positions."""
    admin = CommandMeta(actor_id=UUID(int=1))
    with event_store(database_url) as store:
        users = UserCommands(store, FakeHasher())
        user, _ = users.register(admin, "alice", "password-1", Role.VIEWER)
        users.change_role(admin, user.id, Role.ADMIN)
        users.revoke_token(admin, user.id, "jti-1", EXPIRES)
        users.delete(admin, user.id)
        SettingsCommands(store).set_deployment_limit(admin, 7)
        notes = store.read(0, 100)
        events = [store.mapper.to_domain_event(n) for n in notes]
    positions = [n.id for n in notes]
    assert positions == sorted(positions)
    assert len(set(positions)) == len(positions)
    assert [type(e).__qualname__ for e in events] == [
        "User.Registered",
        "UsernameClaim.Claimed",
        "User.RoleChanged",
        "User.TokenRevoked",
        "User.Deleted",
        "UsernameClaim.Released",
        "Settings.Initialised",
        "Settings.DeploymentLimitSet",
    ]
    assert events[3].jti == "jti-1"
    assert events[3].expires_at == EXPIRES
    assert events[0].meta == admin
