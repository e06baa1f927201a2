"""An encoded slash stays inside its segment; everything else decodes as the server does."""

from __future__ import annotations

from urllib.parse import quote, unquote

from hypothesis import given
from hypothesis import strategies as st

from interfaces.http.segments import segments_path


def test_an_encoded_slash_stays_in_its_segment() -> None:
    assert (
        segments_path(b"/api/v1/artifacts/..%2Felsewhere/x") == "/api/v1/artifacts/..%2Felsewhere/x"
    )
    assert segments_path(b"/api/v1/deckies/a%20b%2fc/mutate") == "/api/v1/deckies/a b%2Fc/mutate"


# A path arrives as bytes: a lone surrogate has no UTF-8 form, so no client can send one.
_SEGMENT = st.text(st.characters(codec="utf-8", exclude_characters="/"), max_size=8)


@given(st.lists(_SEGMENT, max_size=6))
def test_without_an_encoded_slash_it_is_the_plain_decoding(segments: list[str]) -> None:
    raw = "/".join(quote(segment, safe="") for segment in ["", "api", *segments])
    assert segments_path(raw.encode()) == unquote(raw)
