"""The log search language shared by logs, histogram and stream (SPEC §3 "Search language").

Grammar, precisely:
- tokens are split with POSIX shell rules (`shlex`): quotes group words, a backslash escapes
  outside single quotes; an unterminated quote runs to the end of the text and a trailing
  backslash is literal, so no input is ever rejected;
- all tokens are ANDed (a repeated term is kept once);
- `decky:X`, `service:X`, `event_type:X` (alias `event:X`), `attacker_ip:X` (alias
  `attacker:X`) compare that column exactly — the keys are the column names exactly as `/logs`
  rows spell them, plus the two short aliases; an attacker value that is an IP is canonicalised,
  as the collector stores it;
- any other `key:X` compares `fields[key] == X` exactly, when `key` is an identifier
  (a letter or `_`, then letters, digits, `_`, `-`, `.`);
- everything else is a bare word: no colon, an empty key (`:foo`) or value (`foo:`), a key that
  is not an identifier (`12:30`), or an IP address (`fe80::1`). A word matches when its
  lower-cased text is a substring of the lower-cased msg, raw_line, decky, service,
  attacker_ip or `fields_text(fields)` (the SQL side uses `lower(...)` and escapes LIKE
  wildcards, so `%` and `_` are literal).
NUL characters are dropped from the text first: stored text never contains them and PostgreSQL
rejects them in parameters.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
from dataclasses import dataclass

from domain.observations.addresses import canonical_ip
from domain.observations.records import InteractionRecord

__all__ = [
    "COLUMN_KEYS",
    "SearchQuery",
    "fields_text",
    "is_field_key",
    "matches",
    "parse_search",
]

# Search key -> log column. Every column's own name (as `/logs` rows spell it) is a key, and
# `event` / `attacker` are the short aliases SPEC §3 names.
COLUMN_KEYS: dict[str, str] = {
    "decky": "decky",
    "service": "service",
    "event_type": "event_type",
    "event": "event_type",
    "attacker_ip": "attacker_ip",
    "attacker": "attacker_ip",
}
_NOT_GIVEN = frozenset({"", "null", "undefined"})
_FIELD_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
# Tried in order when shlex finds the text unterminated; each one fixes exactly one lexer state
# (after a trailing backslash, inside '...', inside "...", after a backslash inside "...").
_CLOSERS = ("\\", '"', "'", '\\"')


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A parsed search: every term must hold. Words are stored lower-cased."""

    columns: tuple[tuple[str, str], ...] = ()
    fields: tuple[tuple[str, str], ...] = ()
    words: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when the query matches every record."""
        return not (self.columns or self.fields or self.words)

    @property
    def only_columns(self) -> bool:
        """True when only column terms are present (pre-aggregated buckets can answer it)."""
        return not (self.fields or self.words)


def parse_search(text: str | None) -> SearchQuery:
    """Parse a search string; never raises, `None`/""/"null"/"undefined" give the empty query."""
    if text is None or text.strip() in _NOT_GIVEN:
        return SearchQuery()
    columns: list[tuple[str, str]] = []
    fields: list[tuple[str, str]] = []
    words: list[str] = []
    for token in _tokens(text.replace("\x00", "")):
        key, _, value = token.partition(":")
        if not key or not value or _is_ip(token) or not is_field_key(key):
            words.append(token.lower())
        elif key in COLUMN_KEYS:
            column = COLUMN_KEYS[key]
            columns.append((column, _canonical_ip(value) if column == "attacker_ip" else value))
        else:
            fields.append((key, value))
    # ANDing a term with itself changes nothing, but the SQL would evaluate it once per copy.
    return SearchQuery(
        tuple(dict.fromkeys(columns)), tuple(dict.fromkeys(fields)), tuple(dict.fromkeys(words))
    )


def matches(query: SearchQuery, record: InteractionRecord) -> bool:
    """Evaluate a query against one record in memory, with the same semantics as the SQL."""
    for column, value in query.columns:
        if getattr(record, column) != value:
            return False
    for key, value in query.fields:
        if record.fields.get(key) != value:
            return False
    if not query.words:
        return True
    haystacks = [
        record.msg.lower(),
        record.raw_line.lower(),
        record.decky.lower(),
        record.service.lower(),
        (record.attacker_ip or "").lower(),
        fields_text(record.fields).lower(),
    ]
    return all(any(word in haystack for haystack in haystacks) for word in query.words)


def is_field_key(key: str) -> bool:
    """Whether `key:X` can name a field: an identifier (column keys are checked first)."""
    return _FIELD_KEY.fullmatch(key) is not None


def fields_text(fields: dict[str, str]) -> str:
    """The stored text of a record's fields: compact JSON, keys in insertion order, raw UTF-8."""
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)


def _tokens(text: str) -> list[str]:
    for suffix in ("", *_CLOSERS):
        try:
            return [token for token in shlex.split(text + suffix) if token]
        except ValueError:
            continue
    return text.split()  # unreachable in practice: one closer always fits; kept as a safe net


def _is_ip(token: str) -> bool:
    try:
        ipaddress.ip_address(token)
    except ValueError:
        return False
    return True


def _canonical_ip(value: str) -> str:
    canonical = canonical_ip(value)
    return value if canonical is None else canonical
