"""The SQL of a search (`where`, over the token index) selects exactly what `matches` does.

Records and words are drawn from an alphabet dense in separators, LIKE wildcards and shared
letters, so words fall inside one token, span separators, start or end at one, or are made of
separators only; field terms carry separators and quotes in their values. ASCII only: lower-casing
is then context-free, so "substring of the lower-cased text" means the same on both sides.
"""

from __future__ import annotations

import asyncio
import random
import shlex
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from application.observations.ingest import IngestCommands
from application.reads.ports import LogFilter
from domain.observations.records import InteractionRecord
from domain.observations.search import SearchQuery, matches, parse_search
from projections.log_tokens import SEPARATORS, pieces_of, tokens_of
from projections.logs_queries import Dictionary, counted, dictionary_patterns, where
from projections.logs_schema import LogTables
from projections.schema import live_schema
from tests.api.harness import fresh_database
from tests.integration.observations_fixtures import record
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


# Tokens the array input would misread unquoted: NULL, backslashes.
CORPUS = [*_corpus(300), record(300, msg="NULL null\\ \\ \\\\x", raw_line="Null")]


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
    sql, params = where(LogFilter(query), dictionary or TABLES.tokens)
    rows = conn.execute(f"SELECT (fields_text::json->>'seq')::int FROM {TABLES.logs}{sql}", params)
    return sorted(int(r[0]) for r in rows.fetchall())


def _counted(
    conn: psycopg.Connection[Any], query: SearchQuery, dictionary: Dictionary | None = None
) -> int:
    """The total a page reports (a lone word's may come from the dictionary's counts)."""
    row = conn.execute(*counted(LogFilter(query), TABLES, dictionary)).fetchone()
    return int(row[0]) if row else -1


def _expected(query: SearchQuery) -> list[int]:
    return [i for i, r in enumerate(CORPUS) if matches(query, r)]


@st.composite
def _words(draw: st.DrawFn) -> str:
    """A piece of a record's text (often across separators), or made up."""
    if draw(st.booleans()):
        return draw(_TEXT.filter(lambda s: s.strip()))
    r = CORPUS[draw(st.integers(0, len(CORPUS) - 1))]
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
    # Patterns matching too many tokens, or an older model without tokens: text only, same rows.
    broad = Dictionary(TABLES.tokens, frozenset(dictionary_patterns(LogFilter(query))))
    for fallback in (broad, Dictionary(TABLES.tokens, absent=True)):
        assert _selected(projected, query, fallback) == _expected(query)
        assert _counted(projected, lone, fallback) == len(_expected(lone))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_field_terms_select_what_matches_does(
    projected: psycopg.Connection[Any], data: st.DataObject
) -> None:
    """`key:value`, with a record's own value or a made-up one: SQL rows == in-memory rows."""
    r = CORPUS[data.draw(st.integers(0, len(CORPUS) - 1))]
    key = data.draw(st.sampled_from([*r.fields, "user"]))
    value = data.draw(st.sampled_from([r.fields.get(key, ""), data.draw(_TEXT)]))
    query = parse_search(shlex.quote(f"{key}:{value}")) if value else SearchQuery()
    assert _selected(projected, query) == _expected(query)
    assert _selected(projected, query, Dictionary(TABLES.tokens, absent=True)) == _expected(query)


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
