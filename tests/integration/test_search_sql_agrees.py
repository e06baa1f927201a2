"""The SQL of a search (`where`, over the token and pair indexes) selects exactly what `matches`
does, and a page's total is their number.

Records and words are drawn from an alphabet dense in separators, LIKE wildcards and shared
letters, so words fall inside one token, span separators, start or end at one, or are made of
separators only. ASCII only in the texts words are drawn from: lower-casing is then context-free,
so "substring of the lower-cased text" means the same on both sides. Field terms (exact, case
kept) are drawn from records whose fields hold quotes, backslashes, separators, unicode, case
variants and values on either side of the pair index's digest threshold (ADR 0027).
"""

from __future__ import annotations

import asyncio
import random
import shlex
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from application.observations.ingest import IngestCommands
from application.reads.ports import LogFilter
from domain.observations.records import InteractionRecord
from domain.observations.search import SearchQuery, matches, parse_search
from projections.log_pairs import MAX_PAIR_BYTES, array_literal, pair_entry, pairs_of
from projections.log_tokens import SEPARATORS, pieces_of, tokens_of
from projections.logs_schema import LogTables
from projections.logs_search import (
    NOTHING,
    Dictionary,
    counted,
    dictionary_from,
    dictionary_lookup,
    dictionary_patterns,
    filtered,
    where,
)
from projections.schema import live_schema
from tests.api.harness import fresh_database
from tests.integration.observations_fixtures import BASE_TIME, record
from tests.integration.stores import projected_models

TABLES = LogTables(live_schema("logs"))
ALPHABET = "abAB01._-/%\\" + SEPARATORS + " \t"
_TEXT = st.text(st.sampled_from(ALPHABET), max_size=6)


def _corpus(count: int) -> list[InteractionRecord]:
    rng = random.Random(11)

    def text(size: int) -> str:
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(size)))

    return [
        record(
            i,
            decky=text(6) or "d",
            service=rng.choice(("ssh", "http", "a:b")),
            msg=text(14),
            raw_line=text(20),
            attacker_ip=rng.choice((None, "10.0.0.1", "fe80::1")),
            fields={rng.choice(("user", "a.b", "k-1")): text(6), "seq": str(i)},
        )
        for i in range(count)
    ]


# Keys a field term can name (identifiers, case kept) and keys it cannot (no pair is stored).
AWKWARD_KEYS = ("user", "User", "a.b", "k-1", "_k", "decky", "a b", "1x", "a:b", "")
# Whole entries end at MAX_PAIR_BYTES of UTF-8 (`user:` + 251 bytes); longer ones are digests.
_EDGE = MAX_PAIR_BYTES - len("user:")
AWKWARD_VALUES = (
    "root", "Root", "ROOT", "root ", 'ro"ot', "a\\b", 'a\\"b', '\\"', "x:y", "k#v", "user:x",
    "=,{}[]()", ";'<>", "\t", "é", "É", "日本語", "🙂", "null", "NULL", "", "%", "_",
    "b" * _EDGE, "b" * (_EDGE + 1), "é" * 120, "é" * 130, "x" * 300, "X" * 300, "x" * 300 + "y",
    '"' * 300, "\\" * 300,
)  # fmt: skip


def _fielded(first: int, count: int) -> list[InteractionRecord]:
    rng = random.Random(27)
    return [
        record(
            i,
            msg="fields",
            raw_line="fielded",
            fields={
                **{rng.choice(AWKWARD_KEYS): rng.choice(AWKWARD_VALUES) for _ in range(3)},
                "seq": str(i),
            },
        )
        for i in range(first, first + count)
    ]


# Tokens the array input would misread unquoted: NULL, backslashes.
CORPUS = [
    *_corpus(300),
    record(300, msg="NULL null\\ \\ \\\\x", raw_line="Null"),
    *_fielded(301, 200),
]


async def _project(url: str) -> None:
    async with projected_models(url, ("logs",), batch_size=7) as p:
        await asyncio.to_thread(IngestCommands(p.store).append, CORPUS, [], None)
        await p.runner.catch_up("logs")


@pytest.fixture(scope="module")
def projected(pg_admin_url: str) -> Iterator[psycopg.Connection[Any]]:
    """The corpus projected into the logs model; a connection to query it."""
    with fresh_database(pg_admin_url) as url:
        asyncio.run(_project(url))
        with psycopg.connect(url, autocommit=True) as conn:
            yield conn


def _selected(
    conn: psycopg.Connection[Any], query: SearchQuery, dictionary: Dictionary | None = None
) -> list[int]:
    return _selected_by(conn, LogFilter(query), dictionary)


def _selected_by(
    conn: psycopg.Connection[Any], f: LogFilter, dictionary: Dictionary | None = None
) -> list[int]:
    """The rows as the reader selects them (gathered by their words first when the dictionary
    says they are few)."""
    sql, params = filtered(f, dictionary or TABLES.tokens, TABLES.logs)
    rows = conn.execute(f"SELECT (fields_text::json->>'seq')::int{sql}", params)
    return sorted(int(r[0]) for r in rows.fetchall())


def _counted(
    conn: psycopg.Connection[Any], query: SearchQuery, dictionary: Dictionary | None = None
) -> int:
    """The total a page reports (a lone word's or field term's may come from a dictionary)."""
    return _counted_by(conn, LogFilter(query), dictionary)


def _counted_by(
    conn: psycopg.Connection[Any], f: LogFilter, dictionary: Dictionary | None = None
) -> int:
    row = conn.execute(*counted(f, TABLES, dictionary)).fetchone()
    return int(row[0]) if row else -1


def _looked_up(conn: psycopg.Connection[Any], f: LogFilter) -> Dictionary:
    """The dictionary as the reader looks it up for a filter: broad and void patterns."""
    row = conn.execute(*dictionary_lookup(f, TABLES)).fetchone()
    assert row is not None
    return dictionary_from(TABLES, row)


def _expected(query: SearchQuery, start: int = 0) -> list[int]:
    """The records `matches` accepts (from the `start`-th second's on)."""
    return [i for i, r in enumerate(CORPUS) if matches(query, r) and i >= start]


@st.composite
def _words(draw: st.DrawFn) -> str:
    """A piece of a record's text (often across separators), or made up."""
    if draw(st.booleans()):
        return draw(_TEXT.filter(lambda s: s.strip()))
    r = CORPUS[draw(st.integers(0, 300))]  # ASCII texts (the fielded ones are for field terms)
    text = draw(st.sampled_from([r.msg, r.raw_line, r.decky, str(r.fields)]))
    start = draw(st.integers(0, len(text)))
    word = text[start : draw(st.integers(start, len(text)))]
    return word if word.strip() else "a"


@settings(max_examples=300, deadline=None)
@given(st.lists(_words(), min_size=1, max_size=3))
def test_words_select_what_matches_does(
    projected: psycopg.Connection[Any], words: list[str]
) -> None:
    """Words inside a token, spanning separators or made of them: SQL rows == in-memory rows."""
    query = SearchQuery(words=tuple(w.lower() for w in words))
    assert _selected(projected, query) == _expected(query)
    assert _counted(projected, query) == len(_expected(query))
    lone = SearchQuery(words=(words[0].lower(),))
    assert _counted(projected, lone) == len(_expected(lone))
    # As the reader looks it up (a pattern no token holds: no row), with every pattern matching
    # too many tokens, or an older model without tokens (text only): the same rows.
    broad = Dictionary(TABLES.tokens, frozenset(dictionary_patterns(LogFilter(query))))
    looked_up = _looked_up(projected, LogFilter(query))
    for fallback in (looked_up, broad, Dictionary(TABLES.tokens, absent=True)):
        assert _selected(projected, query, fallback) == _expected(query)
        assert _counted(projected, lone, fallback) == len(_expected(lone))


@st.composite
def _field_term(draw: st.DrawFn) -> tuple[str, str]:
    """A key of a record (or any awkward one) with its value, a near miss of it, or another."""
    r = CORPUS[draw(st.integers(0, len(CORPUS) - 1))]
    key = draw(st.sampled_from([*r.fields, *AWKWARD_KEYS]))
    own = r.fields.get(key, "")
    value = draw(
        st.sampled_from(
            [own, own.swapcase(), own[:-1], own[1:], own + "x", *AWKWARD_VALUES, draw(_TEXT)]
        )
    )
    return key, value


# The fallbacks: a model without pairs (v7), and one without tokens either (v6).
def _fallbacks() -> tuple[Dictionary, ...]:
    return (Dictionary(TABLES.tokens, pairs=False), Dictionary(TABLES.tokens, absent=True))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(_field_term(), min_size=1, max_size=3),
    st.sampled_from([None, ("service", "ssh"), ("decky", "decky-01")]),
    st.sampled_from([None, "fields", "a"]),
    st.sampled_from([0, 0, 350]),
)
def test_field_terms_select_what_matches_does(
    projected: psycopg.Connection[Any],
    fields: list[tuple[str, str]],
    column: tuple[str, str] | None,
    word: str | None,
    start: int,
) -> None:
    """Field terms with awkward keys and values, alone or with a column term, a word or a time
    range: SQL rows == in-memory rows, and the total is their number, on every model version."""
    query = SearchQuery(
        columns=(column,) if column else (), fields=tuple(fields), words=(word,) if word else ()
    )
    f = LogFilter(query, start=BASE_TIME + timedelta(seconds=start) if start else None)
    expected = _expected(query, start)
    looked_up = _looked_up(projected, f)
    for dictionary in (Dictionary(TABLES.tokens), looked_up, *_fallbacks()):
        assert _selected_by(projected, f, dictionary) == expected
        assert _counted_by(projected, f, dictionary) == len(expected)


@settings(max_examples=200, deadline=None)
@given(_field_term())
def test_a_lone_field_term_counts_from_the_dictionary(
    projected: psycopg.Connection[Any], term: tuple[str, str]
) -> None:
    """A lone `key:value` as the search language parses it: same rows, exact total (from the
    pair dictionary when the pair is stored whole), with or without the pair index."""
    key, value = term
    query = parse_search(shlex.quote(f"{key}:{value}")) if value else SearchQuery()
    expected = _expected(query)
    for dictionary in (Dictionary(TABLES.tokens), *_fallbacks()):
        assert _selected(projected, query, dictionary) == expected
        assert _counted(projected, query, dictionary) == len(expected)
    entry = pair_entry(key, value)
    if query.fields and entry is not None and entry[1]:
        assert "log_pairs" in counted(LogFilter(query), TABLES)[0]


def test_pairs_are_stored_exactly_and_digested_past_the_threshold(
    projected: psycopg.Connection[Any],
) -> None:
    """Each record's `pairs` column is its identifier-keyed fields, whole up to MAX_PAIR_BYTES
    of UTF-8 and digested beyond; the dictionary counts the rows holding each."""
    rows = projected.execute(
        f"SELECT (fields_text::json->>'seq')::int, pairs FROM {TABLES.logs}"
    ).fetchall()
    assert {seq: stored for seq, stored in rows} == {
        i: pairs_of(r.fields) for i, r in enumerate(CORPUS)
    }
    counts: dict[str, int] = {}
    for r in CORPUS:
        for entry in pairs_of(r.fields):
            counts[entry] = counts.get(entry, 0) + 1
    assert dict(projected.execute(f"SELECT pair, count FROM {TABLES.pairs}").fetchall()) == counts
    whole = pair_entry("user", "b" * _EDGE)
    digest = pair_entry("user", "b" * (_EDGE + 1))
    assert whole == ("user:" + "b" * _EDGE, True)
    assert digest is not None
    assert digest[0].startswith("user#")
    assert not digest[1]
    assert pair_entry("a b", "x") is None
    assert pair_entry("a:b", "c") is None
    assert array_literal([]) == "{}"


def _scans_of_logs(plan: dict[str, Any]) -> int:
    """How many times an executed plan read the logs table (its nodes' loops)."""
    loops = plan["Actual Loops"] if plan.get("Relation Name") == "logs" else 0
    return loops + sum(_scans_of_logs(child) for child in plan.get("Plans", ()))


@pytest.mark.parametrize("search", ["qzxv", "qzxv root", "root.qzxv", "qzxv.root", "x:y qzxv"])
def test_a_word_no_token_holds_matches_nothing_without_reading_the_rows(
    projected: psycopg.Connection[Any], search: str
) -> None:
    """A typo is answered from the dictionary: its page statement never reads the logs table
    (before, the newest-first walk tested every row's tokens against an empty array)."""
    f = LogFilter(parse_search(search))
    dictionary = _looked_up(projected, f)
    assert dictionary.void
    sql, params = where(f, dictionary)
    assert NOTHING in sql
    assert _selected_by(projected, f, dictionary) == _expected(f.query) == []
    assert _counted_by(projected, f, dictionary) == 0
    page = f"SELECT id FROM {TABLES.logs}{sql} ORDER BY ts DESC, id DESC LIMIT 50"
    explained = projected.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {page}", params).fetchone()
    assert explained is not None
    assert _scans_of_logs(explained[0][0]["Plan"]) == 0


def test_a_few_rows_are_gathered_by_their_words_and_filtered_by_the_rest(
    projected: psycopg.Connection[Any],
) -> None:
    """A filter whose words few rows hold gathers those rows through the token index alone,
    behind a fence, and tests the column, field and time terms on them: PostgreSQL no longer
    ANDs the few rows with a common column's or pair's index (`service:ssh pw179` read the
    125,000 `ssh` entries to keep 72 rows: 45 ms at 1,000,000 rows, 2 ms gathered). The same
    rows as `matches` either way."""
    i, word = next(
        (i, tokens[0]) for i, r in enumerate(CORPUS)
        if r.service == "ssh" and (tokens := tokens_of(r.msg.lower()))
    )  # fmt: skip
    query = f"service:ssh seq:{i} {shlex.quote(word)}"
    f = LogFilter(parse_search(query), start=BASE_TIME, end=BASE_TIME + timedelta(days=1))
    dictionary = _looked_up(projected, f)
    assert dictionary.rare
    sql, params = filtered(f, dictionary, TABLES.logs, "id > %s")
    fence = sql.index(" OFFSET 0) AS rare")
    inside, outside = sql[:fence], sql[fence:]
    assert "tokens &&" in inside
    for condition in ("service = %s", "pairs @>", "ts >= %s", "ts <= %s", "id > %s"):
        assert condition in outside
        assert condition not in inside
    walked = filtered(f, Dictionary(TABLES.tokens), TABLES.logs)[0]
    assert "AS rare" not in walked
    expected = [i for i in _expected(f.query) if _in_day(i)]
    assert i in expected
    assert _selected_by(projected, f, dictionary) == expected
    assert _selected_by(projected, f, Dictionary(TABLES.tokens)) == expected
    assert _counted_by(projected, f, dictionary) == len(expected)
    assert len(params) == sql.count("%s") - 1  # the caller's `id > %s` comes last


def _in_day(i: int) -> bool:
    ts = CORPUS[i].timestamp
    return BASE_TIME <= ts <= BASE_TIME + timedelta(days=1)


@pytest.mark.parametrize("word", ["null", "null\\", "\\", "\\\\x", "ull"])
def test_tokens_needing_quotes_are_stored_as_they_are(
    projected: psycopg.Connection[Any], word: str
) -> None:
    """A token spelled `null` or holding a backslash is stored as itself and found."""
    query = SearchQuery(words=(word,))
    assert 300 in _selected(projected, query)
    assert _selected(projected, query) == _expected(query)


def test_tokens_are_the_separator_free_runs() -> None:
    """Tokens are distinct, never empty, hold no separator, and rebuild the text's runs."""
    text = 'a "b":c,,d  e\x1fa{b}=x;y'
    assert tokens_of(text) == ["a", "b", "c", "d", "e", "x", "y"]
    assert pieces_of("abc") is None
    pieces = pieces_of('"user":"root x"')
    assert pieces is not None
    assert (pieces.first, pieces.inner, pieces.last) == ("", ("user", "root", "x"), "")
