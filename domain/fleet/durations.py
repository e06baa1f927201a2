"""Mutation intervals as operators write them (`30m`, `5d`, `2M`, `1y`) and as minutes."""

from __future__ import annotations

import re

from domain.fleet.errors import InvalidDurationError

MINUTES_PER_UNIT: dict[str, int] = {
    "m": 1,
    "d": 24 * 60,
    "M": 30 * 24 * 60,
    "y": 365 * 24 * 60,
    "Y": 365 * 24 * 60,
}
# Past a century an interval means "never"; the cap keeps datetime arithmetic from overflowing.
MAX_MINUTES = 100 * MINUTES_PER_UNIT["y"]

_DURATION = re.compile(r"([1-9][0-9]*)([mdMyY])")
_BARE_MINUTES = re.compile(r"[1-9][0-9]*")
# More digits always exceed MAX_MINUTES; checked before int() so huge inputs stay cheap.
_MAX_DIGITS = len(str(MAX_MINUTES))
# Largest unit first, so formatting picks the shortest exact spelling.
_FORMAT_UNITS = (("y", MINUTES_PER_UNIT["y"]), ("M", MINUTES_PER_UNIT["M"]), ("d", 1440))


def parse_duration(text: str) -> int:
    """Turn `<n><unit>` into minutes; anything else raises `InvalidDurationError`."""
    match = _DURATION.fullmatch(text)
    if match is None:
        raise InvalidDurationError(
            text, f"{text!r} is not a duration like 30m, 5d, 2M or 1y (pattern ^[1-9]\\d*[mdMyY]$)"
        )
    return _bounded(text, match[1], MINUTES_PER_UNIT[match[2]])


def parse_interval(text: str) -> int:
    """Turn a duration or a bare positive number of minutes (INI `mutate_interval`) into minutes."""
    if _BARE_MINUTES.fullmatch(text):
        return _bounded(text, text, 1)
    return parse_duration(text)


def checked_minutes(minutes: int) -> int:
    """A whole number of minutes as an interval (1 .. 100 years), else `InvalidDurationError`."""
    if not 1 <= minutes <= MAX_MINUTES:
        raise InvalidDurationError(
            str(minutes), f"{minutes} minutes is not between 1 and {MAX_MINUTES} (100 years)"
        )
    return minutes


def format_duration(minutes: int) -> str:
    """Spell `minutes` with the largest unit that divides it exactly (`1440` → `1d`)."""
    if not 1 <= minutes <= MAX_MINUTES:
        raise InvalidDurationError(str(minutes), f"{minutes} minutes is out of range")
    for unit, size in _FORMAT_UNITS:
        if minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"


def _bounded(text: str, count: str, unit_minutes: int) -> int:
    minutes = int(count) * unit_minutes if len(count) <= _MAX_DIGITS else MAX_MINUTES + 1
    if minutes > MAX_MINUTES:
        raise InvalidDurationError(text, f"{text!r} is longer than 100 years")
    return minutes
