"""Mutation interval syntax: `^[1-9]\\d*[mdMyY]$` and bare minutes (SPEC §3, §4)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.fleet.durations import (
    MAX_MINUTES,
    checked_minutes,
    format_duration,
    parse_duration,
    parse_interval,
)
from domain.fleet.errors import InvalidDurationError


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("1m", 1),
        ("30m", 30),
        ("5d", 5 * 1440),
        ("2M", 2 * 30 * 1440),
        ("1y", 365 * 1440),
        ("1Y", 365 * 1440),
        ("100y", MAX_MINUTES),
    ],
)
def test_parse_duration_units(text: str, minutes: int) -> None:
    """Each unit converts to minutes: m = 1, d = 1440, M = 30 days, y/Y = 365 days."""
    assert parse_duration(text) == minutes


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0m",
        "05m",
        "m",
        "5",
        "5h",
        "5 d",
        " 5d",
        "5d\n",
        "-5m",
        "1.5d",
        "\uff15d",
        "5dd",
        "101y",
    ],
)
def test_parse_duration_rejects(text: str) -> None:
    """Anything but `<positive int><unit>` within 100 years raises with a reason."""
    with pytest.raises(InvalidDurationError) as caught:
        parse_duration(text)
    assert caught.value.value == text
    assert caught.value.reason


def test_huge_number_is_rejected_cheaply() -> None:
    """A thousand-digit count is refused as too long, not by a failing int() conversion."""
    with pytest.raises(InvalidDurationError, match="longer than 100 years"):
        parse_duration("9" * 5000 + "m")


@pytest.mark.parametrize(("text", "minutes"), [("90", 90), ("1", 1), ("30m", 30), ("2d", 2880)])
def test_parse_interval_accepts_bare_minutes(text: str, minutes: int) -> None:
    """The INI's mutate_interval also takes a plain integer number of minutes."""
    assert parse_interval(text) == minutes


@pytest.mark.parametrize("text", ["0", "007", "-1", "1.0", ""])
def test_parse_interval_rejects_non_positive_or_padded(text: str) -> None:
    """Bare minutes must be a positive integer without leading zeros."""
    with pytest.raises(InvalidDurationError):
        parse_interval(text)


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(30, "30m"), (1440, "1d"), (7200, "5d"), (43200, "1M"), (525600, "1y"), (1441, "1441m")],
)
def test_format_duration_picks_largest_exact_unit(minutes: int, text: str) -> None:
    """Formatting uses the largest unit that divides the minutes exactly."""
    assert format_duration(minutes) == text


@pytest.mark.parametrize("minutes", [0, -1, MAX_MINUTES + 1])
def test_format_duration_rejects_out_of_range(minutes: int) -> None:
    """Zero, negative and over-long intervals cannot be formatted."""
    with pytest.raises(InvalidDurationError):
        format_duration(minutes)


@given(st.integers(min_value=1, max_value=MAX_MINUTES))
def test_format_then_parse_round_trips(minutes: int) -> None:
    """parse(format(n)) gives n back for every valid number of minutes."""
    assert parse_duration(format_duration(minutes)) == minutes


@pytest.mark.parametrize("minutes", [1, 90, MAX_MINUTES])
def test_checked_minutes_keeps_whole_minutes_in_range(minutes: int) -> None:
    """1 minute up to 100 years is an interval, as given."""
    assert checked_minutes(minutes) == minutes


@pytest.mark.parametrize("minutes", [0, -1, MAX_MINUTES + 1])
def test_checked_minutes_rejects_out_of_range(minutes: int) -> None:
    """Zero, negative and over-long minute counts are refused with the bounds in the message."""
    with pytest.raises(InvalidDurationError, match="between 1 and"):
        checked_minutes(minutes)
