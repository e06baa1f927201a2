"""Zero-downtime rebuilds and as-of views agree with incremental projection, for any history.

A hypothesis state machine interleaves commands (users, settings, fleet), interaction batches,
purges, catch-ups, rebuilds and views on a real PostgreSQL. Whenever a view is made at the head
it must equal the live models at that moment, and keep equalling that snapshot whatever happens
afterwards; at the end every live model equals its own full rebuild.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Coroutine
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Any, TypeVar

import anyio
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from application.ports import RuntimeReport
from domain.identity.roles import Role
from domain.shared.errors import DecnetError
from domain.shared.meta import SYSTEM, CommandMeta
from interfaces.cli.rebuild_workers import plan, rebuild_in_workers
from projections.catalog import FACTORIES, VIEW_MODELS
from projections.positions import POSITIONS
from tests.api.harness import fresh_database
from tests.integration.observations_fixtures import record
from tests.integration.readmodel_world import Rows, World, dump_live, dump_view, world
from tests.integration.test_observation_replay import interactions
from tests.unit.fleet.fakes import FakeClock, fleet_commands

T = TypeVar("T")
MAX_VIEWS = 3
MODELS = ("users", "settings", "logs", "histogram", "attackers", "fleet")
ADMIN = CommandMeta(client_ip="10.9.9.9", request_id="machine")


class LoopThread:
    """An event loop in a thread of its own, so synchronous rules can await the async world."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=120)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


class ReadModelMachine(RuleBasedStateMachine):
    """Histories of commands and interactions, with rebuilds and views taken along the way."""

    admin_url = ""

    def __init__(self) -> None:
        super().__init__()
        self.stack = ExitStack()
        self.loop = LoopThread()
        self.stack.callback(self.loop.close)
        url = self.stack.enter_context(fresh_database(self.admin_url))
        self.world_cm = world(url, max_views=MAX_VIEWS, batch_size=3)
        self.w: World = self.loop.run(self.world_cm.__aenter__())
        self.clock = FakeClock()
        self.fleet = fleet_commands(self.w.store, self.clock)
        self.snapshots: dict[str, Rows] = {}
        self.count = 0

    @rule(records=st.lists(interactions(), min_size=1, max_size=6))
    def observe(self, records: list[Any]) -> None:
        """An interaction batch arrives."""
        self.w.ingest.append(records, [], None)

    @rule()
    def purge(self) -> None:
        """A developer reinit."""
        self.w.ingest.purge(ADMIN)

    @rule(name=st.sampled_from(["alice", "bob", "carol"]), role=st.sampled_from(list(Role)))
    def register(self, name: str, role: Role) -> None:
        """A user is created (a duplicate is refused and writes nothing)."""
        with suppress(DecnetError):
            self.w.users.register(ADMIN, f"{name}{self.count % 3}", "password-1", role)

    @rule(limit=st.integers(min_value=1, max_value=500))
    def set_limit(self, limit: int) -> None:
        """The deployment limit changes."""
        self.w.settings.set_deployment_limit(ADMIN, limit)

    @rule()
    def deploy(self) -> None:
        """A decky is deployed and reported running."""
        self.count += 1
        name = f"d{self.count}"
        try:
            self.fleet.deploy(ADMIN, f"[{name}]\nservices = ssh\nip = 127.91.0.{self.count}\n")
        except DecnetError:
            return
        self.clock.advance(minutes=1)
        self.fleet.record_status(name, RuntimeReport("running", "", {"ssh": 22}))

    @rule(name=st.sampled_from(MODELS))
    def catch_up(self, name: str) -> None:
        """One live model catches up (others may lag)."""
        self.loop.run(self.w.runner.catch_up(name))

    @rule(name=st.sampled_from(MODELS))
    def rebuild(self, name: str) -> None:
        """One model is rebuilt beside the live one and swapped in."""
        self.loop.run(self.w.runner.rebuild(name))

    @rule()
    def view_at_head(self) -> None:
        """A view made at the head equals the live models at that moment."""
        self.count += 1
        label = f"v-{self.count}"
        if len(self.snapshots) >= MAX_VIEWS:
            oldest = next(iter(self.snapshots))
            self.w.commands.drop_view(ADMIN, oldest)
            del self.snapshots[oldest]
        head = self.loop.run(self.w.catch_up_all())
        live = self.loop.run(dump_live(self.w.pool, VIEW_MODELS))
        self.w.commands.create_view(ADMIN, label, head)
        self.loop.run(self.w.build_views())
        assert self.loop.run(dump_view(self.w.pool, label)) == live
        self.snapshots[label] = live

    def teardown(self) -> None:
        try:
            self._final_checks()
        finally:
            self.loop.run(self.world_cm.__aexit__(None, None, None))
            self.stack.close()

    def _final_checks(self) -> None:
        self.loop.run(self.w.catch_up_all())
        incremental = self.loop.run(dump_live(self.w.pool, MODELS))
        for name in MODELS:
            self.loop.run(self.w.runner.rebuild(name))
        assert self.loop.run(dump_live(self.w.pool, MODELS)) == incremental
        self.loop.run(self.w.build_views())
        for label, snapshot in self.snapshots.items():
            assert self.loop.run(dump_view(self.w.pool, label)) == snapshot, label


def test_incremental_equals_rebuilt_equals_view_at_head(pg_admin_url: str) -> None:
    """For any history, rebuilt models and views made at the head equal incremental ones."""
    ReadModelMachine.admin_url = pg_admin_url
    run_state_machine_as_test(
        ReadModelMachine,
        settings=settings(
            max_examples=6,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        ),
    )


@pytest.mark.anyio
async def test_a_rebuild_resumes_after_a_crash(database_url: str) -> None:
    """A rebuild interrupted mid-way resumes from the shadow's tracked position."""
    async with world(database_url, batch_size=2) as w:
        for seq in range(6):
            w.ingest.append([record(seq)], [], None)
        await w.catch_up_all()
        before = await dump_live(w.pool, ["logs"])
        w.commands.request_rebuild(SYSTEM, "logs")
        await w.controller.reconcile()
        shadow = "logs@next"
        await w.runner._step(w.runner.slots[shadow], await w.head())  # one batch, then "crash"
        position = w.runner.positions[shadow]
        assert 0 < position < await w.head()
    async with world(database_url) as restarted:
        assert restarted.runner.positions[shadow] == position  # resumed, not restarted
        assert "logs" in restarted.runner.rebuilding()
        await restarted.runner.rebuild("logs")
        await restarted.controller.reconcile()
        assert "logs" not in restarted.commands.control().rebuilding
        assert await dump_live(restarted.pool, ["logs"]) == before


@pytest.mark.anyio
async def test_an_upgrade_swaps_in_although_the_old_model_stopped_behind_the_head(
    database_url: str,
) -> None:
    """A model whose version changed while it was behind the head is frozen (it serves its old
    tables and applies nothing); its rebuilt shadow, at the head, still goes live."""
    async with world(database_url) as w:
        for seq in range(6):
            w.ingest.append([record(seq)], [], None)
        await w.catch_up_all()
        expected = await dump_live(w.pool, ["logs"])
        head = await w.head()
        async with w.pool.connection() as conn:  # what an older release left: v-1, 3 behind
            await conn.execute(
                f"UPDATE {POSITIONS} SET version = version - 1, position = position - 3"
                " WHERE name = 'logs'"
            )
    async with world(database_url) as upgraded:
        assert "logs" in upgraded.runner.rebuilding()
        assert await asyncio.wait_for(upgraded.runner.rebuild("logs"), 60) == head
        assert "logs" not in upgraded.runner.rebuilding()
        assert upgraded.runner.positions["logs"] == head
        assert await dump_live(upgraded.pool, ["logs"]) == expected


@pytest.mark.anyio
@pytest.mark.parametrize("left_by", ["older code", "code before versions were kept"])
async def test_an_upgrade_builds_views_of_older_models_again(
    database_url: str, left_by: str
) -> None:
    """A view whose tables an older release built (another shape: its reads failed with a 500)
    is built again, to the same position, by the models that read it now."""
    async with world(database_url) as w:
        for seq in range(6):
            w.ingest.append([record(seq)], [], None)
        until = await w.catch_up_all()
        expected = await dump_live(w.pool, VIEW_MODELS)
        w.commands.create_view(ADMIN, "old", until)
        await w.build_views()
        assert await dump_view(w.pool, "old") == expected
        versions = None if left_by.endswith("kept") else '{"logs": 0}'
        async with w.pool.connection() as conn:  # what an older release left
            await conn.execute("ALTER TABLE decnet_view_old.logs DROP COLUMN row_json")
            await conn.execute("UPDATE decnet_read.read_views SET versions = %s", (versions,))
        for _ in range(3):
            w.ingest.append([record(100)], [], None)
    async with world(database_url) as upgraded:
        await upgraded.controller.reconcile()
        assert [v.state for v in await upgraded.views.infos()] == ["building"]
        await upgraded.build_views()
        (info,) = await upgraded.views.infos()
        assert (info.state, info.until_position) == ("ready", until)
        assert await dump_view(upgraded.pool, "old") == expected
        await upgraded.controller.reconcile()  # built by these models: left alone
        assert [v.state for v in await upgraded.views.infos()] == ["ready"]


@pytest.mark.anyio
async def test_worker_processes_rebuild_every_model_identically_and_resume(
    database_url: str, tmp_path: Path
) -> None:
    """`decnet projections rebuild` splits the models over processes (ADR 0023): each model goes
    live with the same rows, and a shadow a crashed rebuild left behind is driven to the end."""
    async with world(database_url, batch_size=2) as w:
        for seq in range(8):
            w.ingest.append([record(seq), record(seq + 100)], [], None)
        w.commands.request_rebuild(SYSTEM, "logs")
        await w.catch_up_all()
        before = await dump_live(w.pool, MODELS)
        await w.controller.reconcile()
        await w.runner._step(w.runner.slots["logs@next"], await w.head())  # one batch, "crash"
        resumed_from = w.runner.positions["logs@next"]
        assert 0 < resumed_from < await w.head()
        head = await w.head()
    env = {**os.environ, "DECNET_DATABASE_URL": database_url, "DECNET_DATA_DIR": str(tmp_path)}
    names = list(FACTORIES)
    positions = await rebuild_in_workers(names, 2, env)
    assert positions == dict.fromkeys(names, head)
    async with world(database_url) as after:
        assert after.runner.rebuilding() == set()
        assert await dump_live(after.pool, MODELS) == before
        async with after.pool.connection() as conn:
            rows = await (await conn.execute(f"SELECT name FROM {POSITIONS}")).fetchall()
        assert not [r for r in rows if r[0].endswith("@next")]


def test_the_worker_plan_spreads_the_heavy_models() -> None:
    """Two workers: the logs model alone on one side, the other heavy models on the other."""
    groups = plan(list(FACTORIES), 2)
    assert sorted(n for g in groups for n in g) == sorted(FACTORIES)
    logs_group = next(g for g in groups if "logs" in g)
    assert "histogram" not in logs_group
    assert "attackers" not in logs_group
    assert plan(["logs"], 4) == [["logs"]]
    # Siblings reading the same pages share a worker: each page is read and decoded once.
    for workers in (2, 3, 4):
        assert any({"histogram", "attackers"} <= set(g) for g in plan(list(FACTORIES), workers))


@pytest.mark.anyio
async def test_two_runners_reading_ahead_apply_each_event_once(database_url: str) -> None:
    """Two runners on one database race for the logs model with pages read ahead (ADR 0023):
    a page read ahead whose start another runner already passed is dropped, never applied."""
    async with world(database_url, batch_size=2) as w:
        for seq in range(30):
            w.ingest.append([record(seq)], [], None)
        async with world(database_url, batch_size=3) as other, anyio.create_task_group() as tg:
            tg.start_soon(w.runner.catch_up, "logs")
            tg.start_soon(other.runner.catch_up, "logs")
        raced = await dump_live(w.pool, ["logs"])
        w.commands.request_rebuild(SYSTEM, "logs")
        await w.controller.reconcile()
        await w.runner.rebuild("logs")
        assert await dump_live(w.pool, ["logs"]) == raced
        async with w.pool.connection() as conn:
            row = await (
                await conn.execute("SELECT value FROM decnet_rm_logs.log_counters")
            ).fetchone()
        assert row == (30,)


@pytest.mark.anyio
async def test_concurrent_rebuilds_share_their_pages_and_equal_incremental(
    database_url: str,
) -> None:
    """Rebuilding every model at once, siblings of the same topics and page size (histogram
    and attackers) read each page once between them (ADR 0023), and every model still equals
    its incremental build; the tree model, which reads batch events undecoded, never hands its
    pages to the history model (same topics and page size), which needs them decoded."""
    async with world(database_url, batch_size=2) as w:
        for seq in range(12):
            w.ingest.append([record(seq), record(seq + 100, attacker_ip="10.0.0.9")], [], None)
            if seq == 5:
                w.ingest.purge(ADMIN)
        await w.catch_up_all()
        names = list(FACTORIES)
        incremental = await dump_live(w.pool, names)
        reads: list[tuple[str, ...]] = []
        read = w.store.read
        all_started = threading.Event()

        def counted(*args: Any, **kwargs: Any) -> Any:
            # Pages are shared among siblings rebuilding side by side; one that starts while
            # the other is still creating its shadow reads its first pages alone, which on a
            # loaded machine can be several. Reads run in worker threads: hold them until every
            # shadow exists, as a rebuild of every model does once it is under way.
            deadline = time.monotonic() + 30
            while not all_started.is_set() and time.monotonic() < deadline:
                if len(w.runner.rebuilding()) == len(names):
                    all_started.set()
                time.sleep(0.005)
            reads.append(tuple(args[2] if len(args) > 2 else kwargs.get("topics", ())))
            return read(*args, **kwargs)

        w.store.read = counted  # type: ignore[method-assign]
        async with anyio.create_task_group() as tg:
            for name in reversed(names):  # the tree model before the history model
                tg.start_soon(w.runner.rebuild, name)
        assert await dump_live(w.pool, names) == incremental
    observed = tuple(FACTORIES["histogram"]("x").topics)
    pages = -(-13 // 2)  # 12 batches and a purge, 2 events per page
    # The logs model (read ahead, never shared) reads each page once, and the histogram and
    # the attackers once between them: without sharing it would be 3 reads a page.
    assert reads.count(observed) <= 2 * pages + 2


async def _sixty_logs(w: World) -> Rows:
    """Sixty records applied to the live logs model; its rows."""
    for seq in range(60):
        w.ingest.append([record(seq)], [], None)
    await w.runner.catch_up("logs")
    return await dump_live(w.pool, ["logs"])


@pytest.mark.anyio
async def test_two_processes_rebuilding_one_model_both_finish(database_url: str) -> None:
    """`decnet projections rebuild` run directly while a server rebuilds the same model (a
    server it cannot reach at its URL): both drive the one shadow, one swaps it in, and the
    other returns too instead of failing on the schema that swap renamed away."""
    async with world(database_url, batch_size=2) as a:
        before = await _sixty_logs(a)
        async with world(database_url, batch_size=3) as b, anyio.create_task_group() as tg:
            tg.start_soon(a.runner.rebuild, "logs")
            tg.start_soon(b.runner.rebuild, "logs")
        assert await dump_live(a.pool, ["logs"]) == before


@pytest.mark.anyio
async def test_a_server_lets_go_of_a_shadow_another_process_swapped_in(database_url: str) -> None:
    """A server's rebuild task whose shadow a direct rebuild finished: it stops, with no error,
    instead of retrying a swap whose shadow is gone (it used to retry every poll, for ever)."""
    async with world(database_url, batch_size=2) as a:
        before = await _sixty_logs(a)
        async with world(database_url, batch_size=3) as b, anyio.create_task_group() as tg:
            assert await a.runner.request_rebuild("logs")  # its task starts with `run`
            await b.runner.rebuild("logs")  # another process drives that shadow and swaps it
            tg.start_soon(a.runner.run)
            with anyio.fail_after(30):
                while a.runner.rebuilding():
                    await anyio.sleep(0.05)
            assert not a.runner.errors
            tg.cancel_scope.cancel()
        assert await dump_live(a.pool, ["logs"]) == before
