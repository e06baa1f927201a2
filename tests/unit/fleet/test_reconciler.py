"""The reconciler driving a fake runtime from fleet events on the in-memory store."""

from __future__ import annotations

import anyio
import pytest

from application.fleet.commands import FleetCommands
from application.fleet.reconciler import Reconciler
from application.store import EventStoreApp
from domain.fleet.fleet import Fleet
from domain.shared.meta import CommandMeta
from tests.unit.fleet.fakes import FakeRuntime, events_of, fleet_commands, memory_store

pytestmark = pytest.mark.anyio
META = CommandMeta()
TWO = "[a]\nservices = ssh, http\nip = 127.90.0.1\n[b]\nservices = ftp\nip = 127.90.0.2\n"


@pytest.fixture
def anyio_backend() -> str:
    """The reconciler is asyncio code."""
    return "asyncio"


@pytest.fixture
def store() -> EventStoreApp:
    """A fresh in-memory store."""
    return memory_store()


@pytest.fixture
def commands(store: EventStoreApp) -> FleetCommands:
    """Fleet handlers on it."""
    return fleet_commands(store)


@pytest.fixture
def runtime() -> FakeRuntime:
    """A fresh fake runtime."""
    return FakeRuntime()


@pytest.fixture
async def reconciler(
    store: EventStoreApp, commands: FleetCommands, runtime: FakeRuntime
) -> Reconciler:
    """A started reconciler (nothing deployed yet)."""
    reconciler = Reconciler(store, commands, runtime, retry_failed_s=0.0)
    await reconciler.start()
    return reconciler


def statuses(store: EventStoreApp) -> list[tuple[str, str, dict[str, int]]]:
    """(decky, status, ports) of every RuntimeStatusChanged stored."""
    return [(e.decky, e.status, e.ports) for e in events_of(store, Fleet.RuntimeStatusChanged)]


async def test_deploy_is_applied_and_reported(
    store: EventStoreApp, commands: FleetCommands, runtime: FakeRuntime, reconciler: Reconciler
) -> None:
    """Deployed deckies are applied and their running ports recorded; settle sees them."""
    deployed = commands.deploy(META, TWO)
    await reconciler.catch_up()
    assert set(runtime.deckies) == {"a", "b"}
    assert statuses(store) == [
        ("a", "running", {"ssh": 20000, "http": 20001}),
        ("b", "running", {"ftp": 20002}),
    ]
    settled = await reconciler.settle(deployed.position, deployed.names, wait_s=0.1)
    assert {n: r.status for n, r in settled.reports.items() if r} == {
        "a": "running",
        "b": "running",
    }
    assert settled.position == store.head()


async def test_catch_up_is_idempotent(
    store: EventStoreApp, commands: FleetCommands, runtime: FakeRuntime, reconciler: Reconciler
) -> None:
    """Catching up again, or re-reading already-applied events, records nothing new."""
    commands.deploy(META, TWO)
    await reconciler.catch_up()
    await reconciler.catch_up()
    reconciler.position = 0  # as if every event were seen again
    await reconciler.catch_up()
    assert len(statuses(store)) == 2


async def test_mutation_moves_ports(
    store: EventStoreApp, commands: FleetCommands, runtime: FakeRuntime, reconciler: Reconciler
) -> None:
    """A mutation re-applies the decky; the new services' ports are recorded."""
    commands.deploy(META, TWO)
    await reconciler.catch_up()
    new = commands.mutate(META, "b").services
    await reconciler.catch_up()
    decky, status, ports = statuses(store)[-1]
    assert (decky, status, set(ports)) == ("b", "running", set(new))


async def test_teardown_removes(
    store: EventStoreApp, commands: FleetCommands, runtime: FakeRuntime, reconciler: Reconciler
) -> None:
    """A torn-down decky is removed from the runtime and forgotten by the reconciler."""
    commands.deploy(META, TWO)
    await reconciler.catch_up()
    commands.tear_down(META, "a")
    await reconciler.catch_up()
    assert set(runtime.deckies) == {"b"}
    assert ("remove", "a") in runtime.calls
    assert "a" not in reconciler.reports


async def test_failure_is_recorded_and_retried(
    store: EventStoreApp, commands: FleetCommands, runtime: FakeRuntime, reconciler: Reconciler
) -> None:
    """A failing apply records `failed` with the reason; a later retry records `running`."""
    runtime.failures["a"] = "address in use"
    runtime.raises["b"] = OSError("engine gone")
    deployed = commands.deploy(META, TWO)
    await reconciler.catch_up()
    settled = await reconciler.settle(deployed.position, deployed.names, wait_s=0.1)
    assert {n: (r.status, r.detail) for n, r in settled.reports.items() if r} == {
        "a": ("failed", "address in use"),
        "b": ("failed", "OSError: engine gone"),
    }
    runtime.failures.clear()
    runtime.raises.clear()
    await reconciler.follow_up()
    assert [s[:2] for s in statuses(store)[-2:]] == [("a", "running"), ("b", "running")]


async def test_pending_waits_then_follows_up(
    store: EventStoreApp, commands: FleetCommands, runtime: FakeRuntime, reconciler: Reconciler
) -> None:
    """A decky still starting makes settle time out; a follow-up records it running later."""
    runtime.states["a"] = "pending"
    deployed = commands.deploy(META, "[a]\nservices = ssh\n")
    await reconciler.catch_up()
    with anyio.fail_after(2):
        settled = await reconciler.settle(deployed.position, deployed.names, wait_s=0.2)
    assert settled.reports["a"] is not None
    assert settled.reports["a"].status == "pending"
    del runtime.states["a"]
    await reconciler.follow_up()
    assert statuses(store)[-1][:2] == ("a", "running")


async def test_restart_brings_the_fleet_back(store: EventStoreApp, commands: FleetCommands) -> None:
    """A new process's reconciler applies every decky at start; unchanged ports write nothing."""
    commands.deploy(META, TWO)
    commands.tear_down(META, "b")
    first = Reconciler(store, commands, FakeRuntime())
    await first.start()
    recorded = len(statuses(store))
    again = FakeRuntime()  # the new process's runtime: empty, same port assignment order
    await Reconciler(store, fleet_commands(store), again).start()
    assert set(again.deckies) == {"a"}
    assert len(statuses(store)) == recorded
    moved = FakeRuntime(first_port=30000)
    await Reconciler(store, fleet_commands(store), moved).start()
    assert statuses(store)[-1] == ("a", "running", {"ssh": 30000, "http": 30001})


async def test_run_follows_saves_until_cancelled(
    store: EventStoreApp, commands: FleetCommands, runtime: FakeRuntime
) -> None:
    """Running, the reconciler is woken by saves and applies them without a manual catch-up."""
    reconciler = Reconciler(store, commands, runtime, poll_s=5.0)
    store.on_saved(reconciler.wake)
    async with anyio.create_task_group() as tg:
        tg.start_soon(reconciler.run)
        await anyio.sleep(0.05)
        deployed = await anyio.to_thread.run_sync(commands.deploy, META, TWO)
        settled = await reconciler.settle(deployed.position, deployed.names, wait_s=2.0)
        tg.cancel_scope.cancel()
    assert all(r is not None and r.status == "running" for r in settled.reports.values())
