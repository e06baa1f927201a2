"""Who asked for a change: recorded on every command event."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True, slots=True)
class CommandMeta:
    """The actor (user uuid, None for the system), the client IP and the request id."""

    actor_id: UUID | None = None
    client_ip: str | None = None
    request_id: str | None = None


SYSTEM = CommandMeta()
