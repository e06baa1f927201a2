"""When the checkpointer signs, what it appends, and the checkpoint an export gets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from structlog.testing import capture_logs

from application.audit.checkpointer import Checkpointer, ForeignKeyError, TreeInconsistentError
from application.audit.ports import StoredCheckpoint, TreeHead
from application.store import EventStoreApp
from domain.history.tamper import TreeCheckpoint, checkpoint_id
from infrastructure.audit.signing import SigningKey

MEMORY_STORE = {
    "PERSISTENCE_MODULE": "eventsourcing.popo",
    "MAPPER_TOPIC": "infrastructure.eventstore.mapper:MsgspecMapper",
}
T0 = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
ROOT = bytes(range(32))


class FakeTree:
    """The tree model: a head and the checkpoints the store holds."""

    def __init__(self, store: EventStoreApp) -> None:
        self.store = store
        self.tree = TreeHead(0, ROOT, 0, 0)
        self.rewritten_below: int | None = None  # sizes up to this have another root now

    async def head(self) -> TreeHead:
        return self.tree

    async def root_at(self, size: int) -> bytes:
        if self.rewritten_below is not None and size <= self.rewritten_below:
            return bytes(32)
        return ROOT

    async def latest_checkpoint(self) -> StoredCheckpoint | None:
        found = [n for n in self.store.read(0, 1000) if n.topic.endswith("TreeCheckpoint.Signed")]
        if not found:
            return None
        event = self.store.mapper.to_domain_event(found[-1])
        return StoredCheckpoint(
            found[-1].id, event.tree_size, event.root_hash, event.signed_at, event.signature,
            event.key_fingerprint,
        )  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def world() -> tuple[Checkpointer, FakeTree, Clock, SigningKey]:
    store = EventStoreApp(env=MEMORY_STORE)
    tree, clock, key = FakeTree(store), Clock(), SigningKey.generate()
    return (
        Checkpointer(store, tree, key, every_events=100, every_s=60, clock=clock),
        tree,
        clock,
        key,
    )


World = tuple[Checkpointer, FakeTree, Clock, SigningKey]


@pytest.mark.anyio
async def test_an_empty_tree_is_not_signed(world: World) -> None:
    """Given no event, when ticking, then nothing is signed."""
    checkpointer, _, _, _ = world
    assert await checkpointer.tick() is None


@pytest.mark.anyio
async def test_the_first_events_are_signed_and_the_checkpoint_is_an_event(world: World) -> None:
    """Given events and no checkpoint, when ticking, then a verifiable checkpoint is appended."""
    checkpointer, tree, _, key = world
    tree.tree = TreeHead(7, ROOT, 7, 7)
    signed = await checkpointer.tick()
    assert signed is not None
    assert (signed.checkpoint.tree_size, signed.checkpoint.root) == (7, ROOT)
    assert key.public_key().verify_message(signed.checkpoint.message(), signed.signature)
    stored = tree.store.repository.get(checkpoint_id(7))
    assert isinstance(stored, TreeCheckpoint)
    assert (stored.signature, stored.key_fingerprint) == (signed.signature, key.fingerprint())


@pytest.mark.anyio
async def test_a_recent_checkpoint_waits_for_time_or_count(world: World) -> None:
    """Given a checkpoint 10 s old and a few events since, not due; at 60 s or 100 events, due."""
    checkpointer, tree, clock, _ = world
    tree.tree = TreeHead(7, ROOT, 7, 7)
    await checkpointer.tick()
    tree.tree = TreeHead(20, ROOT, 20, 20)
    clock.now = T0 + timedelta(seconds=10)
    assert await checkpointer.tick() is None
    tree.tree = TreeHead(107, ROOT, 107, 107)
    assert (await checkpointer.due()) is not None
    tree.tree = TreeHead(20, ROOT, 20, 20)
    clock.now = T0 + timedelta(seconds=60)
    signed = await checkpointer.tick()
    assert signed is not None
    assert signed.checkpoint.tree_size == 20


@pytest.mark.anyio
async def test_only_checkpoints_since_the_last_one_are_not_signed_again(world: World) -> None:
    """Given nothing but the checkpoint itself arrived, then an idle tree is never re-signed."""
    checkpointer, tree, clock, _ = world
    tree.tree = TreeHead(7, ROOT, 7, 7)
    await checkpointer.tick()
    tree.tree = TreeHead(8, ROOT, 7, 8)  # the checkpoint is leaf 7
    clock.now = T0 + timedelta(hours=1)
    assert await checkpointer.tick() is None


@pytest.mark.anyio
async def test_an_export_gets_the_latest_checkpoint_or_a_fresh_one(world: World) -> None:
    """Given a checkpoint of 7 events, then leaf 6 uses it and leaf 9 gets one of the tree now."""
    checkpointer, tree, _, _ = world
    tree.tree = TreeHead(7, ROOT, 7, 7)
    first = await checkpointer.tick()
    tree.tree = TreeHead(12, ROOT, 12, 12)
    assert await checkpointer.covering(6) == first
    fresh = await checkpointer.covering(9)
    assert fresh.checkpoint.tree_size == 12
    with pytest.raises(LookupError):
        await checkpointer.covering(12)


@pytest.mark.anyio
async def test_a_size_another_process_signed_first_is_not_an_error(world: World) -> None:
    """Given the same size signed twice, then the second append collides quietly."""
    checkpointer, tree, clock, _ = world
    tree.tree = TreeHead(7, ROOT, 7, 7)
    await checkpointer.tick()
    clock.now = T0 + timedelta(seconds=61)
    tree.tree = TreeHead(7, ROOT, 9, 7)  # as if the latest checkpoint were older
    again = await checkpointer._sign(tree.tree)
    assert again.checkpoint.tree_size == 7


@pytest.mark.anyio
async def test_a_tree_that_no_longer_extends_the_last_checkpoint_is_never_signed(
    world: World,
) -> None:
    """Given the tree model rebuilt from changed rows, then no checkpoint launders the change."""
    checkpointer, tree, clock, _ = world
    tree.tree = TreeHead(7, ROOT, 7, 7)
    await checkpointer.tick()
    tree.tree = TreeHead(30, ROOT, 30, 30)
    tree.rewritten_below = 7
    clock.now = T0 + timedelta(minutes=5)
    assert await checkpointer.tick() is None
    with pytest.raises(TreeInconsistentError):
        await checkpointer.covering(20)
    assert (await tree.latest_checkpoint()) is not None
    assert (await tree.latest_checkpoint()).tree_size == 7  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_a_process_with_another_key_signs_nothing_and_says_so_once(world: World) -> None:
    """Given a history signed by one key, when a process holding another key is due to sign,
    then it signs nothing (a history signed by two keys verifies under neither), logs why once
    however often it polls, and refuses an export's checkpoint."""
    checkpointer, tree, clock, key = world
    tree.tree = TreeHead(7, ROOT, 7, 7)
    await checkpointer.tick()
    other = SigningKey.generate()
    stranger = Checkpointer(tree.store, tree, other, every_events=100, every_s=60, clock=clock)
    tree.tree = TreeHead(30, ROOT, 30, 30)
    clock.now = T0 + timedelta(minutes=5)
    with capture_logs() as logged:
        for _ in range(3):
            assert await stranger.tick() is None
    refused = [e for e in logged if e["event"] == "checkpoint_refused"]
    assert len(refused) == 1
    assert key.fingerprint() in refused[0]["error"]
    assert other.fingerprint() in refused[0]["error"]
    with pytest.raises(ForeignKeyError):
        await stranger.covering(3)  # covered by the latest checkpoint, but not this key's
    latest = await tree.latest_checkpoint()
    assert latest is not None
    assert (latest.tree_size, latest.key_fingerprint) == (7, key.fingerprint())
    # the right key signs on
    assert (await checkpointer.tick()) is not None
