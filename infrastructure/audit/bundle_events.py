"""Checking events.jsonl against proofs.json and the checkpoint: each leaf rebuilt, none trusted."""

from __future__ import annotations

import re
from typing import Any

from domain.audit.canonical import event_leaf_hash
from domain.audit.checkpoint import Checkpoint
from domain.audit.evidence import candidate_roots, excerpt_leaf
from domain.audit.verify import verify_inclusion
from infrastructure.audit.bundle_format import (
    EVENTS,
    PROOFS,
    BundleFormatError,
    EventEntry,
    EventProof,
    loads,
    parse_event,
    parse_proofs,
)
from infrastructure.audit.report import VerificationReport

_HEX64 = re.compile(r"[0-9a-f]{64}")


def check_events(
    events: bytes, proofs: bytes, checkpoint: Checkpoint, report: VerificationReport
) -> set[str]:
    """Verify every event and record; return the artifact hashes the verified records name."""
    entries = _entries(events, report)
    by_position = _proofs(proofs, checkpoint, report)
    referenced: set[str] = set()
    last_index = -1
    for entry in entries:
        proof = by_position.pop(entry.position, None)
        if proof is None:
            report.fail(PROOFS, "missing_proof", "no audit path for this event", entry.position)
            continue
        if proof.leaf_index <= last_index:
            report.fail(PROOFS, "order", "leaf indices must grow with positions", entry.position)
        last_index = max(last_index, proof.leaf_index)
        referenced |= _check_one(entry, proof, checkpoint, report)
    for position in by_position:
        report.fail(PROOFS, "unexpected_proof", "no event in events.jsonl has it", position)
    return referenced


def _entries(data: bytes, report: VerificationReport) -> list[EventEntry]:
    if data and not data.endswith(b"\n"):
        report.fail(EVENTS, "malformed", "the last line does not end in a newline")
    entries: list[EventEntry] = []
    for number, line in enumerate(data.split(b"\n")[:-1] if data else [], start=1):
        try:
            entry = parse_event(loads(line))
        except BundleFormatError as e:
            report.fail(EVENTS, "malformed", f"line {number}: {e}")
            continue
        if entries and entry.position <= entries[-1].position:
            report.fail(EVENTS, "order", f"line {number}: positions must increase", entry.position)
            continue
        entries.append(entry)
    return entries


def _proofs(
    data: bytes, checkpoint: Checkpoint, report: VerificationReport
) -> dict[int, EventProof]:
    try:
        tree_size, proofs = parse_proofs(loads(data))
    except BundleFormatError as e:
        report.fail(PROOFS, "malformed", str(e))
        return {}
    if tree_size != checkpoint.tree_size:
        report.fail(
            PROOFS, "tree_size", f"{tree_size} is not the checkpoint's {checkpoint.tree_size}"
        )
    by_position: dict[int, EventProof] = {}
    for proof in proofs:
        if proof.position in by_position:
            report.fail(PROOFS, "duplicate", "two audit paths for one event", proof.position)
        by_position[proof.position] = proof
    return by_position


def _check_one(
    entry: EventEntry, proof: EventProof, checkpoint: Checkpoint, report: VerificationReport
) -> set[str]:
    head = (entry.position, entry.originator_id, entry.originator_version, entry.topic)
    size, root = checkpoint.tree_size, checkpoint.root
    if entry.batch is None:
        assert entry.state is not None, "parse_event gives a state or a batch"
        leaf = event_leaf_hash(*head, entry.state)
        if verify_inclusion(leaf, proof.leaf_index, size, proof.audit_path, root):
            report.events += 1
        else:
            _not_in_tree(entry, report)
        return set()
    part = entry.batch
    indices = [r.index for r in part.records]
    if indices != sorted(set(indices)):
        report.fail(EVENTS, "malformed", "record indices must increase", entry.position)
        return set()
    if part.records_count and not part.records:
        report.fail(
            EVENTS, "unbound", "a batch excerpt without records proves nothing", entry.position
        )
        return set()
    for records_root, proven in candidate_roots(part).items():
        leaf = excerpt_leaf(*head, part, records_root)
        if verify_inclusion(leaf, proof.leaf_index, size, proof.audit_path, root):
            report.events += 1
            return _proven_records(entry, set(proven), report)
    _not_in_tree(entry, report)
    return set()


def _not_in_tree(entry: EventEntry, report: VerificationReport) -> None:
    report.fail(
        EVENTS, "not_in_tree", "the rebuilt leaf and its audit path miss the checkpoint root",
        entry.position,
    )  # fmt: skip


def _proven_records(entry: EventEntry, proven: set[int], report: VerificationReport) -> set[str]:
    assert entry.batch is not None
    referenced: set[str] = set()
    for record in entry.batch.records:
        if record.index not in proven:
            detail = f"record {record.index} does not lead to the batch's records root"
            report.fail(EVENTS, "record_proof", detail, entry.position)
            continue
        report.records += 1
        referenced |= _artifact_hashes(record.record)
    return referenced


def _artifact_hashes(record: Any) -> set[str]:
    """The `fields.sha256` a captured-file record names."""
    fields = record.get("fields") if isinstance(record, dict) else None
    digest = fields.get("sha256") if isinstance(fields, dict) else None
    return {digest} if isinstance(digest, str) and _HEX64.fullmatch(digest) else set()
