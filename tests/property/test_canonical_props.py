"""Canonical bytes are a function of every input, and the streaming leaf hash agrees with them."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.audit.canonical import (
    BATCH_TOPIC,
    _split_compact,
    batch_tail,
    canonical_event_bytes,
    event_leaf_hash,
    header,
    records_root,
    split_batch,
)
from domain.audit.jcs import canonical_json
from domain.audit.merkle import CompactTree, leaf_hash, merkle_root_of

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


compact_states = st.lists(json_values, max_size=8).map(
    lambda recs: {"timestamp": "2026-01-01T00:00:00Z", "records": recs, "n": 1}
)


@settings(max_examples=400, deadline=None)
@given(value=compact_states, ascii_only=st.booleans())
def test_a_compact_state_splits_as_the_standard_library_parses_it(
    value: dict[str, Any], ascii_only: bool
) -> None:
    """States as the store writes them (compact JSON) take the msgspec path when they can; the
    rest, the records' leaves and root are those of the exact parse, whatever the records hold."""
    state = json.dumps(value, separators=(",", ":"), ensure_ascii=ascii_only).encode(
        "utf-8", "surrogatepass"
    )
    batch = split_batch(BATCH_TOPIC, state)
    try:
        parsed = json.loads(state)
    except ValueError:  # a lone surrogate in UTF-8: not JSON, kind 0x00
        assert batch is None
        return
    assert batch is not None
    records = parsed.pop("records")
    assert canonical_json(batch.rest) == canonical_json(parsed)
    assert batch.record_leaves() == [leaf_hash(canonical_json(r)) for r in records]
    assert batch.records_root() == records_root(records)


@settings(max_examples=200, deadline=None)
@given(recs=st.lists(st.dictionaries(st.text(max_size=3), json_values, max_size=3), max_size=4))
def test_a_compact_state_written_by_msgspec_takes_the_fast_path_exactly(
    recs: list[dict[str, Any]],
) -> None:
    """msgspec's own output (the store's) gives the records' exact JCS leaves."""
    try:
        state = msgspec.json.encode({"records": recs, "timestamp": "t"})
    except UnicodeEncodeError:  # a lone surrogate: msgspec cannot write it, nor can the store
        return
    batch = split_batch(BATCH_TOPIC, state)
    assert batch is not None
    records = json.loads(state)["records"]
    assert batch.record_leaves() == [leaf_hash(canonical_json(r)) for r in records]


def test_duplicate_names_in_a_compact_state_make_it_kind_0() -> None:
    """The C path does not hide a duplicate name: the batch is not split."""
    for state in (
        b'{"records":[{"a":"1","a":"2"}],"t":"x"}',
        b'{"records":[],"t":"x","t":"y"}',
        b'{"records":[{"fields":{"k":"1","k":"1"}}]}',
    ):
        assert split_batch(BATCH_TOPIC, state) is None


def test_msgspec_escapes_every_code_point_as_the_standard_library() -> None:
    """`plain_json` relies on it: one string of every code point but the surrogates."""
    text = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    assert msgspec.json.encode(text) == json.dumps(text, ensure_ascii=False).encode()
    names = {chr(c): c for c in range(128)}
    assert msgspec.json.encode(names, order="sorted") == json.dumps(
        names, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode("utf-8")


@settings(max_examples=100, deadline=None)
@given(count=st.integers(min_value=0, max_value=300))
def test_the_list_root_equals_the_compact_tree(count: int) -> None:
    """`merkle_root_of` (one level at a time) is the compact tree's RFC 6962 root."""
    leaves = [leaf_hash(i.to_bytes(2, "big")) for i in range(count)]
    tree = CompactTree()
    tree.extend(leaves)
    assert merkle_root_of(leaves) == tree.root()


def test_the_store_s_own_states_take_the_c_path() -> None:
    """A batch as msgspec writes it (strings, integers, nulls) is split without the hooks."""
    state = msgspec.json.encode(
        {"timestamp": "t", "records": [{"msg": 'a"\\\x01\x7f', "fields": {"n": "1"}, "ip": None}]}
    )
    batch = _split_compact(state)
    assert batch is not None
    assert batch.plain
    assert batch.record_leaves() == [leaf_hash(canonical_json(batch.records[0]))]
