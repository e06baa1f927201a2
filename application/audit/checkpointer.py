"""Signs the tree's root at least every 10,000 events or 60 s while events arrive.

The checkpoint is appended to the store as an event (`audit.checkpoint_signed`), so it survives
any rebuild of the tree model and `verify` can compare the recomputed tree with every one. A
checkpoint is itself a leaf; the tree is signed again only once an event that is not a
checkpoint has arrived, so an idle instance does not sign its own checkpoints forever.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import anyio
import anyio.to_thread
import structlog

from application.audit.ports import Signer, StoredCheckpoint, TreeHead, TreeReader
from application.store import EventStoreApp, IntegrityError
from domain.audit.checkpoint import Checkpoint, SignedCheckpoint
from domain.history.tamper import TreeCheckpoint
from domain.shared.errors import ConflictError

log = structlog.get_logger()
EVERY_EVENTS = 10_000
EVERY_S = 60.0
POLL_S = 1.0
Clock = Callable[[], datetime]


class TreeInconsistentError(ConflictError):
    """The tree model's root at the last checkpoint's size is not the signed one: never sign."""


class ForeignKeyError(ConflictError):
    """The history's last checkpoint was signed by another key than this process's: never sign
    (a history signed by two keys verifies under neither)."""


def key_mismatch(latest: StoredCheckpoint | None, fingerprint: str) -> str | None:
    """Why this process's key (`fingerprint`) may not sign after `latest`, or None if it may."""
    if latest is None or latest.key_fingerprint == fingerprint:
        return None
    return (
        f"the history's checkpoints are signed by key {latest.key_fingerprint}; this process"
        f" holds {fingerprint}: give every process the same key file (DECNET_SIGNING_KEY_FILE)"
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Checkpointer:
    """Decides when the tree is due a signature, signs it and appends the checkpoint event."""

    def __init__(
        self,
        store: EventStoreApp,
        tree: TreeReader,
        signer: Signer,
        every_events: int = EVERY_EVENTS,
        every_s: float = EVERY_S,
        clock: Clock = _now,
    ) -> None:
        self._store = store
        self._tree = tree
        self._signer = signer
        self.every_events = every_events
        self.every_s = every_s
        self._clock = clock
        self._refused: str | None = None  # why the last due checkpoint was not signed

    async def due(self) -> TreeHead | None:
        """The tree head to sign now, or None when the latest checkpoint is recent enough."""
        head = await self._tree.head()
        latest = await self._tree.latest_checkpoint()
        if latest is None:
            return head if head.content_size > 0 else None
        if head.content_size <= latest.tree_size:
            return None  # nothing but checkpoints since the last one
        if head.size - latest.tree_size >= self.every_events:
            return head
        elapsed = (self._clock() - _parse(latest.signed_at)).total_seconds()
        return head if elapsed >= self.every_s else None

    async def tick(self) -> SignedCheckpoint | None:
        """Sign the tree if it is due; the checkpoint signed, if any."""
        head = await self.due()
        if head is None:
            return None
        try:
            signed = await self._sign(head)
        except (TreeInconsistentError, ForeignKeyError) as e:
            if str(e) != self._refused:  # once per reason, not once a poll
                log.error("checkpoint_refused", error=str(e))
            self._refused = str(e)
            return None
        self._refused = None
        return signed

    async def covering(self, leaf_index: int) -> SignedCheckpoint:
        """The latest checkpoint if it covers `leaf_index`, else a fresh one of the tree now."""
        latest = await self._tree.latest_checkpoint()
        mismatch = key_mismatch(latest, self._signer.fingerprint())
        if mismatch is not None:  # a bundle carries one key: the manifest's and the checkpoint's
            raise ForeignKeyError(mismatch)
        if latest is not None and latest.tree_size > leaf_index:
            return latest.signed()
        head = await self._tree.head()
        if head.size <= leaf_index:
            raise LookupError(f"the tree ({head.size} leaves) does not hold leaf {leaf_index} yet")
        return await self._sign(head)

    async def _sign(self, head: TreeHead) -> SignedCheckpoint:
        await self._check_consistent(head)
        signed = self._signer.sign(Checkpoint.at(head.size, head.root, self._clock()))
        event = TreeCheckpoint.record(signed, self._signer.fingerprint())
        try:
            position = await anyio.to_thread.run_sync(self._store.save_all, event)
        except IntegrityError:
            # Another process signed this size first; its checkpoint is as good as ours.
            log.info("checkpoint_already_signed", tree_size=head.size)
            return signed
        log.info("checkpoint_signed", tree_size=head.size, position=position)
        return signed

    async def _check_consistent(self, head: TreeHead) -> None:
        """A new checkpoint must extend the last one: signed by the same key, and its tree holds
        the signed tree as a prefix.

        The tree model can be rebuilt from the store; if rows were changed before that, the new
        model would otherwise have its tampered root signed, laundering the change. A process
        started with another key (its own data directory, no shared key file) would make a
        history that verifies under no key, which `verify` reports as altered.
        """
        latest = await self._tree.latest_checkpoint()
        mismatch = key_mismatch(latest, self._signer.fingerprint())
        if mismatch is not None:
            raise ForeignKeyError(mismatch)
        if latest is None or latest.tree_size > head.size:
            return
        if (await self._tree.root_at(latest.tree_size)).hex() != latest.root_hash:
            raise TreeInconsistentError(
                f"the tree of the first {latest.tree_size} events no longer has the root signed"
                f" at {latest.signed_at}; nothing is signed until `decnet audit verify` holds"
            )

    async def run(self) -> None:
        """Sign whenever due, until cancelled."""
        while True:
            try:
                await self.tick()
            except Exception as e:  # the database may be briefly away; retry on the next poll
                log.warning("checkpoint_not_signed", error=f"{type(e).__name__}: {e}")
            await anyio.sleep(POLL_S)
