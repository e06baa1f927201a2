"""The logs model's tokens: the ASCII fast path cuts exactly where the general one does."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from projections.log_tokens import _TO_SPACE, SEPARATORS, tokens_of

# Dense in what matters: every separator, every ASCII whitespace `str.split` knows (including
# the \x1c-\x1f separators and \x0b/\x0c), letters, digits, `.`, `-`, `/`, and a few non-ASCII
# characters (one of them a space) that send a text down the general path.
ALPHABET = SEPARATORS + " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1fab.-/09\\%_\x00\x7f\x85\xa0é"


def reference(text: str) -> list[str]:
    return list(dict.fromkeys(text.translate(_TO_SPACE).split()))


@given(st.text(alphabet=ALPHABET, max_size=80))
def test_tokens_equal_the_general_cut(text: str) -> None:
    assert tokens_of(text) == reference(text)


@given(st.text(max_size=80))
def test_tokens_equal_the_general_cut_on_any_text(text: str) -> None:
    assert tokens_of(text) == reference(text)


def test_the_fast_path_sees_every_ascii_separator() -> None:
    every = "".join(chr(c) for c in range(128))
    assert tokens_of(every) == reference(every)
    assert tokens_of(f"a{every}b") == reference(f"a{every}b")
