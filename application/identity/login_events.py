"""Records each admitted login's outcome in the event store (the audit trail reads them)."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from application.store import EventStoreApp, Position
from domain.identity.login import LoginAttempt
from domain.shared.meta import CommandMeta


class LoginJournal(Protocol):
    """Where login outcomes are written; each call returns the position it wrote."""

    def succeeded(self, meta: CommandMeta, user_id: str, username: str) -> Position:
        """The user logged in (meta names them as the actor)."""
        ...

    def failed(self, meta: CommandMeta, username: str) -> Position:
        """An attempt with this name failed (unknown name or wrong password)."""
        ...


class LoginEvents:
    """`LoginJournal` on the event store: one `LoginAttempt` aggregate per attempt."""

    def __init__(self, store: EventStoreApp) -> None:
        self._store = store

    def succeeded(self, meta: CommandMeta, user_id: str, username: str) -> Position:
        return self._store.save_all(LoginAttempt.succeeded(meta, UUID(user_id), username))

    def failed(self, meta: CommandMeta, username: str) -> Position:
        return self._store.save_all(LoginAttempt.failed(meta, username))
