"""The key/value index of the logs model: one entry per searchable field (ADR 0027).

A field term `key:value` matches `fields[key] == value` exactly. A row's `pairs` hold, for each
field whose key a field term can name (an identifier: `search.is_field_key`), the entry
`key:value` — exact case, the colon cannot be part of the key, so the entry is unambiguous.
A GIN entry is limited to ~2,700 bytes: a pair longer than `MAX_PAIR_BYTES` is stored as
`key#` and the SHA-256 of its value instead, and a term naming it is rechecked on the text.
"""

from __future__ import annotations

from functools import lru_cache
from hashlib import sha256

from domain.observations.search import is_field_key

# Well under GIN's and the dictionary key's limit; longer values are rarely typed in a search,
# and short entries keep the index and the dictionary small.
MAX_PAIR_BYTES = 256
WHOLE = ":"
DIGEST = "#"


@lru_cache(maxsize=4096)
def _searchable(key: str) -> bool:
    return is_field_key(key)


def pair_entry(key: str, value: str) -> tuple[str, bool] | None:
    """The entry of one field and whether it is the pair itself (not a digest), or None when
    no field term can name the key."""
    if not _searchable(key):
        return None
    entry = f"{key}{WHOLE}{value}"
    # A character is at most 4 UTF-8 bytes: most entries need no encoding to be measured.
    if len(entry) * 4 <= MAX_PAIR_BYTES or len(_utf8(entry)) <= MAX_PAIR_BYTES:
        return entry, True
    return f"{key}{DIGEST}{sha256(_utf8(value)).hexdigest()}", False


def pairs_of(fields: dict[str, str]) -> list[str]:
    """The entries of a record's fields, in the fields' order (a rebuild makes the same)."""
    entries = []
    for key, value in fields.items():
        # `fields` is typed `dict[str, str]` and events decode typed: a value is always a string.
        entry = pair_entry(key, value)
        if entry is not None:
            entries.append(entry[0])
    return entries


def array_literal(entries: list[str]) -> str:
    """The `text[]` input of entries, each double-quoted (a value may hold any character)."""
    if not entries:
        return "{}"
    text = "".join(entries)
    if "\\" in text or '"' in text:
        entries = [e.replace("\\", "\\\\").replace('"', '\\"') for e in entries]
    return '{"' + '","'.join(entries) + '"}'


def _utf8(text: str) -> bytes:
    # A lone surrogate cannot be stored (the row's COPY refuses it as before); measure anyway.
    return text.encode("utf-8", "surrogatepass")
