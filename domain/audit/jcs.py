"""RFC 8785 JSON Canonicalization Scheme (JCS): the standard library, and msgspec's encoder.

Objects have their members sorted by the UTF-16 code units of their names, no whitespace, strings
escaped as ECMAScript's JSON.stringify does (only `"`, `\\` and controls below U+0020; `\\b \\t \\n
\\f \\r` short, the others `\\u00xx`; everything else literal UTF-8), numbers as ECMAScript's
Number.prototype.toString. Two choices where RFC 8785 has no answer, both injective:
integers beyond ±(2^53 - 1) are written with their exact decimal digits, and a lone surrogate
is escaped as `\\udxxx` (ES2019 well-formed JSON.stringify).

Any RFC 8785 library gives the same bytes for the values decnet stores. The common case (no
floats, ASCII member names) is `json.dumps` in C, and a batch's records msgspec's encoder with
sorted keys (the same escapes for every code point, the same integers, ASCII names sort alike;
four times faster); anything else takes the exact Python path.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import msgspec

_ENCODER = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False, check_circular=False
)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_SORTED = msgspec.json.Encoder(order="sorted").encode


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 bytes of a JSON value (dict, list, str, int, float, bool, None)."""
    if _plain(value):
        try:
            return _ENCODER.encode(value).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: the exact path escapes it
    return "".join(_exact(value)).encode("utf-8")


def plain_json(value: Any) -> bytes:
    """`canonical_json` of a value the caller knows holds no float and only ASCII member names.

    The batch parser learns that for a whole batch at once, so records skip the per-value check.
    msgspec writes what `json.dumps(sort_keys=True, ensure_ascii=False)` writes for such values
    (every code point escaped alike, checked for all of them by a test; integers of any size;
    ASCII names sort alike), in C and without building the text first.
    """
    try:
        try:
            return _SORTED(value)
        except (msgspec.EncodeError, RecursionError):  # beyond msgspec (nesting): json's turn
            return _ENCODER.encode(value).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: the exact path escapes it
        return "".join(_exact(value)).encode("utf-8")


def _plain(value: Any) -> bool:
    """No floats, no member names beyond ASCII, only JSON's own types: json.dumps is exact."""
    t = type(value)
    if t is str:
        return True
    if t is dict:
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                return False
            if type(item) is not str and item is not None and not _plain(item):
                return False
        return True
    if t is list:
        return all(_plain(item) for item in value)
    return value is None or t is bool or t is int


def _exact(value: Any) -> list[str]:
    out: list[str] = []
    _write(value, out)
    return out


def _write(value: Any, out: list[str]) -> None:
    if value is None or value is True or value is False:
        out.append("null" if value is None else "true" if value else "false")
    elif isinstance(value, int):
        out.append(str(int(value)))
    elif isinstance(value, float):
        out.append(es_number(value))
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, list | tuple):
        _write_array(value, out)
    elif isinstance(value, dict):
        _write_object(value, out)
    else:
        raise TypeError(f"not a JSON value: {type(value).__name__}")


def _write_array(items: list[Any] | tuple[Any, ...], out: list[str]) -> None:
    out.append("[")
    for i, item in enumerate(items):
        if i:
            out.append(",")
        _write(item, out)
    out.append("]")


def _write_object(members: dict[Any, Any], out: list[str]) -> None:
    if not all(isinstance(key, str) for key in members):
        raise TypeError("JSON member names must be strings")
    out.append("{")
    for i, key in enumerate(sorted(members, key=_utf16)):
        if i:
            out.append(",")
        out.append(_string(key))
        out.append(":")
        _write(members[key], out)
    out.append("}")


def _utf16(name: str) -> bytes:
    """Big-endian UTF-16 bytes compare like the code units RFC 8785 sorts by."""
    return name.encode("utf-16-be", "surrogatepass")


def _string(text: str) -> str:
    # Surrogate pairs held as two code points become one character; lone ones are escaped.
    text = text.encode("utf-16-be", "surrogatepass").decode("utf-16-be", "surrogatepass")
    quoted = json.dumps(text, ensure_ascii=False)
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def es_number(x: float) -> str:
    """ECMAScript Number.prototype.toString of a finite double (RFC 8785 §3.2.2.3)."""
    if not math.isfinite(x):
        raise ValueError("NaN and infinities are not JSON numbers")
    if x == 0:
        return "0"
    if x < 0:
        return "-" + es_number(-x)
    mantissa, _, exp = repr(x).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    exp10 = (int(exp) if exp else 0) - len(frac)
    stripped = digits.rstrip("0")
    exp10 += len(digits) - len(stripped)
    k = len(stripped)
    n = exp10 + k  # the value is 0.<stripped> times 10^n
    if k <= n <= 21:
        return stripped + "0" * (n - k)
    if 0 < n <= 21:
        return f"{stripped[:n]}.{stripped[n:]}"
    if -6 < n <= 0:
        return "0." + "0" * -n + stripped
    e = n - 1
    head = stripped if k == 1 else f"{stripped[0]}.{stripped[1:]}"
    return f"{head}e{'+' if e >= 0 else '-'}{abs(e)}"
