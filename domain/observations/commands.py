"""The command-extraction rule: which records are attacker commands and their text (SPEC §5)."""

from __future__ import annotations

from domain.observations.records import InteractionRecord

COMMAND_EVENT_TYPES = frozenset({"command", "exec", "shell_input", "query", "redis_command"})
COMMAND_TEXT_KEYS = ("command", "cmd", "query", "input", "line")


def extract_command(record: InteractionRecord) -> str | None:
    """The command text of a command-type record, stripped; None for other records or no text."""
    if record.event_type not in COMMAND_EVENT_TYPES:
        return None
    for key in COMMAND_TEXT_KEYS:
        # Line-based shells hand us the trailing newline; it is not part of the command.
        text = record.fields.get(key, "").strip()
        if text:
            return text
    return None
