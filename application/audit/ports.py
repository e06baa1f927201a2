"""What the tamper-evidence services read and sign with (projections and infrastructure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from domain.audit.checkpoint import Checkpoint, SignedCheckpoint


@dataclass(frozen=True, slots=True)
class TreeHead:
    """The tree model now: its size and root, the size after its last non-checkpoint event."""

    size: int
    root: bytes
    content_size: int
    last_position: int  # the position of the newest leaf (0 when empty)


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A signed checkpoint as the log holds it, at the position of its event."""

    position: int
    tree_size: int
    root_hash: str
    signed_at: str
    signature: str
    key_fingerprint: str

    def signed(self) -> SignedCheckpoint:
        """The checkpoint and signature (CheckpointError if the stored text is malformed)."""
        return SignedCheckpoint(
            Checkpoint(self.tree_size, self.root_hash, self.signed_at), self.signature
        )


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """The audit path of one event's leaf in the tree of the first `tree_size` leaves."""

    position: int
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    audit_path: list[bytes]
    root: bytes


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """The proof that the tree of `first` leaves is a prefix of the tree of `second`."""

    first: int
    second: int
    first_root: bytes
    second_root: bytes
    proof: list[bytes]


class TreeReader(Protocol):
    """The tree read model."""

    async def head(self) -> TreeHead:
        """The tree now."""
        ...

    async def latest_checkpoint(self) -> StoredCheckpoint | None:
        """The checkpoint of the largest tree, if any."""
        ...

    async def root_at(self, size: int) -> bytes:
        """The root of the tree of the first `size` leaves (size ≤ the tree's)."""
        ...


class Signer(Protocol):
    """Signs checkpoints with the instance's key."""

    def sign(self, checkpoint: Checkpoint) -> SignedCheckpoint:
        """The checkpoint with its signature."""
        ...

    def fingerprint(self) -> str:
        """`sha256:<hex>` of the public key."""
        ...
