"""Signed tree checkpoints and evidence exports are events, so they outlive any read model.

A checkpoint is its own one-event aggregate whose id derives from the tree size it signs, so two
processes signing the same size collide in the store instead of writing it twice. Checkpoints are
leaves of the tree like every other event: the tree a checkpoint signs holds the events *before*
it (`tree_size` ≤ its own leaf index). An evidence export records who took which attacker's
evidence, against which signed tree size.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate

from domain.audit.checkpoint import SignedCheckpoint
from domain.shared.meta import CommandMeta

CHECKPOINT_NAMESPACE = uuid5(NAMESPACE_URL, "https://decnet-es/tree-checkpoints")


def checkpoint_id(tree_size: int) -> UUID:
    """The one aggregate id a checkpoint of this tree size can have."""
    return uuid5(CHECKPOINT_NAMESPACE, str(tree_size))


class TreeCheckpoint(Aggregate):
    """`{tree_size, root_hash, timestamp}` and its Ed25519 signature (docs/forensics.md)."""

    class Signed(Aggregate.Created):
        tree_size: int
        root_hash: str
        signed_at: str  # the signed timestamp text, exactly as signed
        signature: str
        key_fingerprint: str

    def __init__(
        self, tree_size: int, root_hash: str, signed_at: str, signature: str, key_fingerprint: str
    ) -> None:
        self.tree_size = tree_size
        self.root_hash = root_hash
        self.signed_at = signed_at
        self.signature = signature
        self.key_fingerprint = key_fingerprint

    @classmethod
    def record(cls, signed: SignedCheckpoint, key_fingerprint: str) -> TreeCheckpoint:
        """The event recording a signed checkpoint."""
        cp = signed.checkpoint
        return cls._create(
            cls.Signed,
            id=checkpoint_id(cp.tree_size),
            tree_size=cp.tree_size,
            root_hash=cp.root_hash,
            signed_at=cp.timestamp,
            signature=signed.signature,
            key_fingerprint=key_fingerprint,
        )


class EvidenceExport(Aggregate):
    """One export of an attacker's evidence bundle: an audited act."""

    class Exported(Aggregate.Created):
        meta: CommandMeta
        attacker_uuid: str
        attacker_ip: str
        tree_size: int
        events: int
        records: int
        artifacts: int

    def __init__(
        self,
        meta: CommandMeta,
        attacker_uuid: str,
        attacker_ip: str,
        tree_size: int,
        events: int,
        records: int,
        artifacts: int,
    ) -> None:
        self.attacker_uuid = attacker_uuid

    @classmethod
    def record(
        cls,
        meta: CommandMeta,
        attacker_uuid: str,
        attacker_ip: str,
        tree_size: int,
        counts: tuple[int, int, int],
    ) -> EvidenceExport:
        """The event recording one export (events, records, artifacts it held)."""
        events, records, artifacts = counts
        return cls._create(
            cls.Exported,
            id=uuid4(),
            meta=meta,
            attacker_uuid=attacker_uuid,
            attacker_ip=attacker_ip,
            tree_size=tree_size,
            events=events,
            records=records,
            artifacts=artifacts,
        )
