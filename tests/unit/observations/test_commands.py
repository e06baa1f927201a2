"""The command-extraction rule (SPEC §5)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.observations.commands import extract_command
from domain.observations.records import InteractionRecord

AT = datetime(2026, 4, 18, tzinfo=UTC)


def record(event_type: str, fields: dict[str, str]) -> InteractionRecord:
    """An ssh record of `event_type` carrying `fields`."""
    return InteractionRecord(AT, "decky-01", "ssh", event_type, "203.0.113.7", fields=fields)


@pytest.mark.parametrize(
    ("event_type", "fields", "expected"),
    [
        ("command", {"command": "uname -a"}, "uname -a"),
        ("exec", {"cmd": "id"}, "id"),
        ("query", {"query": "SELECT 1"}, "SELECT 1"),
        ("shell_input", {"input": "ls -la\r\n"}, "ls -la"),
        ("redis_command", {"line": "CONFIG GET *"}, "CONFIG GET *"),
        ("command", {"command": "  ", "cmd": "whoami"}, "whoami"),
    ],
)
def test_command_text_from_first_non_blank_key(
    event_type: str, fields: dict[str, str], expected: str
) -> None:
    """Command-type records give the first non-blank text key, stripped."""
    assert extract_command(record(event_type, fields)) == expected


@pytest.mark.parametrize(
    ("event_type", "fields"),
    [("request", {"command": "id"}), ("command", {}), ("command", {"line": " \n"})],
)
def test_no_command_for_other_types_or_blank_text(event_type: str, fields: dict[str, str]) -> None:
    """Other event types, and command records without text, are not commands."""
    assert extract_command(record(event_type, fields)) is None
