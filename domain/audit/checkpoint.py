"""Checkpoints: a tree size, its root and a time, as the text an Ed25519 signature covers.

The signed message is four lines of UTF-8, each ending in one LF, nothing else:

    decnet-es checkpoint v1
    tree_size <decimal, no leading zeros>
    root_hash <64 lowercase hex digits>
    timestamp <YYYY-MM-DDTHH:MM:SS[.ffffff]Z>
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.audit.errors import CheckpointError

CHECKPOINT_TITLE = "decnet-es checkpoint v1"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
_SIGNATURE = re.compile(r"[A-Za-z0-9+/]{86}==")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The tree of the first `tree_size` events had root `root_hash` (hex) at `timestamp`."""

    tree_size: int
    root_hash: str
    timestamp: str

    def __post_init__(self) -> None:
        if type(self.tree_size) is not int or self.tree_size < 0:
            raise CheckpointError("tree_size must be a non-negative integer")
        if not isinstance(self.root_hash, str) or not _HEX64.fullmatch(self.root_hash):
            raise CheckpointError("root_hash must be 64 lowercase hex digits")
        if not isinstance(self.timestamp, str) or not _TIMESTAMP.fullmatch(self.timestamp):
            raise CheckpointError("timestamp must be ISO-8601 UTC with a Z suffix")

    @classmethod
    def at(cls, tree_size: int, root: bytes, when: datetime) -> Checkpoint:
        """A checkpoint of `root` (32 bytes) at `when` (an aware datetime)."""
        text = when.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"
        return cls(tree_size, root.hex(), text)

    @property
    def root(self) -> bytes:
        """The root hash as bytes."""
        return bytes.fromhex(self.root_hash)

    def message(self) -> bytes:
        """The exact bytes a signature covers."""
        return (
            f"{CHECKPOINT_TITLE}\ntree_size {self.tree_size}\n"
            f"root_hash {self.root_hash}\ntimestamp {self.timestamp}\n"
        ).encode()


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint and its Ed25519 signature (standard base64 of 64 bytes)."""

    checkpoint: Checkpoint
    signature: str

    def __post_init__(self) -> None:
        if not isinstance(self.signature, str) or not _SIGNATURE.fullmatch(self.signature):
            raise CheckpointError("signature must be the base64 of 64 bytes")

    def to_json(self) -> dict[str, Any]:
        """The `checkpoint.json` / API form."""
        cp = self.checkpoint
        return {
            "tree_size": cp.tree_size,
            "root_hash": cp.root_hash,
            "timestamp": cp.timestamp,
            "signature": self.signature,
        }

    @classmethod
    def from_json(cls, value: Any) -> SignedCheckpoint:
        """Parse the `to_json` form, exactly those four members (CheckpointError otherwise)."""
        if not isinstance(value, dict) or set(value) != {
            "tree_size",
            "root_hash",
            "timestamp",
            "signature",
        }:
            raise CheckpointError("a checkpoint has tree_size, root_hash, timestamp, signature")
        checkpoint = Checkpoint(value["tree_size"], value["root_hash"], value["timestamp"])
        return cls(checkpoint, value["signature"])
