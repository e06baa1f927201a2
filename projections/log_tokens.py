"""The token index of the logs model: `search_text` cut at separator characters (ADR 0025).

A row's tokens are the distinct maximal runs of its `search_text` holding no separator. A word
without a separator is a substring of `search_text` exactly when it lies inside one of those runs,
so the tokens that contain it (found in the model's token dictionary) select exactly the rows
it matches: no recheck of the text. A word with separators is narrowed by its pieces and
rechecked against the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Besides these, every character `str.isspace` calls whitespace separates (including `\x1f`,
# which joins the parts of `search_text`): the punctuation of JSON, of key=value and of quoted
# text. Not `.`, `-`, `/`: addresses, host and file names stay one token each.
SEPARATORS = "\"',:;=()<>[]{}"
_SEPARATOR = re.compile(r"[\s" + re.escape(SEPARATORS) + "]")
# `str.split()` cuts at exactly the characters `str.isspace` accepts (as `\s` matches them).
_TO_SPACE = str.maketrans(dict.fromkeys(SEPARATORS, " "))
# ASCII text (nearly every row) is translated as bytes: a 256-byte table in one C pass, ~3x
# faster than `str.translate` with a mapping (`tests/property/test_tokens_props.py` holds the
# two ways equal).
_ASCII_TO_SPACE = bytes(32 if chr(b) in SEPARATORS else b for b in range(256))


@dataclass(frozen=True, slots=True)
class Pieces:
    """A word with separators, cut at them.

    In any text containing the word, `first` ends a token, `last` starts one and each of
    `inner` is a whole token (each may be empty: nothing is known of it then).
    """

    first: str
    inner: tuple[str, ...]
    last: str


def tokens_of(text: str) -> list[str]:
    """The distinct separator-free runs of a text, in the order they first occur."""
    if text.isascii():
        return list(dict.fromkeys(text.encode().translate(_ASCII_TO_SPACE).decode().split()))
    return list(dict.fromkeys(text.translate(_TO_SPACE).split()))


def pieces_of(word: str) -> Pieces | None:
    """The word cut at its separators, or None when it has none (it then lies in one token)."""
    parts = _SEPARATOR.split(word)
    if len(parts) == 1:
        return None
    return Pieces(parts[0], tuple(p for p in parts[1:-1] if p), parts[-1])
