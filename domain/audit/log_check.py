"""Verifying the whole log: recompute every leaf from the stored rows and compare twice.

1. With the leaves the tree model recorded when each event was first appended (position,
   aggregate id and version, leaf hash). These name the first position where the store and the
   record part: `altered` (same event, other bytes), `missing` (a recorded event has no row),
   `inserted` (a row the tree never recorded, before its last leaf) or `reordered` (the row at P
   is the event recorded at Q, moved).
2. With every signed checkpoint: the recomputed tree of the first `tree_size` rows must have the
   signed root, and the signature must hold. This still catches a change when the recorded leaves
   were rewritten too (or rebuilt from tampered rows), but can then only name the range of
   positions between the last checkpoint that holds and the first that does not.

The scan stops at the first mismatch: every later root differs once one leaf does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal
from uuid import UUID

from domain.audit.evidence import EventRow
from domain.audit.merkle import CompactTree

Kind = Literal["altered", "missing", "inserted", "reordered"]


@dataclass(frozen=True, slots=True)
class LeafRecord:
    """What the tree model recorded for one leaf."""

    position: int
    originator_id: UUID
    originator_version: int
    hash: bytes


@dataclass(frozen=True, slots=True)
class SignedRoot:
    """A checkpoint found in the log: its event's position, the tree it signs, whether it holds."""

    position: int
    tree_size: int
    root: bytes
    signature_ok: bool
    signed_at: str = ""
    key_fingerprint: str = ""  # the key its event names (unverified: a hint for the report)


@dataclass(frozen=True, slots=True)
class Mismatch:
    """The first place the store differs from what was recorded and signed."""

    position: int
    kind: Kind
    detail: str


@dataclass(slots=True)
class LogCheck:
    """The outcome of a verification."""

    events: int = 0  # rows hashed
    last_position: int = 0  # the last row hashed
    verified_up_to: int = 0  # the last position covered by a checkpoint that holds
    checkpoints_checked: int = 0
    first_mismatch: Mismatch | None = None
    candidates: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether nothing differs."""
        return self.first_mismatch is None


Locate = Callable[[UUID, int], LeafRecord | None]


class _Scan:
    def __init__(self, checkpoints: Sequence[SignedRoot], locate: Locate) -> None:
        self.result = LogCheck()
        self.tree = CompactTree()
        self.locate = locate
        self.pending = sorted((c for c in checkpoints if c.signature_ok), key=lambda c: c.tree_size)
        for c in checkpoints:
            if not c.signature_ok:
                self.result.candidates.append(
                    Mismatch(
                        c.position,
                        "altered",
                        f"the checkpoint of tree size {c.tree_size}"
                        " here does not carry a valid signature of this instance's key"
                        + (
                            f" (its event names key {c.key_fingerprint})"
                            if c.key_fingerprint
                            else ""
                        ),
                    )
                )
        self.lowest: int | None = self._lowest()
        self.good_size = 0  # the largest checkpoint size that held
        self.range_start = 0  # the position of the first row after it
        self.stopped = False

    def _lowest(self) -> int | None:
        """Scanning beyond the lowest candidate found so far cannot find an earlier one."""
        return min((m.position for m in self.result.candidates), default=None)

    def append(self, row: EventRow, leaf: bytes) -> None:
        if self.tree.size == self.good_size:
            self.range_start = row.position
        self.tree.append(leaf)
        self.result.events += 1
        self.result.last_position = row.position
        if self.pending and self.pending[0].tree_size <= self.tree.size:
            self._compare_roots()

    def _compare_roots(self) -> None:
        while self.pending and self.pending[0].tree_size <= self.tree.size:
            cp = self.pending.pop(0)
            if cp.tree_size < self.tree.size:
                continue  # only a size-0 checkpoint can be passed before the first row
            self.result.checkpoints_checked += 1
            if self.tree.root() == cp.root:
                self.good_size = cp.tree_size
                if cp.tree_size:
                    self.result.verified_up_to = self.result.last_position
                continue
            start = self.range_start if self.tree.size > self.good_size else cp.position
            self.result.candidates.append(
                Mismatch(
                    start,
                    "altered",
                    f"the tree of the first {cp.tree_size} events does not"
                    f" have the root signed at {cp.signed_at or 'its checkpoint'} (position"
                    f" {cp.position}); the change lies between positions {start} and"
                    f" {self.result.last_position}",
                )
            )
            self.stopped = True
            return

    def mismatch(self, found: Mismatch) -> None:
        self.result.candidates.append(found)
        self.stopped = True
        self.lowest = self._lowest()

    def classify(self, row: EventRow, leaf: bytes, recorded: LeafRecord) -> Mismatch:
        """Same position, other leaf: altered in place, or another event moved here."""
        same = (row.originator_id, row.originator_version) == (
            recorded.originator_id,
            recorded.originator_version,
        )
        ident = f"aggregate {row.originator_id} version {row.originator_version}"
        if not same:
            origin = self.locate(row.originator_id, row.originator_version)
            if origin is not None and origin.position != row.position:
                moved = EventRow(
                    origin.position, row.originator_id, row.originator_version, row.topic, row.state
                )
                if moved.leaf() == origin.hash:
                    return Mismatch(
                        row.position,
                        "reordered",
                        f"position {row.position} holds"
                        f" the event recorded at position {origin.position} ({ident})",
                    )
            return Mismatch(
                row.position,
                "altered",
                f"position {row.position} holds {ident};"
                f" the tree recorded aggregate {recorded.originator_id} version"
                f" {recorded.originator_version} there",
            )
        return Mismatch(
            row.position,
            "altered",
            f"the stored bytes of {ident} at position"
            f" {row.position} are not the ones the tree recorded",
        )


def check_log(
    rows: Iterable[EventRow],
    recorded: Iterable[LeafRecord],
    checkpoints: Sequence[SignedRoot],
    locate: Locate,
) -> LogCheck:
    """Recompute the tree from `rows` (position order) against the record and the checkpoints."""
    scan = _Scan(checkpoints, locate)
    scan._compare_roots()  # a checkpoint of the empty tree
    leaves: Iterator[LeafRecord] = iter(recorded)
    expected = next(leaves, None)
    for row in rows:
        if scan.stopped or (scan.lowest is not None and row.position > scan.lowest):
            break
        if expected is not None and expected.position < row.position:
            scan.mismatch(
                Mismatch(
                    expected.position,
                    "missing",
                    f"the event the tree recorded"
                    f" at position {expected.position} (aggregate"
                    f" {expected.originator_id} version"
                    f" {expected.originator_version}) has no row",
                )
            )
            break
        leaf = row.leaf()
        if expected is not None and expected.position == row.position:
            if leaf != expected.hash:
                scan.mismatch(scan.classify(row, leaf, expected))
                break
            expected = next(leaves, None)
        elif expected is not None:  # a row the tree never recorded, before its last leaf
            scan.mismatch(
                Mismatch(
                    row.position,
                    "inserted",
                    f"position {row.position} holds"
                    f" aggregate {row.originator_id} version"
                    f" {row.originator_version}, which the tree never recorded",
                )
            )
            break
        scan.append(row, leaf)
    else:
        if expected is not None and not scan.stopped:
            scan.mismatch(
                Mismatch(
                    expected.position,
                    "missing",
                    f"the event the tree recorded at position {expected.position} has no row",
                )
            )
        for cp in scan.pending:
            if not scan.stopped and cp.tree_size > scan.tree.size:
                scan.mismatch(
                    Mismatch(
                        scan.result.last_position + 1,
                        "missing",
                        f"the checkpoint"
                        f" at position {cp.position} signs {cp.tree_size} events;"
                        f" the store holds {scan.tree.size}",
                    )
                )
    result = scan.result
    if result.candidates:
        result.first_mismatch = min(result.candidates, key=lambda m: m.position)
        result.verified_up_to = min(result.verified_up_to, result.first_mismatch.position - 1)
        result.verified_up_to = max(result.verified_up_to, 0)
    return result
