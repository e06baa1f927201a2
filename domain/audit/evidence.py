"""Evidence excerpts: one stored event, or some records of a batch, provable against a tree root.

A batch excerpt holds the batch's state without its records (`rest`), the record count, and
some records each with its RFC 6962 audit path in the batch's records tree. The verifier folds
each record into the records root, rebuilds the event's canonical bytes and leaf from that, and
never needs (or trusts) a stated hash.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.audit.canonical import (
    batch_tail,
    canonical_event_bytes,
    event_leaf_hash,
    header,
    split_batch,
)
from domain.audit.errors import ProofError
from domain.audit.jcs import canonical_json
from domain.audit.merkle import EMPTY_ROOT, leaf_hash
from domain.audit.proofs import inclusion_proof, subtrees_from_leaves
from domain.audit.verify import root_from_inclusion


@dataclass(frozen=True, slots=True)
class EventRow:
    """One stored event as the store holds it."""

    position: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes

    def canonical_bytes(self) -> bytes:
        """The event's canonical bytes."""
        return canonical_event_bytes(
            self.position, self.originator_id, self.originator_version, self.topic, self.state
        )

    def leaf(self) -> bytes:
        """The event's leaf hash in the event tree."""
        return event_leaf_hash(
            self.position, self.originator_id, self.originator_version, self.topic, self.state
        )


@dataclass(frozen=True, slots=True)
class ProvenRecord:
    """A record, its index in its batch and its audit path in the batch's records tree."""

    index: int
    record: Any
    proof: list[bytes]


@dataclass(frozen=True, slots=True)
class BatchExcerpt:
    """A batch event with only some of its records, each proven."""

    rest: dict[str, Any]
    records_count: int
    records: list[ProvenRecord]


def excerpt(row: EventRow, keep: Callable[[Any], bool]) -> BatchExcerpt | None:
    """The batch cut down to the records `keep` accepts (None when the row is not a batch)."""
    batch = split_batch(row.topic, row.state)
    if batch is None:
        return None
    subtree = subtrees_from_leaves(batch.record_leaves())
    count = len(batch.records)
    proven = [
        ProvenRecord(i, record, inclusion_proof(i, count, subtree))
        for i, record in enumerate(batch.records)
        if keep(record)
    ]
    return BatchExcerpt(batch.rest, count, proven)


def record_root(part: BatchExcerpt, record: ProvenRecord) -> bytes:
    """The records root one proven record leads to (ProofError on a malformed proof)."""
    leaf = leaf_hash(canonical_json(record.record))
    return root_from_inclusion(leaf, record.index, part.records_count, record.proof)


def candidate_roots(part: BatchExcerpt) -> dict[bytes, list[int]]:
    """Each records root the excerpt's records lead to, with the indices leading there."""
    if part.records_count == 0 and not part.records:
        return {EMPTY_ROOT: []}
    roots: dict[bytes, list[int]] = {}
    for record in part.records:
        try:
            roots.setdefault(record_root(part, record), []).append(record.index)
        except ProofError:
            continue  # a malformed proof leads nowhere: its record is reported as unproven
    return roots


def excerpt_leaf(
    position: int, originator_id: UUID, originator_version: int, topic: str,
    part: BatchExcerpt, root: bytes,
) -> bytes:  # fmt: skip
    """The batch event's leaf hash rebuilt from an excerpt and a records root."""
    head = header(position, originator_id, originator_version, topic)
    return leaf_hash(head + batch_tail(canonical_json(part.rest), part.records_count, root))
