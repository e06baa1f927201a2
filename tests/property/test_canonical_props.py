"""Canonical bytes are a function of every input, and the streaming leaf hash agrees with them."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.audit.canonical import (
    BATCH_TOPIC,
    batch_tail,
    canonical_event_bytes,
    event_leaf_hash,
    header,
    records_root,
    split_batch,
)
from domain.audit.jcs import canonical_json
from domain.audit.merkle import leaf_hash

events = st.tuples(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.uuids(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([BATCH_TOPIC, "domain.fleet.fleet:Fleet.Created", "é"]),
    st.binary(max_size=64),
)
records = st.lists(
    st.dictionaries(st.sampled_from(["decky", "attacker_ip", "msg"]), st.text(max_size=8)),
    max_size=20,
)


@settings(max_examples=300, deadline=None)
@given(a=events, b=events)
def test_leaf_hash_equals_the_hash_of_the_canonical_bytes(
    a: tuple[int, UUID, int, str, bytes], b: tuple[int, UUID, int, str, bytes]
) -> None:
    """The streaming leaf is SHA-256(0x00 ‖ bytes); different rows give different bytes."""
    assert event_leaf_hash(*a) == leaf_hash(canonical_event_bytes(*a))
    if a != b:
        assert canonical_event_bytes(*a) != canonical_event_bytes(*b)


@settings(max_examples=200, deadline=None)
@given(recs=records, offset=st.integers(min_value=0, max_value=2**40), oid=st.uuids())
def test_a_batch_rebuilt_from_its_parts_has_the_same_bytes(
    recs: list[dict[str, Any]], offset: int, oid: UUID
) -> None:
    """What a verifier holds (rest, count, records root) rebuilds the stored batch's bytes."""
    rest = {"timestamp": "2026-01-01T00:00:00Z", "span": {"first_offset": offset}}
    state = json.dumps({**rest, "records": recs}).encode()
    rebuilt = header(5, oid, 1, BATCH_TOPIC) + batch_tail(
        canonical_json(rest), len(recs), records_root(recs)
    )
    assert canonical_event_bytes(5, oid, 1, BATCH_TOPIC, state) == rebuilt


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(recs=st.lists(json_values, max_size=8))
def test_the_batch_fast_path_hashes_records_exactly_as_jcs(recs: list[Any]) -> None:
    """Whatever a batch holds (floats, non-ASCII names, lone surrogates), the parser's fast
    path gives each record the leaf of its exact RFC 8785 bytes."""
    state = json.dumps({"timestamp": "t", "records": recs}).encode()
    batch = split_batch(BATCH_TOPIC, state)
    assert batch is not None
    parsed = json.loads(state)["records"]
    assert batch.record_leaves() == [leaf_hash(canonical_json(r)) for r in parsed]
    assert batch.records_root() == records_root(parsed)
