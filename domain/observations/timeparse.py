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


def parse_time_param(value: str | None) -> datetime | None:
    """Parse a time filter into an aware UTC datetime; None when the parameter is not given."""
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
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidTimeError(
            f"invalid timestamp {value!r}: use ISO-8601 (e.g. 2026-04-18T02:22:56Z) "
            "or 'YYYY-MM-DD HH:MM:SS'"
        ) from None
