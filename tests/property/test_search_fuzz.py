"""Fuzzing the search language parser and the in-memory matcher."""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from application.reads.rows import LogRow
from domain.observations.records import InteractionRecord
from domain.observations.search import (
    COLUMN_KEYS,
    SearchQuery,
    fields_text,
    matches,
    parse_search,
)

FUZZ = settings(max_examples=400, deadline=None)

_QUOTY = st.lists(
    st.one_of(
        st.sampled_from(['"', "'", "\\", ":", " ", "decky:", "a", "::1"]), st.text(max_size=3)
    ),
    max_size=20,
).map("".join)
_TEXT = st.text(max_size=20)
# ASCII keeps lower-casing context-free, so "substring of" survives lower-casing both sides.
_ASCII = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20)


@st.composite
def _records(draw: st.DrawFn, text: st.SearchStrategy[str] = _TEXT) -> InteractionRecord:
    return InteractionRecord(
        timestamp=datetime(2026, 4, 18, tzinfo=UTC),
        decky=draw(text),
        service=draw(text),
        event_type=draw(text),
        attacker_ip=draw(st.none() | text),
        msg=draw(text),
        fields=draw(st.dictionaries(text, text, max_size=4)),
        raw_line=draw(text),
    )


@FUZZ
@given(st.one_of(st.none(), st.text(), _QUOTY))
def test_parse_search_never_raises(text: str | None) -> None:
    """Any input parses into a well-formed query of non-empty terms."""
    query = parse_search(text)
    assert all(
        column in {"decky", "service", "event_type", "attacker_ip"} for column, _ in query.columns
    )
    assert all(key and value for key, value in query.fields)
    assert all(word and word == word.lower() for word in query.words)
    assert query.is_empty == (not (query.columns or query.fields or query.words))


@FUZZ
@given(st.one_of(st.text(), _QUOTY), _records())
def test_matches_never_raises(text: str, record: InteractionRecord) -> None:
    """Matching any query against any record returns a bool; the empty query matches all."""
    query = parse_search(text)
    assert isinstance(matches(query, record), bool)
    assert matches(SearchQuery(), record)


@FUZZ
@given(
    _records(_ASCII.filter(lambda s: s.strip() != "")),
    st.sampled_from(["event", "event_type"]),
)
def test_a_records_own_columns_match_it(record: InteractionRecord, event_key: str) -> None:
    """Quoting a record's decky, service and event type as column terms finds the record."""
    text = " ".join(
        shlex.quote(f"{key}:{value}")
        for key, value in (
            ("decky", record.decky),
            ("service", record.service),
            (event_key, record.event_type),
        )
    )
    assert matches(parse_search(text), record)


@FUZZ
@given(st.sampled_from(sorted(COLUMN_KEYS)), _ASCII.filter(lambda s: s.strip() != ""))
def test_column_keys_name_log_columns(key: str, value: str) -> None:
    """Every column key maps to a `/logs` column, and a column's own name maps to itself."""
    column = COLUMN_KEYS[key]
    assert column in LogRow.__struct_fields__
    assert COLUMN_KEYS[column] == column
    query = parse_search(shlex.quote(f"{key}:{value}"))
    assert [c for c, _ in query.columns] == [column]


@FUZZ
@given(_records(_ASCII), st.data())
def test_any_substring_of_msg_is_a_matching_word(
    record: InteractionRecord, data: st.DataObject
) -> None:
    """A colon-free, non-blank substring of msg, in any case, matches as a bare word."""
    start = data.draw(st.integers(min_value=0, max_value=len(record.msg)))
    end = data.draw(st.integers(min_value=start, max_value=len(record.msg)))
    word = record.msg[start:end]
    assume(word.strip() and ":" not in word)
    assert matches(parse_search(shlex.quote(word.swapcase())), record)


@FUZZ
@given(st.dictionaries(st.text(), st.text(), max_size=5))
def test_fields_text_is_json_of_the_fields(fields: dict[str, str]) -> None:
    """fields_text decodes back to the same mapping in the same key order."""
    assert list(json.loads(fields_text(fields)).items()) == list(fields.items())
