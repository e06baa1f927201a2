"""RFC 8785 examples and the two cases RFC 8785 leaves open."""

from __future__ import annotations

import struct

import pytest

from domain.audit.jcs import canonical_json, es_number


@pytest.mark.parametrize(
    ("bits", "text"),
    [
        ("0000000000000000", "0"),
        ("8000000000000000", "0"),
        ("0000000000000001", "5e-324"),
        ("8000000000000001", "-5e-324"),
        ("7fefffffffffffff", "1.7976931348623157e+308"),
        ("4340000000000000", "9007199254740992"),
        ("c340000000000000", "-9007199254740992"),
        ("4430000000000000", "295147905179352830000"),
        ("44b52d02c7e14af5", "9.999999999999997e+22"),
        ("44b52d02c7e14af6", "1e+23"),
        ("444b1ae4d6e2ef50", "1e+21"),
        ("444b1ae4d6e2ef4f", "999999999999999900000"),
        ("3eb0c6f7a0b5ed8d", "0.000001"),
        ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
        ("41b3de4355555553", "333333333.3333332"),
        ("c06fc00000000000", "-254"),
    ],
)
def test_numbers_follow_the_rfc_8785_appendix(bits: str, text: str) -> None:
    """IEEE-754 doubles from RFC 8785 Appendix B serialise as listed there."""
    (value,) = struct.unpack(">d", bytes.fromhex(bits))
    assert es_number(value) == text


def test_the_rfc_8785_sorting_example() -> None:
    """Member names sort by UTF-16 code units, so U+1F600 sorts before U+FB33 (RFC 8785 §3.2.3)."""
    value = {"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Dalet",
             "1": "One", "\U0001f600": "Grinning Face", "\u0080": "Control",
             "\u00f6": "Latin Small Letter O With Diaeresis"}  # fmt: skip
    names = [name for name, _ in _members(canonical_json(value).decode())]
    assert names == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def _members(text: str) -> list[tuple[str, str]]:
    import json

    return list(json.loads(text, object_pairs_hook=lambda pairs: pairs))


def test_strings_escape_only_quotes_backslashes_and_controls() -> None:
    """Controls use short escapes or lowercase \\u00xx; U+007F, U+2028, non-ASCII stay literal."""
    value = '"\\\b\f\n\r\t\x00\x1f\x7f\u2028é😀/'
    expected = '"\\"\\\\\\b\\f\\n\\r\\t\\u0000\\u001f\x7f\u2028é😀/"'
    assert canonical_json(value) == expected.encode("utf-8")


def test_whitespace_is_gone_and_literals_are_lowercase() -> None:
    """No whitespace between tokens; true, false, null as JSON literals."""
    value = {"b": [True, False, None], "a": {"y": 1, "x": -2}}
    assert canonical_json(value) == b'{"a":{"x":-2,"y":1},"b":[true,false,null]}'


def test_big_integers_keep_their_exact_digits() -> None:
    """Integers past 2^53 (undefined in RFC 8785) are written exactly, so they stay distinct."""
    assert canonical_json(2**53 + 1) == b"9007199254740993"
    assert canonical_json([2**64]) == b"[18446744073709551616]"


def test_lone_surrogates_are_escaped_and_pairs_joined() -> None:
    """A lone surrogate is written \\udxxx; a pair held as two code points is one character."""
    assert canonical_json("a\ud800b") == b'"a\\ud800b"'
    assert canonical_json({"k": "\ud83d\ude00"}) == '{"k":"😀"}'.encode()


def test_non_json_values_are_refused() -> None:
    """NaN, infinities, non-string names and other types are errors, not guesses."""
    for bad in (float("nan"), [float("inf")], {1: "x"}, {"k": b"bytes"}, object()):
        with pytest.raises((ValueError, TypeError)):
            canonical_json(bad)
