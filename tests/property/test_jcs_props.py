"""Our stdlib JCS encoder gives the bytes of the `rfc8785` reference library for any JSON value."""

from __future__ import annotations

import json
from typing import Any

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.audit.jcs import canonical_json, es_number

SAFE = 2**53 - 1
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-SAFE, max_value=SAFE)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=500, deadline=None)
@given(value=json_values)
def test_canonical_json_equals_the_reference_library(value: Any) -> None:
    """Every JSON value (floats, astral names, controls) encodes as rfc8785 does."""
    assert canonical_json(value) == rfc8785.dumps(value)


@settings(max_examples=500, deadline=None)
@given(x=st.floats(allow_nan=False, allow_infinity=False))
def test_es_number_round_trips_and_equals_the_reference(x: float) -> None:
    """ECMAScript number text parses back to the same double, as rfc8785 writes it."""
    text = es_number(x)
    assert float(text) == x or (x == 0 and text == "0")
    assert text.encode() == rfc8785.dumps(x)


@settings(max_examples=300, deadline=None)
@given(value=json_values)
def test_canonical_json_parses_back_to_the_same_value(value: Any) -> None:
    """The canonical bytes are JSON that decodes to an equal value."""
    decoded = json.loads(canonical_json(value))
    assert _normal(decoded) == _normal(value)


def _normal(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)  # the text of a double parses back to that double
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    return value
