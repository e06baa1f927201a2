"""Parsing of the start_time / end_time query parameters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.observations.timeparse import InvalidTimeError, parse_time_param

INSTANT = datetime(2026, 4, 18, 2, 22, 56, tzinfo=UTC)


@pytest.mark.parametrize("value", [None, "", "  ", "null", "undefined"])
def test_not_given(value: str | None) -> None:
    """Absent, blank, "null" and "undefined" mean no bound."""
    assert parse_time_param(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-04-18T02:22:56Z", INSTANT),
        ("2026-04-18T02:22:56", INSTANT),
        ("2026-04-18 02:22:56", INSTANT),
        ("2026-04-18T04:22:56+02:00", INSTANT),
        ("2026-04-18T04:22:56 02:00", INSTANT),
        ("2026-04-17T22:22:56-04:00", INSTANT),
        ("2026-04-18T02:22:56.250Z", INSTANT.replace(microsecond=250000)),
        ("2026-04-18", datetime(2026, 4, 18, tzinfo=UTC)),
    ],
)
def test_accepted_forms_become_aware_utc(value: str, expected: datetime) -> None:
    """ISO-8601 with or without zone (naive is UTC) and the space form give aware UTC."""
    parsed = parse_time_param(value)
    assert parsed == expected
    assert parsed is not None
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    ["yesterday", "1713407000", "2026-13-01", "2026-04-18T25:00:00", "0001-01-01T00:00:00+01:00"],
)
def test_anything_else_is_invalid(value: str) -> None:
    """Unparseable or out-of-range values raise InvalidTimeParam naming the value."""
    with pytest.raises(InvalidTimeError, match="invalid timestamp"):
        parse_time_param(value)


@pytest.mark.parametrize(
    ("value", "edge"),
    [
        ("0001-01-01T00:00:00+01:00", datetime.min.replace(tzinfo=UTC)),
        ("0001-01-01T00:00:01+03:01", datetime.min.replace(tzinfo=UTC)),
        ("9999-12-31T23:59:59-01:00", datetime.max.replace(tzinfo=UTC)),
    ],
)
def test_a_bound_past_the_representable_years_is_clamped(value: str, edge: datetime) -> None:
    """Valid ISO-8601 whose UTC instant is before year 1 or after 9999: as a filter's bound it
    is the first or last instant there is, which selects the same records (SPEC: ISO-8601 is
    accepted); a record's own time stays invalid (it would change)."""
    assert parse_time_param(value, clamp=True) == edge
    with pytest.raises(InvalidTimeError):
        parse_time_param(value)


def test_invalid_time_param_is_a_value_error() -> None:
    """Callers may treat InvalidTimeParam as a plain ValueError."""
    assert issubclass(InvalidTimeError, ValueError)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_text_only_raises_invalid_time_param(value: str) -> None:
    """No input makes the parser raise anything but InvalidTimeParam, and results are UTC."""
    try:
        parsed = parse_time_param(value)
    except InvalidTimeError:
        return
    assert parsed is None or parsed.tzinfo is UTC
