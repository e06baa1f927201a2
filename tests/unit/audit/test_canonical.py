"""Canonical event bytes: the documented layout, batch records under their own root, totality."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from hashlib import sha256
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.audit.canonical import (
    BATCH_TOPIC,
    canonical_event_bytes,
    event_leaf_hash,
    record_leaves,
    records_root,
    split_batch,
)
from domain.audit.jcs import canonical_json
from domain.audit.merkle import leaf_hash, merkle_root
from domain.observations.batch import InteractionBatch, JournalSpan
from domain.observations.records import InteractionRecord
from infrastructure.eventstore.mapper import MsgspecMapper

OID = UUID("12345678-1234-5678-1234-567812345678")
TOPIC = "domain.fleet.fleet:Fleet.DeckyDeployed"


def _batch_state(records: list[dict[str, object]]) -> bytes:
    return json.dumps(
        {"timestamp": "2026-12-05T03:50:30Z", "originator_topic": "x", "records": records,
         "rejected": [], "span": {"journal": "j", "first_offset": 0, "end_offset": 9}}
    ).encode()  # fmt: skip


RECORDS: list[dict[str, object]] = [
    {"timestamp": "2026-01-01T00:00:00Z", "decky": "d1", "attacker_ip": "10.0.0.1", "fields": {}},
    {"timestamp": "2026-01-01T00:00:01Z", "decky": "d2", "attacker_ip": "10.0.0.2", "fields": {}},
    {"timestamp": "2026-01-01T00:00:02Z", "decky": "d1", "attacker_ip": None, "fields": {"u": "é"}},
]


def test_the_batch_topic_is_the_stored_topic_of_interactions_observed() -> None:
    """The constant is what the event store writes for a batch."""
    assert get_topic(InteractionBatch.InteractionsObserved) == BATCH_TOPIC


def test_a_plain_event_has_the_documented_layout() -> None:
    """Tag, position, id, version, topic and stored state, each as the docstring says."""
    state = b'{"timestamp":"2026-01-01T00:00:00Z","name":"decky-01"}'
    got = canonical_event_bytes(7, OID, 3, TOPIC, state)
    expected = (
        b"decnet.event.v1\n"
        + (7).to_bytes(8, "big")
        + OID.bytes
        + (3).to_bytes(8, "big")
        + len(TOPIC).to_bytes(8, "big")
        + TOPIC.encode()
        + b"\x00"
        + len(state).to_bytes(8, "big")
        + state
    )
    assert got == expected
    assert event_leaf_hash(7, OID, 3, TOPIC, state) == sha256(b"\x00" + expected).digest()


def test_a_batch_commits_to_its_rest_and_a_root_over_its_records() -> None:
    """Kind 0x01: JCS of the state without records, the record count, the records root."""
    state = _batch_state(RECORDS)
    got = canonical_event_bytes(9, OID, 1, BATCH_TOPIC, state)
    rest = json.loads(state)
    del rest["records"]
    rest_bytes = canonical_json(rest)
    leaves = [sha256(b"\x00" + canonical_json(r)).digest() for r in RECORDS]
    root = merkle_root(leaves)
    head = b"decnet.event.v1\n" + (9).to_bytes(8, "big") + OID.bytes + (1).to_bytes(8, "big")
    head += len(BATCH_TOPIC).to_bytes(8, "big") + BATCH_TOPIC.encode()
    tail = b"\x01" + len(rest_bytes).to_bytes(8, "big") + rest_bytes
    assert got == head + tail + (3).to_bytes(8, "big") + root
    assert record_leaves(RECORDS) == leaves
    assert records_root(RECORDS) == root
    assert event_leaf_hash(9, OID, 1, BATCH_TOPIC, state) == leaf_hash(got)


def test_a_real_stored_batch_is_kind_batch() -> None:
    """The mapper's bytes of an InteractionBatch split into its records and the rest."""
    record = InteractionRecord(
        datetime(2026, 1, 1, tzinfo=UTC), "d1", "ssh", "auth", "1.2.3.4", "m", {"u": "r"}, "raw"
    )
    event = InteractionBatch.observe([record], [], JournalSpan("j", 0, 10)).collect_events()[0]
    stored = MsgspecMapper().to_stored_event(event)
    batch = split_batch(stored.topic, stored.state)
    assert batch is not None
    assert batch.records == [json.loads(stored.state)["records"][0]]
    assert set(batch.rest) == {"timestamp", "originator_topic", "rejected", "span"}


def test_every_field_and_every_record_changes_the_leaf() -> None:
    """Position, id, version, topic, any record, record order and the rest are all bound."""
    state = _batch_state(RECORDS)
    base = event_leaf_hash(9, OID, 1, BATCH_TOPIC, state)
    changed = [
        event_leaf_hash(10, OID, 1, BATCH_TOPIC, state),
        event_leaf_hash(9, UUID(int=OID.int ^ 1), 1, BATCH_TOPIC, state),
        event_leaf_hash(9, OID, 2, BATCH_TOPIC, state),
        event_leaf_hash(9, OID, 1, BATCH_TOPIC + "x", state),
        event_leaf_hash(9, OID, 1, BATCH_TOPIC, _batch_state([RECORDS[1], RECORDS[0]])),
        event_leaf_hash(9, OID, 1, BATCH_TOPIC, _batch_state(RECORDS[:2])),
        event_leaf_hash(9, OID, 1, BATCH_TOPIC, _batch_state([*RECORDS[:2], {"x": 1}])),
        event_leaf_hash(9, OID, 1, BATCH_TOPIC, state.replace(b'"j"', b'"k"')),
    ]
    assert len({base, *changed}) == len(changed) + 1


def test_a_batch_binds_meaning_not_whitespace() -> None:
    """Re-encoding a batch's JSON with other spacing or member order gives the same bytes."""
    state = _batch_state(RECORDS)
    respaced = json.dumps(json.loads(state), indent=2, sort_keys=True).encode()
    assert canonical_event_bytes(9, OID, 1, BATCH_TOPIC, respaced) == canonical_event_bytes(
        9, OID, 1, BATCH_TOPIC, state
    )


def test_unusual_batch_states_fall_back_to_the_stored_bytes() -> None:
    """Bad UTF-8, bad JSON, duplicate names, NaN or no records array: kind 0x00, never an error."""
    for state in (
        b"\xff\xfe",
        b"{not json",
        b'{"records": [], "records": []}',
        b'{"records": [NaN]}',
        b'{"records": {}}',
        b"[1, 2]",
        b"",
    ):
        assert split_batch(BATCH_TOPIC, state) is None
        got = canonical_event_bytes(1, OID, 1, BATCH_TOPIC, state)
        assert got.endswith(b"\x00" + len(state).to_bytes(8, "big") + state)
        assert event_leaf_hash(1, OID, 1, BATCH_TOPIC, state) == leaf_hash(got)


def test_other_topics_are_never_split() -> None:
    """A records array under another topic is just stored bytes."""
    assert split_batch(TOPIC, _batch_state(RECORDS)) is None


def test_negative_numbers_do_not_break_the_encoding() -> None:
    """A tampered row with a negative version still has canonical bytes (two's complement)."""
    got = canonical_event_bytes(1, OID, -1, TOPIC, b"{}")
    assert (-1).to_bytes(8, "big", signed=True) in got
