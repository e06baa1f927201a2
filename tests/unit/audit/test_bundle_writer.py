"""The writer refuses exports that would not verify, and keeps odd states byte-exact."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest

from domain.audit.canonical import record_leaves
from domain.audit.checkpoint import Checkpoint
from domain.audit.evidence import EventRow, candidate_roots, excerpt
from domain.audit.verify import verify_inclusion
from infrastructure.audit.bundle import BundleError, BundleWriter
from infrastructure.audit.bundle_format import EVENTS
from infrastructure.audit.bundle_verify import verify_bundle
from infrastructure.audit.signing import SigningKey
from tests.unit.audit.bundle_fixtures import ATTACKER, OTHERS, EventLog, build_log, by_attacker

WHEN = datetime(2026, 11, 2, tzinfo=UTC)


def _writer(log: EventLog, key: SigningKey) -> BundleWriter:
    signed = key.sign(Checkpoint.at(log.tree.size, log.tree.root(), WHEN))
    return BundleWriter(key, signed, {"attacker_ip": ATTACKER})


def _batch_row(log: EventLog) -> EventRow:
    return next(r for r in log.rows if r.topic.endswith("InteractionsObserved"))


def test_a_checkpoint_signed_by_another_key_is_refused() -> None:
    """The writer signs the manifest with the checkpoint's key, so they must match."""
    log = build_log()
    signed = SigningKey.generate().sign(Checkpoint.at(log.tree.size, log.tree.root(), WHEN))
    with pytest.raises(BundleError, match="not signed by this key"):
        BundleWriter(SigningKey.generate(), signed, {})


def test_an_event_that_does_not_reach_the_root_is_refused() -> None:
    """A wrong leaf index, a wrong path or a changed row is caught at export time."""
    log, key = build_log(), SigningKey.generate()
    writer = _writer(log, key)
    row = log.rows[0]
    path = log.audit_path(row.position, log.tree.size)
    with pytest.raises(BundleError, match="is not leaf 1"):
        writer.add_event(row, 1, path)
    changed = EventRow(row.position, row.originator_id, 2, row.topic, row.state)
    with pytest.raises(BundleError, match="is not leaf 0"):
        writer.add_event(changed, 0, path)
    writer.add_event(row, 0, path)
    with pytest.raises(BundleError, match="already in the bundle"):
        writer.add_event(row, 0, path)


def test_a_batch_with_none_of_the_subjects_records_is_refused() -> None:
    """An excerpt without records would prove nothing."""
    log, key = build_log(), SigningKey.generate()
    row = _batch_row(log)
    index = log.leaf_index[row.position]
    path = log.audit_path(row.position, log.tree.size)
    with pytest.raises(BundleError, match="no record of this batch"):
        _writer(log, key).add_event(row, index, path, lambda record: False)
    assert _writer(log, key).add_event(row, index, path, by_attacker) == 4
    assert _writer(log, key).add_event(row, index, path) == 10


def test_an_artifact_with_another_hash_is_refused(tmp_path: Path) -> None:
    """The stated SHA-256 must be the file's."""
    artifact = tmp_path / "a"
    artifact.write_bytes(b"abc")
    writer = _writer(build_log(), SigningKey.generate())
    with pytest.raises(BundleError, match="has SHA-256"):
        writer.add_artifact(artifact, "00" * 32)


def test_a_state_that_is_not_utf8_travels_as_base64(tmp_path: Path) -> None:
    """Stored bytes that are not text go in `state_b64` and still verify byte-exact."""
    log, key = EventLog(), SigningKey.generate()
    rows = [EventRow(p, UUID(int=p), 1, "t:T", b"\xff\x00" + bytes([p])) for p in (3, 8, 9)]
    for row in rows:
        log.append(row)
    writer = _writer(log, key)
    writer.add_event(rows[1], 1, log.audit_path(8, 3))
    out = io.BytesIO()
    writer.write(out)
    path = tmp_path / "b.zip"
    path.write_bytes(out.getvalue())
    report = verify_bundle(path)
    assert report.ok, report.lines()
    with zipfile.ZipFile(path) as zf:
        (line,) = [json.loads(x) for x in zf.read(EVENTS).splitlines()]
    assert line["state_b64"] == "/wAI"


def test_an_excerpt_proves_each_kept_record_against_the_full_batch() -> None:
    """Kept records' proofs fold to the root over all records; others are not in the excerpt."""
    row = _batch_row(build_log())
    part = excerpt(row, by_attacker)
    assert part is not None
    assert [r.index for r in part.records] == [0, 3, 6, 9]
    assert all(r.record["attacker_ip"] == ATTACKER for r in part.records)
    full = excerpt(row, lambda record: True)
    assert full is not None
    assert not {r.record["attacker_ip"] for r in part.records} & set(OTHERS)
    (root,) = candidate_roots(full)
    assert candidate_roots(part) == {root: [0, 3, 6, 9]}
    record = part.records[0]
    (leaf,) = record_leaves([record.record])
    assert verify_inclusion(leaf, record.index, part.records_count, record.proof, root)
