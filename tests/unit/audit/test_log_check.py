"""The whole-log check: rows against recorded leaves and signed roots, each change named."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID, uuid5

from domain.audit.evidence import EventRow
from domain.audit.log_check import LeafRecord, LogCheck, SignedRoot, check_log
from domain.audit.merkle import CompactTree

NS = UUID("12345678-1234-5678-1234-567812345678")
TOPIC = "domain.identity.settings:Settings.DeploymentLimitSet"


def _log(count: int, gap_at: int | None = None) -> list[EventRow]:
    """Rows at positions 1..count (skipping `gap_at`, as a rolled-back append leaves)."""
    positions = [p for p in range(1, count + 2) if p != gap_at][:count]
    return [
        EventRow(p, uuid5(NS, str(p)), 1, TOPIC, f'{{"limit":{p}}}'.encode()) for p in positions
    ]


def _recorded(rows: list[EventRow]) -> list[LeafRecord]:
    return [LeafRecord(r.position, r.originator_id, r.originator_version, r.leaf()) for r in rows]


def _signed(rows: list[EventRow], *sizes: int, ok: bool = True) -> list[SignedRoot]:
    roots = []
    for size in sizes:
        tree = CompactTree()
        tree.extend(r.leaf() for r in rows[:size])
        roots.append(SignedRoot(rows[size].position if size < len(rows) else 999, size,
                                tree.root(), ok, "2026-12-05T00:00:00Z"))  # fmt: skip
    return roots


def _check(rows: list[EventRow], recorded: list[LeafRecord], cps: list[SignedRoot]) -> LogCheck:
    by_origin = {(r.originator_id, r.originator_version): r for r in recorded}
    return check_log(rows, recorded, cps, lambda oid, v: by_origin.get((oid, v)))


def test_an_untouched_log_verifies_up_to_its_last_checkpoint() -> None:
    """Given rows as recorded and two checkpoints, then ok, both checked, covered up to 30."""
    rows = _log(40, gap_at=7)
    result = _check(rows, _recorded(rows), _signed(rows, 10, 30))
    assert result.ok
    assert result.checkpoints_checked == 2
    assert result.verified_up_to == rows[29].position
    assert result.events == 40


def test_an_altered_row_is_named() -> None:
    """Given one row's state changed, then its position, `altered`."""
    rows = _log(40)
    recorded, cps = _recorded(rows), _signed(rows, 10, 30)
    rows[17] = replace(rows[17], state=b'{"limit":1000}')
    result = _check(rows, recorded, cps)
    assert result.first_mismatch is not None
    assert (result.first_mismatch.position, result.first_mismatch.kind) == (18, "altered")
    assert result.verified_up_to == 10


def test_a_deleted_row_is_named() -> None:
    """Given one row deleted, then its position, `missing`."""
    rows = _log(40)
    recorded, cps = _recorded(rows), _signed(rows, 30)
    del rows[20]
    result = _check(rows, recorded, cps)
    assert result.first_mismatch is not None
    assert (result.first_mismatch.position, result.first_mismatch.kind) == (21, "missing")


def test_the_last_row_deleted_is_named() -> None:
    """Given the newest recorded row deleted, then its position, `missing`."""
    rows = _log(12)
    recorded = _recorded(rows)
    result = _check(rows[:-1], recorded, [])
    assert result.first_mismatch is not None
    assert (result.first_mismatch.position, result.first_mismatch.kind) == (12, "missing")


def test_two_swapped_rows_are_named_at_the_first() -> None:
    """Given the events at 5 and 9 swapped, then 5, `reordered`, naming 9."""
    rows = _log(20)
    recorded = _recorded(rows)
    a, b = rows[4], rows[8]
    rows[4], rows[8] = replace(b, position=5), replace(a, position=9)
    result = _check(rows, recorded, _signed(_log(20), 15))
    assert result.first_mismatch is not None
    assert (result.first_mismatch.position, result.first_mismatch.kind) == (5, "reordered")
    assert "recorded at position 9" in result.first_mismatch.detail


def test_a_row_inserted_into_a_gap_is_named() -> None:
    """Given a row written into a rolled-back position, then that position, `inserted`."""
    rows = _log(20, gap_at=7)
    recorded = _recorded(rows)
    forged = EventRow(7, uuid5(NS, "forged"), 1, TOPIC, b'{"limit":0}')
    result = _check(sorted([*rows, forged], key=lambda r: r.position), recorded, [])
    assert result.first_mismatch is not None
    assert (result.first_mismatch.position, result.first_mismatch.kind) == (7, "inserted")


def test_rows_beyond_the_recorded_leaves_are_not_a_mismatch() -> None:
    """Given the tree model behind the store, then the newer rows are hashed, not flagged."""
    rows = _log(20)
    result = _check(rows, _recorded(rows[:15]), _signed(rows, 10))
    assert result.ok
    assert result.events == 20


def test_rewritten_leaves_still_fail_the_signed_root_and_bound_the_change() -> None:
    """Given a row and its recorded leaf both rewritten, then the checkpoint names the range."""
    rows = _log(40)
    cps = _signed(rows, 10, 30)
    rows[17] = replace(rows[17], state=b'{"limit":1000}')
    result = _check(rows, _recorded(rows), cps)
    assert result.first_mismatch is not None
    assert (result.first_mismatch.position, result.first_mismatch.kind) == (11, "altered")
    assert "between positions 11 and 30" in result.first_mismatch.detail
    assert result.verified_up_to == 10


def test_a_checkpoint_whose_signature_fails_is_named() -> None:
    """Given a checkpoint with a bad signature, then its event's position, `altered`."""
    rows = _log(40)
    good = _signed(rows, 10)
    bad = [replace(cp, position=33, signature_ok=False) for cp in _signed(rows, 30)]
    result = _check(rows, _recorded(rows), good + bad)
    assert result.first_mismatch is not None
    assert (result.first_mismatch.position, result.first_mismatch.kind) == (33, "altered")
    assert "signature" in result.first_mismatch.detail
    assert "names key" not in result.first_mismatch.detail  # the event named none


def test_a_checkpoint_signed_by_another_key_names_the_key_its_event_records() -> None:
    """Given a checkpoint another key signed, then the report names that key (a misconfigured
    process's key, or a forger's: the auditor compares it with the published one)."""
    rows = _log(40)
    other = "sha256:" + "ab" * 32
    bad = [replace(cp, signature_ok=False, key_fingerprint=other) for cp in _signed(rows, 30)]
    result = _check(rows, _recorded(rows), bad)
    assert result.first_mismatch is not None
    assert result.first_mismatch.detail.endswith(f"(its event names key {other})")


def test_a_checkpoint_of_more_events_than_the_store_holds_is_named() -> None:
    """Given rows deleted from the end and the record rebuilt without them, then `missing`."""
    rows = _log(20)
    cps = _signed(rows, 20)
    result = _check(rows[:15], _recorded(rows[:15]), cps)
    assert result.first_mismatch is not None
    assert (result.first_mismatch.position, result.first_mismatch.kind) == (16, "missing")
