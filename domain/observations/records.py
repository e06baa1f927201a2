"""The interaction record: one thing an attacker did to a decky (SPEC §5)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class InteractionRecord:
    """One parsed interaction; `timestamp` is timezone-aware UTC, `fields` the SD params."""

    timestamp: datetime
    decky: str
    service: str
    event_type: str
    attacker_ip: str | None
    msg: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    raw_line: str = ""
