"""`start_time` / `end_time` query parameters (SPEC §3): ISO-8601 or `YYYY-MM-DD HH:MM:SS`, UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from domain.shared.errors import InvalidError

__all__ = ["InvalidTimeError", "parse_time_param"]

_NOT_GIVEN = frozenset({"", "null", "undefined"})
# An unencoded `+` in a query string arrives as a space: `...T10:00:00 02:00` meant `+02:00`.
_DECODED_PLUS = re.compile(r"(.*T[0-9:.,]+) ([0-9]{2}(?::?[0-9]{2})?)")


class InvalidTimeError(InvalidError, ValueError):
    """A time parameter that is given but is not a timestamp we accept."""


def parse_time_param(value: str | None, clamp: bool = False) -> datetime | None:
    """Parse a time filter into an aware UTC datetime; None when the parameter is not given.

    A valid time whose UTC instant falls outside years 1-9999 (`0001-01-01T00:00:00+01:00`)
    cannot be represented: with `clamp` (a filter's bound) it is the first or last instant
    that can, which selects exactly the same records; without it, invalid.
    """
    if value is None:
        return None
    text = value.strip()
    if text in _NOT_GIVEN:
        return None
    plus_lost = _DECODED_PLUS.fullmatch(text)
    if plus_lost is not None:
        text = f"{plus_lost.group(1)}+{plus_lost.group(2)}"
    try:
        # fromisoformat (3.11) takes ISO-8601 with `Z`, offsets, fractions and a space separator.
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise _invalid(value) from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        if not clamp:
            raise _invalid(value) from None
        edge = datetime.min if parsed.year == datetime.min.year else datetime.max
        return edge.replace(tzinfo=UTC)


def _invalid(value: str) -> InvalidTimeError:
    return InvalidTimeError(
        f"invalid timestamp {value!r}: use ISO-8601 (e.g. 2026-04-18T02:22:56Z) "
        "or 'YYYY-MM-DD HH:MM:SS'"
    )
