"""The SQL of the search language on the logs model (same semantics as `search.matches`).

Column terms compare columns; a field term looks its pair up in the key/value index (ADR 0027);
a word looks in the token index (ADR 0025) and, when it spans a separator, rechecks the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from application.reads.ports import LogFilter
from domain.observations.search import fields_text
from projections.log_pairs import pair_entry
from projections.log_quarters import BIN, QUARTER_MINUTES
from projections.log_tokens import pieces_of
from projections.logs_schema import DIMENSIONS, SEARCH_TEXT, LogTables

# A dictionary pattern matching more tokens than this is not used: comparing each row's tokens
# with thousands costs more than rechecking its text (a one- or two-character word).
MAX_TOKENS = 256
VALUE_COLUMNS = frozenset(DIMENSIONS)  # the columns a heavy pair's values are counted under
# The condition of a word that no token of the dictionary can hold: PostgreSQL plans a statement
# with it as empty, where `tokens && '{}'` was tested on every row of a walk in time order (a
# typo cost a scan of the whole model: ~1 s at 1,000,000 rows, far more with the rows on disk).
NOTHING = "false"
# A page of a filter matching at most this many rows gathers them (through the token index) and
# sorts them, instead of walking the rows newest first until it has the page: the walk tests
# rows the filter does not match, all of them when the matches are few or old (a word held by
# one row took ~1 s at 1,000,000 rows, 563 rows 89 ms, an hour's 5,952 rows 345 ms; gathered,
# 0.7, 4.5 and 5.8 ms). Past it the walk wins: a word held by 50,000 rows, 2 ms against 172.
RARE_ROWS = 10_000


@dataclass(frozen=True, slots=True)
class Dictionary:
    """The token dictionary a search may use (ADR 0025), and whether the model has pairs.

    `broad` holds the LIKE patterns that match more than `MAX_TOKENS` tokens, `void` those that
    match none (a word no row holds: a typo); `fewest` is the fewest rows that hold the tokens of
    any other pattern (each pattern is a condition of the filter: it matches no more rows than
    that), None without such a pattern; `absent` is set for a model without tokens, `pairs`
    unset for one without pairs (ADR 0027), `pair_values` for one without the heavy pairs'
    column values (ADR 0029) — older versions, served while their rebuild runs: the text
    decides then, or the rows are counted.
    """

    table: str
    broad: frozenset[str] = frozenset()
    absent: bool = False
    pairs: bool = True
    pair_values: bool = True
    void: frozenset[str] = frozenset()
    fewest: int | None = None

    @property
    def rare(self) -> bool:
        """The filter matches at most `RARE_ROWS` rows: gathering them all beats a walk."""
        return self.fewest is not None and self.fewest <= RARE_ROWS

    def usable(self, pattern: str) -> bool:
        return not self.absent and pattern not in self.broad

    @property
    def has_pairs(self) -> bool:
        return self.pairs and not self.absent


def escape_like(word: str) -> str:
    """The word as a LIKE pattern matching itself (`\\`, `%` and `_` escaped)."""
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def dictionary_patterns(f: LogFilter) -> list[str]:
    """The LIKE patterns `where` would look up in the dictionary."""
    patterns = []
    for word in f.query.words:
        pieces = pieces_of(word)
        if pieces is None:
            patterns.append(f"%{escape_like(word)}%")
        elif not pieces.inner:
            patterns += [_edge(pieces.first, "%{}"), _edge(pieces.last, "{}%")]
    return [p for p in patterns if p]


def _edge(piece: str, pattern: str) -> str:
    return pattern.format(escape_like(piece)) if piece else ""


def dictionary_lookup(f: LogFilter, t: LogTables) -> tuple[str, list[Any]]:
    """The statement `dictionary_from` reads: which of the filter's dictionary patterns match
    more than `MAX_TOKENS` tokens and which match none, the fewest rows the others' tokens are
    held by, and which of the pair tables exist.

    One look per pattern, stopped past `MAX_TOKENS`, through the dictionary's trigram index.
    """
    return (
        "SELECT coalesce(array_agg(p) FILTER (WHERE n > %s), '{}'),"
        " coalesce(array_agg(p) FILTER (WHERE n = 0), '{}'),"
        " min(held) FILTER (WHERE n BETWEEN 1 AND %s),"
        " to_regclass(%s) IS NOT NULL, to_regclass(%s) IS NOT NULL"
        " FROM unnest(%s::text[]) AS p CROSS JOIN LATERAL (SELECT count(*) AS n,"
        f" sum(count) AS held FROM (SELECT count FROM {t.tokens} WHERE token LIKE p LIMIT %s) s) c",
        [
            MAX_TOKENS,
            MAX_TOKENS,
            t.pairs,
            t.pair_values,
            dictionary_patterns(f),
            MAX_TOKENS + 1,
        ],
    )


def dictionary_from(t: LogTables, row: tuple[Any, ...]) -> Dictionary:
    """The `Dictionary` the row of `dictionary_lookup` describes (an aggregate: always one)."""
    broad, void, fewest, pairs, pair_values = row
    # Without the pair dictionary the model predates pairs, without the pair values those
    # (either is served while it rebuilds).
    return Dictionary(
        t.tokens,
        frozenset(broad),
        pairs=pairs,
        pair_values=pair_values,
        void=frozenset(void),
        fewest=None if fewest is None else int(fewest),
    )


Clause = tuple[str, list[Any]]


def where(f: LogFilter, tokens: str | Dictionary) -> tuple[str, list[Any]]:
    """SQL conditions for a filter, with the same semantics as `search.matches`.

    `tokens` is the model's token dictionary (ADR 0025), or its name (every pattern usable).
    """
    words, rest = _conditions(f, _dictionary(tokens))
    return _joined(" WHERE ", [*rest, *words])


def filtered(
    f: LogFilter, tokens: str | Dictionary, logs: str, *more: str
) -> tuple[str, list[Any]]:
    """` FROM … [WHERE …]`: the rows of `logs` the filter selects (`where`'s conditions), and
    `more` conditions after them (their parameters follow the returned ones).

    When the filter matches at most `RARE_ROWS` rows, its words' rows are gathered first,
    through the token index, behind a fence (`OFFSET 0`); the other conditions then filter
    them, and an ORDER BY sorts them. Otherwise PostgreSQL walks an ordered index testing every
    row on the way (every row, when the matches are few or old), or ANDs the words' few rows
    with a column's or a common pair's index (`service:ssh pw179` read the 125,000 `ssh` rows'
    index entries to keep 72 of pw179's 563 rows: 45 ms at 1,000,000 rows, against 2 ms).
    """
    dictionary = _dictionary(tokens)
    words, rest = _conditions(f, dictionary)
    extra: list[Clause] = [(condition, []) for condition in more]
    if not (dictionary.rare and words):
        conditions, params = _joined(" WHERE ", [*rest, *words, *extra])
        return f" FROM {logs}{conditions}", params
    gather, gather_params = _joined(" WHERE ", words)
    conditions, params = _joined(" WHERE ", [*rest, *extra])
    return (
        f" FROM (SELECT * FROM {logs}{gather} OFFSET 0) AS rare{conditions}",
        [*gather_params, *params],
    )


def _dictionary(tokens: str | Dictionary) -> Dictionary:
    return Dictionary(tokens) if isinstance(tokens, str) else tokens


def _joined(lead: str, clauses: list[Clause]) -> tuple[str, list[Any]]:
    if not clauses:
        return "", []
    return lead + " AND ".join(c for c, _ in clauses), [p for _, ps in clauses for p in ps]


def _conditions(f: LogFilter, tokens: Dictionary) -> tuple[list[Clause], list[Clause]]:
    """The filter's conditions: its words' (the token index narrows them), and the others."""
    rest: list[Clause] = [(f"{column} = %s", [value]) for column, value in f.query.columns]
    fields_sql, fields_params = _fields(f.query.fields, tokens)
    if fields_sql:
        rest.append((" AND ".join(fields_sql), fields_params))
    if f.start is not None:
        rest.append(("ts >= %s", [f.start]))
    if f.end is not None:
        rest.append(("ts <= %s", [f.end]))
    words = [_word(word, tokens) for word in f.query.words]
    return words, rest


def _fields(fields: tuple[tuple[str, str], ...], tokens: Dictionary) -> tuple[list[str], list[Any]]:
    """Field terms: every entry in one `pairs @>` (exact where the pair is stored whole); a
    digested pair, or a model without pairs, rechecked on the text."""
    entries: list[str] = []
    clauses: list[str] = []
    params: list[Any] = []
    for key, value in fields:
        entry = pair_entry(key, value) if tokens.has_pairs else None
        if entry is not None:
            entries.append(entry[0])
        if entry is None or not entry[1]:
            clause, text_params = _field_text(key, value, tokens, narrow=entry is None)
            clauses.append(clause)
            params.extend(text_params)
    if entries:
        clauses.insert(0, "pairs @> %s::text[]")
        params.insert(0, list(dict.fromkeys(entries)))
    return clauses, params


def _field_text(key: str, value: str, tokens: Dictionary, narrow: bool) -> tuple[str, list[Any]]:
    """`"key":"value"` in the fields text, narrowed by its tokens unless the pairs do."""
    # In compact JSON, `"key":"value"` can only occur as that exact pair: a key is the only
    # string followed by `:`, a value ends at an unescaped `"`, and quotes inside strings are
    # escaped.
    pair = fields_text({key: value})[1:-1]
    like = "fields_text LIKE %s"
    if not narrow:
        return like, [f"%{escape_like(pair)}%"]
    # The tokens inside the lower-cased pair narrow; the exact text decides.
    spanning, spanning_params = _spanning(pair.lower(), tokens)
    return f"{spanning} AND {like}", [*spanning_params, f"%{escape_like(pair)}%"]


def counted(
    f: LogFilter, t: LogTables, dictionary: Dictionary | None = None
) -> tuple[str, list[Any]]:
    """A statement giving the number of rows matching a filter.

    A lone word inside one token, contained in just one token of the dictionary, is held by
    exactly the rows counted beside that token (ADR 0025); a lone field term stored whole, by
    the rows counted beside its pair (ADR 0027), and with column terms, when the pair is heavy,
    by the rows counted beside its column values (ADR 0029): no row is visited.
    """
    dictionary = dictionary or Dictionary(t.tokens)
    rows, params = filtered(f, dictionary, t.logs)
    count = f"SELECT count(*){rows}"
    q = f.query
    if f.start is not None or f.end is not None:
        return count, params
    if q.columns:
        return _heavy_pair_total(f, t, dictionary, (count, params)) or (count, params)
    if not q.words and len(set(q.fields)) == 1 and dictionary.has_pairs:
        entry = pair_entry(*q.fields[0])
        if entry is not None and entry[1]:
            total = f"SELECT coalesce((SELECT count FROM {t.pairs} WHERE pair = %s), 0)"
            return total, [entry[0]]
    if q.fields or len(q.words) != 1 or pieces_of(q.words[0]) is not None:
        return count, params
    pattern = f"%{escape_like(q.words[0])}%"
    if not dictionary.usable(pattern) or pattern in dictionary.void:
        return count, params
    return (
        f"SELECT CASE WHEN (SELECT count(*) FROM (SELECT FROM {t.tokens} WHERE token LIKE %s"
        f" LIMIT 2) s) = 1 THEN (SELECT count FROM {t.tokens} WHERE token LIKE %s)"
        f" ELSE ({count}) END",
        [pattern, pattern, *params],
    )


def _heavy_pair_total(
    f: LogFilter, t: LogTables, dictionary: Dictionary, count: tuple[str, list[Any]]
) -> tuple[str, list[Any]] | None:
    """The total of one field term stored whole with column terms on decky, service or
    event_type: summed from the pair's column values when the pair is heavy, else `count`
    (the rows; fewer than `HEAVY` hold the pair). None when the values cannot answer."""
    q = f.query
    columns = {c for c, _ in q.columns}
    if q.words or len(set(q.fields)) != 1 or not columns <= VALUE_COLUMNS:
        return None
    if not (dictionary.has_pairs and dictionary.pair_values):
        return None
    entry = pair_entry(*q.fields[0])
    if entry is None or not entry[1]:
        return None
    conds = "".join(f" AND {column} = %s" for column, _ in q.columns)
    sql, params = count
    # Heavy exactly when the pair has values (their invariant): the reader never has to agree
    # with the writer on the threshold.
    return (
        f"SELECT CASE WHEN EXISTS (SELECT FROM {t.pair_values} WHERE pair = %s)"
        f" THEN (SELECT coalesce(sum(count), 0)::bigint FROM {t.pair_values}"
        f" WHERE pair = %s{conds}) ELSE ({sql}) END",
        [entry[0], entry[0], *(v for _, v in q.columns), *params],
    )


def _word(word: str, tokens: Dictionary) -> tuple[str, list[Any]]:
    """A word inside one token selects exactly the rows holding a token that contains it."""
    pattern = f"%{escape_like(word)}%"
    if pieces_of(word) is None:
        if pattern in tokens.void:
            return NOTHING, []
        if tokens.usable(pattern):
            return _containing(tokens.table), [pattern]
        return f"{SEARCH_TEXT} LIKE %s", [pattern]
    return _spanning(word, tokens)


def _spanning(text: str, tokens: Dictionary) -> tuple[str, list[Any]]:
    """A text with separators: its pieces narrow (when they can), `search_text` decides."""
    pieces = None if tokens.absent else pieces_of(text)
    clauses: list[str] = []
    params: list[Any] = []
    if pieces is not None and pieces.inner:
        # Whole tokens: the cheapest and narrowest; the edges add little but dictionary scans.
        clauses.append("tokens @> %s::text[]")
        params.append(list(dict.fromkeys(pieces.inner)))
    elif pieces is not None:
        for edge in (_edge(pieces.first, "%{}"), _edge(pieces.last, "{}%")):
            if edge in tokens.void:
                return NOTHING, []
            if edge and tokens.usable(edge):
                clauses.append(_containing(tokens.table))
                params.append(edge)
    clauses.append(f"{SEARCH_TEXT} LIKE %s")
    params.append(f"%{escape_like(text)}%")
    return " AND ".join(clauses), params


def _containing(tokens: str) -> str:
    """Rows holding a token of the dictionary that matches the LIKE pattern given as `%s`."""
    return f"tokens && ARRAY(SELECT token FROM {tokens} WHERE token LIKE %s)"


def quarters_histogram(
    f: LogFilter,
    interval_minutes: int,
    t: LogTables,
    dictionary: Dictionary,
) -> tuple[str, list[Any]] | None:
    """The histogram of a one-word filter from the quarters, in one statement, or None when
    they cannot answer it.

    When exactly one token contains the word and it has quarters (it is heavy), whole quarters
    inside the range come from them and the partial quarters at its ends from that token's
    rows; otherwise the filter's rows answer. The
    branches are gated by one-time filters, so the one not taken is never executed.
    """
    q = f.query
    if interval_minutes % QUARTER_MINUTES or q.columns or q.fields or len(q.words) != 1:
        return None
    word = q.words[0]
    pattern = f"%{escape_like(word)}%"
    if pieces_of(word) is not None or not dictionary.usable(pattern) or pattern in dictionary.void:
        return None
    # The bounds as the rows compare them (`ts >= %s`: a naive time in the session's zone).
    start, end = "%s::timestamptz", "%s::timestamptz"
    # The first whole quarter: the start's own when it starts one, else the next.
    first = f"({BIN.format(start + _MICROSECOND)} + interval '15 minutes')"
    last = BIN.format(end)
    token = _HEAVY_TOKEN
    whole, whole_params = [f"token = {token}"], []
    # A partial quarter's rows by time (under 15 minutes of rows), then the token: the fence
    # (OFFSET 0) keeps the planner from ANDing the token's whole GIN posting list (every row
    # holding it: ~10 ms at 1M for 30,000) with the time range.
    held = (
        f"SELECT ts AS t, 1 AS n FROM (SELECT ts, tokens FROM {t.logs}"
        f" WHERE {token} IS NOT NULL AND {{}} OFFSET 0) r WHERE tokens @> ARRAY[{token}]"
    )
    parts: list[tuple[str, list[Any]]] = []
    if f.start is not None:
        whole.append(f"quarter >= {first}")
        whole_params.append(f.start)
        below = [f"ts >= {start}", f"ts < {first}"]
        below_params: list[Any] = [f.start, f.start]
        if f.end is not None:
            below.append(f"ts <= {end}")
            below_params.append(f.end)
        parts.append((held.format(" AND ".join(below)), below_params))
    if f.end is not None:
        whole.append(f"quarter < {last}")
        whole_params.append(f.end)
        above = [f"ts >= {last}", f"ts <= {end}"]
        above_params: list[Any] = [f.end, f.end]
        if f.start is not None:  # not below the whole quarters either (none when first > last)
            above.append(f"ts >= {first}")
            above_params.append(f.start)
        parts.append((held.format(" AND ".join(above)), above_params))
    quarters = f"SELECT quarter AS t, count AS n FROM {t.quarters} WHERE {' AND '.join(whole)}"
    parts.insert(0, (quarters, whole_params))
    rows, rows_params = filtered(f, dictionary, t.logs, f"{token} IS NULL")
    parts.append((f"SELECT ts AS t, 1 AS n{rows}", rows_params))
    width = interval_minutes * 60
    query = (
        "WITH one AS MATERIALIZED (SELECT CASE WHEN count(*) = 1 THEN min(token) END AS token"
        f" FROM (SELECT token FROM {t.tokens} WHERE token LIKE %s LIMIT 2) s),"
        " heavy AS MATERIALIZED (SELECT token FROM one"
        f" WHERE EXISTS (SELECT FROM {t.quarters} q WHERE q.token = one.token))"
        f" SELECT date_bin('{width} seconds', t, 'epoch'::timestamptz) AS bucket,"
        " sum(n)::bigint AS count FROM ("
        + " UNION ALL ".join(sql for sql, _ in parts)
        + ") s GROUP BY 1 ORDER BY 1"
    )
    return query, [pattern, *(p for _, params in parts for p in params)]


_MICROSECOND = " - interval '1 microsecond'"
_HEAVY_TOKEN = "(SELECT token FROM heavy)"  # noqa: S105 (SQL) the heavy token the word names, else NULL
