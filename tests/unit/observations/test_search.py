"""The log search language: parsing and in-memory matching."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from domain.observations.records import InteractionRecord
from domain.observations.search import SearchQuery, fields_text, matches, parse_search

RECORD = InteractionRecord(
    timestamp=datetime(2026, 4, 18, 2, 22, 56, tzinfo=UTC),
    decky="decky-01",
    service="ssh",
    event_type="auth_attempt",
    attacker_ip="10.0.0.5",
    msg="Failed password for root",
    fields={"username": "root", "password": "Hunter 2"},
    raw_line="<134>1 2026-04-18T02:22:56Z decky-01 ssh - auth_attempt - RAWONLY",
)


@pytest.mark.parametrize("text", [None, "", "   ", "null", "undefined"])
def test_not_given_is_the_empty_query(text: str | None) -> None:
    """None, blank, "null" and "undefined" all mean no filter."""
    query = parse_search(text)
    assert query == SearchQuery()
    assert query.is_empty
    assert query.only_columns


def test_column_terms_map_to_column_names() -> None:
    """decky, service, event, attacker and attacker_ip keys become column terms."""
    query = parse_search("decky:d1 service:ssh event:login attacker:1.2.3.4 attacker_ip:::1")
    assert query.columns == (
        ("decky", "d1"),
        ("service", "ssh"),
        ("event_type", "login"),
        ("attacker_ip", "1.2.3.4"),
        ("attacker_ip", "::1"),
    )
    assert query.only_columns
    assert not query.is_empty


@pytest.mark.parametrize("column", ["decky", "service", "event_type", "attacker_ip"])
def test_every_log_column_name_is_a_column_key(column: str) -> None:
    """Each column as `/logs` rows spell it is a column term, not a fields lookup."""
    query = parse_search(f"{column}:10.0.0.5")
    assert query.columns == ((column, "10.0.0.5"),)
    assert query.fields == ()


def test_event_type_and_event_are_the_same_term() -> None:
    """`event_type:X` and its alias `event:X` parse to the same query and match alike."""
    assert parse_search("event_type:auth_attempt") == parse_search("event:auth_attempt")
    assert matches(parse_search("event_type:auth_attempt"), RECORD)
    assert not matches(parse_search("event_type:auth"), RECORD)


def test_attacker_ip_value_is_canonicalised() -> None:
    """An IPv6 attacker term is compared in the collector's canonical form."""
    assert parse_search("attacker:2001:DB8:0::1").columns == (("attacker_ip", "2001:db8::1"),)
    # An IPv4 address mapped into IPv6 is the IPv4 attacker the collector records.
    assert parse_search("attacker:::ffff:1.2.3.4").columns == (("attacker_ip", "1.2.3.4"),)


def test_other_keys_are_field_terms_and_words_are_lowercased() -> None:
    """Unknown key:value pairs are field equality; bare words are stored lower-cased."""
    query = parse_search("username:root Failed")
    assert query.fields == (("username", "root"),)
    assert query.words == ("failed",)
    assert not query.only_columns


def test_quotes_group_words_and_value_keeps_inner_colons() -> None:
    """Shell quotes keep spaces inside one term; only the first colon splits key from value."""
    query = parse_search("password:'Hunter 2' \"two words\" url:http://x:80/")
    assert query.fields == (("password", "Hunter 2"), ("url", "http://x:80/"))
    assert query.words == ("two words",)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (":foo", (":foo",)),
        ("foo:", ("foo:",)),
        ("12:30", ("12:30",)),
        ("fe80::1", ("fe80::1",)),
        ("::1", ("::1",)),
    ],
)
def test_tokens_that_are_not_key_value_are_words(text: str, words: tuple[str, ...]) -> None:
    """Empty keys or values, non-identifier keys and IP addresses are bare words."""
    assert parse_search(text) == SearchQuery(words=words)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('service:"ssh', SearchQuery(columns=(("service", "ssh"),))),
        ("msg 'open quote here", SearchQuery(words=("msg", "open quote here"))),
        ("trailing\\", SearchQuery(words=("trailing\\",))),
        ('"ends in backslash\\', SearchQuery(words=("ends in backslash\\",))),
        ("\"\"  ''", SearchQuery()),
    ],
)
def test_unbalanced_quotes_run_to_the_end(text: str, expected: SearchQuery) -> None:
    """An unterminated quote closes at the end of the text; a trailing backslash is literal."""
    assert parse_search(text) == expected


def test_repeated_terms_are_kept_once() -> None:
    """A term said twice (a word in any case, a column or field term) is one condition, not two:
    the SQL does the work of each, so `x x x ...` must not cost a thousand scans."""
    query = parse_search("x X x decky:d1 decky:d1 user:root user:root " + "x " * 1000)
    assert query == SearchQuery(
        columns=(("decky", "d1"),), fields=(("user", "root"),), words=("x",)
    )
    assert parse_search("a b a") == SearchQuery(words=("a", "b"))


def test_nul_characters_are_dropped() -> None:
    """NUL never reaches a term, since stored text cannot contain it."""
    assert parse_search("ro\x00ot") == SearchQuery(words=("root",))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", True),
        ("decky:decky-01 service:ssh event:auth_attempt attacker:10.0.0.5", True),
        ("decky:decky-02", False),
        ("decky:DECKY-01", False),
        ("event:auth", False),
        ("attacker:10.0.0.6", False),
        ("username:root", True),
        ("username:ROOT", False),
        ("missing:root", False),
        ("'password:Hunter 2'", True),
        ("failed PASSWORD", True),
        ("failed nothere", False),
        ("rawonly", True),
        ("DECKY-0", True),
        ("10.0.0", True),
        ("hunter", True),
        ('\'"username":"root"\'', True),  # a word over the fields JSON text
        ("auth_attempt", True),  # found through raw_line, not event_type
    ],
)
def test_matches(text: str, expected: bool) -> None:
    """Columns and fields compare exactly; words are case-insensitive substrings."""
    assert matches(parse_search(text), RECORD) is expected


def test_words_do_not_search_event_type_column() -> None:
    """A bare word is not matched against event_type (the SPEC's column list excludes it)."""
    record = replace(RECORD, raw_line="", msg="")
    assert not matches(parse_search("auth_attempt"), record)


def test_words_do_not_match_across_column_boundaries() -> None:
    """A word spanning the end of one column and the start of another does not match."""
    record = replace(RECORD, msg="abc", raw_line="def", fields={})
    assert not matches(parse_search("cdef"), record)


def test_missing_attacker_never_matches_an_attacker_term() -> None:
    """A record without attacker_ip fails every attacker term."""
    record = replace(RECORD, attacker_ip=None)
    assert not matches(parse_search("attacker:10.0.0.5"), record)


def test_fields_text_is_compact_ordered_utf8_json() -> None:
    """fields_text is compact JSON in insertion order, without \\u escapes for non-ASCII."""
    assert fields_text({"b": "é", "a": 'q"'}) == '{"b":"é","a":"q\\""}'
    assert fields_text({}) == "{}"
